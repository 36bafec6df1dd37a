"""Crash safety: every destructive operation killed with SIGKILL at random moments.

``CRASH_TRIALS=1000 pytest tests/reliability/test_crash.py`` (or ``--crash-trials``) runs
more; ``python -m tests.reliability.crash`` prints the same table on its own.
"""

from __future__ import annotations

import os
import sys

import pytest

from . import crash

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the crash harness forks")


def test_no_kill_leaves_a_half_done_operation(crash_trials: int) -> None:
    ops = crash.default_ops()
    results = crash.run(
        ops, crash_trials, seed=int(os.environ.get("CRASH_SEED", "1")), jobs=int(os.environ.get("CRASH_JOBS", "3"))
    )
    report = crash.format_report(results)
    print(report, file=sys.stderr)
    assert set(results) == set(ops)
    for name, tally in results.items():
        assert tally.trials == crash_trials
        assert not tally.violations, f"{name}:\n{report}"
        # The harness proves something only if kills fell on both sides of the commit
        # (checked when there are enough trials for that to be all but certain).
        if crash_trials >= 50:
            assert tally.outcomes.get("before", 0) > 0 and tally.outcomes.get("after", 0) > 0, report
    if crash_trials >= 50:
        for name in ("close", "restore", "purge", "cancel-messages"):
            assert results[name].phases.get("inside", 0) > 0, report
        if "close" in results:  # the close's kills fell in each of its four phases
            for phase in ("a", "b", "c", "d"):
                assert results["close"].close_phases.get(phase, 0) > 0, report


def test_export_is_among_the_operations() -> None:
    assert "export" in crash.default_ops()
