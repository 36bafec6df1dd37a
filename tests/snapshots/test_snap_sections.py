"""Snapshots of Contacts (and a contact, Group Actions, and its keys help scrolled a page),
Calendar, To-Dos, Email Templates, Autoresponders, Team Members (and the removal dialog),
Messages settings (and its confirmation) and My Account (choosing a time zone) at 80×24 and
120×40. Clock and machine zone pinned and demo seed fixed: the same pictures every run."""

from __future__ import annotations

import pytest
from conftest import OWNER
from pilot_kit import settle, sign_in

pytestmark = pytest.mark.sqlite_only("screen pixels do not depend on the database backend")

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def app(demo_url):
    from crm_tui.tui.app import CrmApp

    return CrmApp(database_url=demo_url)


async def signed_in(pilot) -> None:
    await sign_in(pilot, OWNER)


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
    "contacts-keys": keys("1", "question_mark", "pagedown"),
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
    "my-account-zone": keys("p", "enter", "z", *"new"),
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("flow", list(FLOWS))
def test_section_snapshot(snap_compare, app, flow, size):
    assert snap_compare(app, terminal_size=size, run_before=FLOWS[flow])
