"""Keys that arrive in one burst (a slow SSH link, tmux send-keys) do what the same keys pressed
slowly do: random bursts of the app's keys, fed with no pauses from the dashboard to one app and
one key at a time, each settled, to another, leave both on the same screens, with the same focus
and the same text in the fields; and Esc always leads back to a usable screen."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import OWNER, pin_clock
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pilot_kit import NOW, SIZE, burst, run, settle, sign_in

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)

# The app's own keys: the sections, the profile menu, moving and choosing, leaving, and text.
KEYS = ["1", "2", "3", "4", "p", "down", "up", "enter", "end", "escape", "tab", "shift+tab", "Ab", "z"]
BURSTS = st.lists(st.lists(st.sampled_from(KEYS), min_size=2, max_size=9), min_size=1, max_size=4)


def state(app) -> tuple:
    """What the user sees of the app: the screens, where focus is, what the fields hold."""
    from textual.widgets import Input

    screen = app.screen
    focused = app.focused
    fields = tuple((f.id, f.value) for f in screen.query(Input))
    return (
        tuple(type(s).__name__ for s in app.screen_stack),
        None if focused is None else (type(focused).__name__, focused.id),
        fields,
    )


def keys_of(parts: list[str]) -> list[str]:
    out: list[str] = []
    for part in parts:
        out.extend([part] if part in KEYS[:12] else list(part))
    return out


def assert_well_stacked(app) -> None:
    """The stack is one the user could build: sign-in at the bottom, then the dashboard if
    signed in, and no screen twice."""
    from crm_tui.tui.screens.main import MainScreen
    from crm_tui.tui.screens.signin import SignInScreen

    stack = app.screen_stack[1:]  # Textual's default screen first
    assert isinstance(stack[0], SignInScreen), stack
    if len(stack) > 1:
        assert isinstance(stack[1], MainScreen), stack
    names = [type(s).__name__ for s in stack]
    assert len(names) == len(set(names)), names


async def escape_to_usable(pilot) -> None:
    from textual.widgets import Button

    from crm_tui.tui.screens.main import MainScreen
    from crm_tui.tui.screens.signin import SignInScreen

    app = pilot.app
    for _ in range(8):
        if isinstance(app.screen, (MainScreen, SignInScreen)):
            break
        await pilot.press("escape")
        await settle(pilot)
    assert isinstance(app.screen, (MainScreen, SignInScreen)), app.screen_stack
    if isinstance(app.screen, SignInScreen):
        assert not app.screen.query_one("#sign-in", Button).disabled


async def walk(url: str, bursts: list[list[str]], slowly: bool) -> list[tuple]:
    from crm_tui.tui.app import CrmApp

    seen = []
    app = CrmApp(database_url=url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        for parts in bursts:
            if slowly:
                for key in keys_of(parts):
                    await pilot.press(key)
                    await settle(pilot)
            else:
                burst(app, *keys_of(parts))
                await settle(pilot)
            seen.append(state(app))
            assert_well_stacked(app)
        await escape_to_usable(pilot)
        assert_well_stacked(app)
    return seen


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(bursts=BURSTS)
def test_a_burst_does_what_the_same_keys_pressed_slowly_do(pinned_demo_template, monkeypatch, bursts):
    pin_clock(monkeypatch, NOW)
    folder = Path(tempfile.mkdtemp(prefix="bursts-"))
    try:
        monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(folder / "backups"))
        urls = []
        for name in ("burst", "slow"):
            shutil.copyfile(pinned_demo_template, folder / f"{name}.sqlite3")
            urls.append(f"sqlite:///{folder / name}.sqlite3")
        fast = run(walk(urls[0], bursts, slowly=False))
        slow = run(walk(urls[1], bursts, slowly=True))
        assert fast == slow
    finally:
        from crm_tui import db

        db.dispose_all()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize(
    "keys",
    [
        ["p", "down", "enter", "end", "enter", "escape"],
        ["p", "down", "enter", "end", "enter", "tab", "Birch & Co Bookkeeping", "tab", "demo-birch", "enter", "escape"],
        ["p", "escape", "escape", "escape"],
    ],
)
def test_the_bursts_from_the_report_leave_the_app_usable(demo_url, keys):
    """The sequences that got stuck: End and Enter lost on Billing, the sign-in screen left
    showing "Signing in…", a blank screen; each ends where pressing the keys slowly ends."""
    from crm_tui.tui.screens.billing import BillingScreen
    from crm_tui.tui.screens.main import MainScreen

    async def body():
        from crm_tui.tui.app import CrmApp

        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, OWNER)
            burst(app, *keys)
            await settle(pilot)
            assert_well_stacked(app)
            expected = MainScreen if keys[0:2] == ["p", "escape"] else BillingScreen
            assert isinstance(app.screen, expected), app.screen_stack
            await escape_to_usable(pilot)

    run(body())
