"""What every Pilot test needs: settle, sign in, press, read the screen, run async tests.

The demo database fixtures (``demo_template``, ``demo_url``) live in tests/conftest.py."""

from __future__ import annotations

import asyncio
import functools
import inspect

from conftest import PASSWORDS
from sqlalchemy import text

NOW = "2026-11-27T10:00:00+00:00"
SIZE = (80, 24)


def run(target):
    """Run a coroutine now, or wrap an async test function so it runs on a fresh loop."""
    if inspect.iscoroutine(target):
        return asyncio.run(target)

    @functools.wraps(target)
    def wrapper(*args, **kwargs):
        asyncio.run(target(*args, **kwargs))

    return wrapper


async def settle(pilot) -> None:
    """Let every worker finish and its result reach the screen. A worker cancelled meanwhile
    (its screen was left, as hopping between sections does) counts as finished; one that
    failed still fails the test."""
    from textual.worker import WorkerCancelled

    for _ in range(3):
        await pilot.pause()
        await pilot.app.keys.idle()  # keys held back by the key flow, each settled in turn
        for worker in list(pilot.app.workers):
            try:
                await worker.wait()
            except WorkerCancelled:
                pass
    await pilot.pause()


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def sign_in(pilot, email: str, password: str | None = None, *, typed: bool = False) -> None:
    """Sign in; ``typed`` presses every key, otherwise the fields are filled (faster)."""
    from textual.widgets import Input

    from crm_tui.tui.screens.main import MainScreen

    await settle(pilot)
    password = password or PASSWORDS[email]
    if typed:
        await pilot.press(*email, "enter", *password, "enter")
    else:
        pilot.app.screen.query_one("#email", Input).value = email
        pilot.app.screen.query_one("#password", Input).value = password
        pilot.app.screen.query_one("#password", Input).focus()
        await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, MainScreen), pilot.app.screen


KEY_NAMES = {"enter", "ctrl+j", "tab", "shift+tab", "escape", "up", "down", "backspace", "end", "home"}


def burst(app, *parts: str) -> None:
    """Queue keys at once, as a burst from a slow link (or tmux send-keys) arrives: each part
    is a key name from KEY_NAMES or text typed character by character."""
    from textual import events
    from textual.keys import _character_to_key

    chars = {
        "enter": "\r",
        "ctrl+j": "\n",
        "tab": "\t",
        "escape": "\x1b",
        "backspace": "\x7f",
        "shift+tab": None,
        "up": None,
        "down": None,
        "end": None,
        "home": None,
    }
    for part in parts:
        if part in KEY_NAMES:
            app.post_message(events.Key(part, chars[part]))
        else:
            for ch in part:
                app.post_message(events.Key(_character_to_key(ch), ch))


def static_text(screen, selector: str) -> str:
    from textual.widgets import Static

    return str(screen.query_one(selector, Static).visual)


def shows(cell: str, value: str) -> bool:
    """Whether a table cell shows ``value``: the whole of it, or its start cut off by "…"."""
    return cell == value or (cell.endswith("…") and value.startswith(cell[:-1]) and len(cell) <= len(value))


def shows_all(cells: list[str], values: list[str]) -> bool:
    """Whether the cells show exactly these values, in any order (whole ones paired first)."""
    left = list(values)
    for cell in sorted(cells, key=lambda c: c.endswith("…")):
        match = next((i for i, v in enumerate(left) if v == cell), None)
        if match is None:
            match = next((i for i, v in enumerate(left) if shows(cell, v)), None)
        if match is None:
            return False
        del left[match]
    return not left


def table_text(screen, selector: str = "RecordTable") -> list[list[str]]:
    from textual.widgets import DataTable

    table = screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def rows(engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def count(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()
