"""Performance benchmark: ``python -m tests.bench.run`` (see docs/performance.md)."""
