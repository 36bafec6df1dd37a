"""The benchmark is a script (``python -m tests.bench.run``), never part of the test run."""

collect_ignore_glob = ["*.py"]
