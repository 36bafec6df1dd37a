"""Options of the reliability suites (sizes of the larger runs)."""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("reliability")
    group.addoption(
        "--crash-trials",
        type=int,
        default=None,
        help="SIGKILLs per operation in the crash harness (default: CRASH_TRIALS or 100)",
    )


@pytest.fixture
def crash_trials(request: pytest.FixtureRequest) -> int:
    value = request.config.getoption("--crash-trials")
    if value is None:
        value = int(os.environ.get("CRASH_TRIALS", "100"))
    return value


@pytest.fixture(autouse=True)
def restore_environment():
    """The harness sets CRM_TUI_* variables for the process; put them back afterwards."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)
    from crm_tui.services import clock

    clock.set_fixed(None)
