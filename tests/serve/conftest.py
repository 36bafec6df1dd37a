"""Fixtures of the serve suite (the harness is in kit.py)."""

from __future__ import annotations

import pytest

from .kit import Terminal


@pytest.fixture
def terminals():
    """Open terminals, closed after the test whatever happened."""
    opened: list[Terminal] = []

    def open_terminal(*args, **kwargs) -> Terminal:
        term = Terminal(*args, **kwargs)
        opened.append(term)
        return term

    yield open_terminal
    for term in opened:
        term.close()
