"""Times at 80×24 in the member's time zone, named: across a daylight-saving change, in the
calendar and in the exported iCalendar file; changing the zone in My Account; a stored zone
this machine does not know."""

from __future__ import annotations

import zipfile
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from conftest import OWNER
from pilot_kit import SIZE, press, run, sign_in, static_text, table_text

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)

NEW_YORK = ZoneInfo("America/New_York")
# New York moves its clocks on Sunday 14 March 2027: 09:00 is 14:00 UTC before, 13:00 after
BEFORE = ("Fri 12 Mar 2027", "Zone test before the change", datetime(2027, 3, 12, 9, 0, tzinfo=NEW_YORK))
AFTER = ("Mon 15 Mar 2027", "Zone test after the change", datetime(2027, 3, 15, 9, 0, tzinfo=NEW_YORK))


def add_appointments(url: str, member_zone: str) -> None:
    """The two appointments, to the owner of Acme Realty, whose zone becomes ``member_zone``."""
    from crm_tui import db
    from crm_tui.models import Appointment, Member

    with db.write_session(db.get_engine(url)) as s:
        owner = s.query(Member).filter(Member.email == OWNER).one()
        owner.time_zone = member_zone
        for _day, what, start in (BEFORE, AFTER):
            s.add(
                Appointment(
                    account_id=owner.account_id,
                    owner_id=owner.id,
                    description=what,
                    start=start,
                    end=start.replace(hour=10),
                )
            )


def calendar_row(rows: list[list[str]], what: str) -> list[str]:
    (row,) = [r for r in rows if r[3].rstrip("…") and what.startswith(r[3].rstrip("…"))]
    return row


def assert_ics_at_nine_in_new_york(path) -> None:
    import icalendar

    with zipfile.ZipFile(path) as zf:
        cal = icalendar.Calendar.from_ical(zf.read("appointments.ics"))
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    for _day, what, start in (BEFORE, AFTER):
        begins = events[what].decoded("DTSTART")
        assert begins == start  # the exact instant
        assert begins.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M") == start.strftime("%Y-%m-%d 09:00")


@pytest.mark.parametrize(
    ("member_zone", "machine_zone"),
    [
        ("America/New_York", "UTC"),  # chosen in My Account, on a machine in UTC
        ("", "America/New_York"),  # none chosen: the machine's zone (TZ)
    ],
    ids=["member-zone", "machine-zone"],
)
def test_nine_in_new_york_is_shown_at_nine_and_exported_at_nine_across_dst(
    demo_url, tmp_path, monkeypatch, member_zone, machine_zone
):
    from crm_tui.services import auth, export
    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.calendar import CalendarScreen

    monkeypatch.setenv("TZ", machine_zone)
    add_appointments(demo_url, member_zone)
    app = CrmApp(database_url=demo_url)

    async def walk() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, OWNER)
            await press(pilot, "2")
            assert isinstance(app.screen, CalendarScreen)
            shown = table_text(app.screen)
            before, after = calendar_row(shown, BEFORE[1]), calendar_row(shown, AFTER[1])
            assert before[:2] == [BEFORE[0], "09:00–10:00 EST"]
            assert after[:2] == [AFTER[0], "09:00–10:00 EDT"]

    run(walk())
    who = auth.as_member(app.engine, OWNER)
    result = export.export_account(app.engine, who, out_dir=tmp_path)
    assert_ics_at_nine_in_new_york(result.path)


