"""Snapshots of Contacts (and a contact, and Group Actions), Calendar, To-Dos, Email
Templates, Autoresponders, Team Members (and the removal dialog) and Messages settings (and
its confirmation) at 80×24 and 120×40. Clock pinned and demo seed fixed: the same pictures
every run."""

from __future__ import annotations

import shutil

import pytest

NOW = "2026-11-27T10:00:00+00:00"
OWNER, PASSWORD = "dana@acme-realty.example", "demo-owner"
SIZES = [(80, 24), (120, 40)]


@pytest.fixture(scope="module")
def sections_template(tmp_path_factory):
    from crm_tui import db
    from crm_tui.services import demo

    path = tmp_path_factory.mktemp("sectionsdemo") / "crm.sqlite3"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRM_TUI_NOW", NOW)
        demo.create(db.get_engine(f"sqlite:///{path}"), contacts=60, seed=7)
        db.dispose_all()
    return path


@pytest.fixture
def app(sections_template, tmp_path, monkeypatch):
    from crm_tui.tui.app import CrmApp

    monkeypatch.setenv("CRM_TUI_NOW", NOW)
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.delenv("SSH_CONNECTION", raising=False)
    path = tmp_path / "crm.sqlite3"
    shutil.copyfile(sections_template, path)
    return CrmApp(database_url=f"sqlite:///{path}")


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


def keys(*pressed: str):
    async def run_before(pilot) -> None:
        await signed_in(pilot)
        for key in pressed:
            await pilot.press(key)
            await settle(pilot)

    return run_before


FLOWS = {
    "contacts": keys("1"),
    "contacts-selected": keys("1", "space", "down", "space", "down"),
    "group-actions": keys("1", "space", "space", "g"),
    "contact-detail": keys("1", "down", "enter"),
    "calendar": keys("2"),
    "todos": keys("3"),
    "todos-closed": keys("3", "o"),
    "templates": keys("4", "enter"),
    "autoresponders": keys("4", "down", "enter"),
    "messages": keys("4", "down", "down", "enter"),
    "messages-confirm": keys("4", "down", "down", "enter", "x"),
    "team": keys("p", "down", "down", "enter"),
    "team-remove": keys("p", "down", "down", "enter", "down", "down", "r"),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("flow", list(FLOWS))
def test_section_snapshot(snap_compare, app, flow, size):
    assert snap_compare(app, terminal_size=size, run_before=FLOWS[flow])
