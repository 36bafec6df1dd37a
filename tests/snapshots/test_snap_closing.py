"""Snapshots of the closing flow's screens at 80×24 and 120×40 (clock pinned, fixed demo
seed, time zone UTC, so every run draws the same pictures)."""

from __future__ import annotations

import shutil
import time

import pytest

NOW = "2026-11-27T10:00:00+00:00"
OWNER, PASSWORD = "dana@acme-realty.example", "demo-owner"
SIZES = [(80, 24), (120, 40)]


@pytest.fixture(scope="module")
def snap_template(tmp_path_factory):
    from crm_tui import db
    from crm_tui.services import demo

    path = tmp_path_factory.mktemp("snapdemo") / "crm.sqlite3"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_TUI_NOW", NOW)
        demo.create(db.get_engine(f"sqlite:///{path}"), contacts=60, seed=7)
        db.dispose_all()
    return path


@pytest.fixture
def app(snap_template, tmp_path, monkeypatch):
    from crm_tui.tui.app import CrmApp

    monkeypatch.setenv("CRM_TUI_NOW", NOW)
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    monkeypatch.setenv("TZ", "UTC")  # the export's zip entries carry local time
    time.tzset()
    path = tmp_path / "crm.sqlite3"
    shutil.copyfile(snap_template, path)
    yield CrmApp(database_url=f"sqlite:///{path}")
    monkeypatch.undo()
    time.tzset()


async def settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def signed_in(pilot) -> None:
    from textual.widgets import Input

    await settle(pilot)
    pilot.app.screen.query_one("#email", Input).value = OWNER
    pilot.app.screen.query_one("#password", Input).value = PASSWORD
    pilot.app.screen.query_one("#password", Input).focus()
    await pilot.press("enter")
    await settle(pilot)


async def billing(pilot) -> None:
    await signed_in(pilot)
    await pilot.press("p", "down", "enter")
    await settle(pilot)


async def danger_zone(pilot) -> None:
    await billing(pilot)
    await pilot.press("end")
    await settle(pilot)


async def confirmation(pilot) -> None:
    await danger_zone(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def survey(pilot) -> None:
    await confirmation(pilot)
    await pilot.press("shift+tab", "shift+tab", *"Acme Realty", "enter", *PASSWORD, "enter", "enter")
    await settle(pilot)


async def goodbye(pilot) -> None:
    await survey(pilot)
    await pilot.press("down", "enter", "tab", *"more features", "enter", "enter")
    await settle(pilot)


async def download(pilot) -> None:
    await confirmation(pilot)
    await pilot.press("e")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("run_before", [billing, danger_zone, confirmation, survey, goodbye, download],
                         ids=lambda f: f.__name__)
def test_closing_screens(snap_compare, app, run_before, size):
    assert snap_compare(app, terminal_size=size, run_before=run_before)