@run
async def test_my_account_changes_the_zone_times_are_shown_in(demo_url):
    from textual.widgets import Input

    from crm_tui.tui.app import CrmApp
    from crm_tui.tui.screens.my_account import MyAccountScreen

    add_appointments(demo_url, "")
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "2")
        assert calendar_row(table_text(app.screen), BEFORE[1])[1] == "14:00–15:00 UTC"  # the machine's zone
        await press(pilot, "escape", "p", "enter")
        assert isinstance(app.screen, MyAccountScreen)
        assert "Time zone: UTC (UTC), the zone of this machine" in static_text(app.screen, "#zone-current")
        field = app.screen.query_one("#zone-input", Input)
        await press(pilot, "z", *"Mars/Olympus", "enter")  # not a zone: one line, nothing changes
        assert static_text(app.screen, "#zone-error") == (
            "Unknown time zone 'Mars/Olympus'; type an IANA name such as America/New_York"
        )
        assert app.screen.focused is field
        await press(pilot, "escape")  # out of the field, not off the screen
        assert isinstance(app.screen, MyAccountScreen) and app.screen.focused is not field
        assert field.value == "" and static_text(app.screen, "#zone-error") == ""
        await press(pilot, "z", *"new_y")
        assert static_text(app.screen, "#zone-matches") == "America/New_York"
        await press(pilot, "enter")  # the one match
        assert "Time zone: America/New_York (EST)" in static_text(app.screen, "#zone-current")
        assert static_text(app.screen, "#zone-error") == ""
        assert app.who.time_zone == "America/New_York"
        from crm_tui.services import auth

        assert auth.as_member(app.engine, OWNER).time_zone == "America/New_York"  # stored
        await press(pilot, "escape", "2")
        shown = table_text(app.screen)
        assert calendar_row(shown, BEFORE[1])[:2] == [BEFORE[0], "09:00–10:00 EST"]
        assert calendar_row(shown, AFTER[1])[:2] == [AFTER[0], "09:00–10:00 EDT"]


@run
async def test_a_stored_zone_unknown_here_falls_back_to_the_machines(demo_url):
    from crm_tui.tui.app import CrmApp

    add_appointments(demo_url, "Mars/Olympus_Mons")
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "2")
        assert calendar_row(table_text(app.screen), AFTER[1])[:2] == [AFTER[0], "13:00–14:00 UTC"]
        await press(pilot, "escape", "p", "enter")
        assert static_text(app.screen, "#zone-current") == (
            "Time zone: UTC (UTC): the zone you chose, Mars/Olympus_Mons, is unknown on this machine"
        )


def test_the_dashboards_next_appointments_are_in_the_members_zone_and_line_up():
    from crm_tui.services.dashboard import Dashboard
    from crm_tui.tui.screens.main import figures_text

    d = Dashboard(
        contacts=1,
        upcoming_appointments=2,
        open_todos=0,
        next_todos=(),
        next_appointments=(
            (datetime(2026, 12, 8, 14, 0, tzinfo=NEW_YORK), "Showing"),
            (datetime(2026, 12, 10, 9, 30, tzinfo=NEW_YORK), "Closing walkthrough"),
        ),
    )
    assert figures_text(d, NEW_YORK)["next-appointments"].plain.splitlines() == [
        "Tue 8 Dec 14:00 EST   Showing",
        "Thu 10 Dec 09:30 EST  Closing walkthrough",
    ]
    assert figures_text(d, ZoneInfo("Asia/Tokyo"))["next-appointments"].plain.splitlines()[0] == (
        "Wed 9 Dec 04:00 JST   Showing"
    )


@run
async def test_z_and_a_zone_typed_in_one_burst_are_saved(demo_url):
    """'z, Europe/Paris, Enter' sent at once (tmux send-keys, a slow link) reaches the field."""
    from pilot_kit import burst, settle

    from crm_tui.services import auth
    from crm_tui.tui.app import CrmApp

    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        await press(pilot, "p", "enter")
        burst(app, "zeurope/paris", "enter")
        await settle(pilot)
        assert "Time zone: Europe/Paris (CET)" in static_text(app.screen, "#zone-current")
        assert auth.as_member(app.engine, OWNER).time_zone == "Europe/Paris"


@run
async def test_a_zone_changed_in_another_session_is_picked_up(demo_url):
    from crm_tui.services import auth, profile
    from crm_tui.tui.app import CrmApp

    add_appointments(demo_url, "")
    app = CrmApp(database_url=demo_url)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, OWNER)
        profile.set_time_zone(app.engine, auth.as_member(app.engine, OWNER), "America/New_York")  # the CLI, say
        app.check_session()
        await press(pilot, "2")
        assert calendar_row(table_text(app.screen), BEFORE[1])[:2] == [BEFORE[0], "09:00–10:00 EST"]
