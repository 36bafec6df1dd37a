"""Snapshots of the closing flow's screens at 80×24 and 120×40 (clock pinned, fixed demo
seed, time zone UTC, so every run draws the same pictures)."""

from __future__ import annotations

import time

import pytest
from conftest import OWNER, PASSWORDS
from pilot_kit import settle, sign_in

pytestmark = pytest.mark.sqlite_only("screen pixels do not depend on the database backend")

PASSWORD = PASSWORDS[OWNER]

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def app(demo_url, monkeypatch):
    from crm_tui.tui.app import CrmApp

    monkeypatch.setenv("TZ", "UTC")  # the export's zip entries carry local time
    time.tzset()
    yield CrmApp(database_url=demo_url)
    monkeypatch.undo()
    time.tzset()


async def signed_in(pilot) -> None:
    await sign_in(pilot, OWNER)


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
@pytest.mark.parametrize(
    "run_before", [billing, danger_zone, confirmation, survey, goodbye, download], ids=lambda f: f.__name__
)
def test_closing_screens(snap_compare, app, run_before, size):
    assert snap_compare(app, terminal_size=size, run_before=run_before)
