"""Time zones: the machine's zone (TZ, /etc/localtime, UTC), a member's zone with its fallback,
how a time is written for a member, setting the zone (service and CLI), and the dates of
exports and receipts in the member's zone."""

from __future__ import annotations

import io
import shutil
import sys
import zipfile
from datetime import date, datetime, timezone
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import OWNER, PASSWORDS, pin_clock

from crm_tui.services import zones
from crm_tui.services.errors import InvalidInput

NEW_YORK = ZoneInfo("America/New_York")


def tz_file(name: str) -> Path:
    return Path(str(resources.files("tzdata").joinpath("zoneinfo", *name.split("/"))))


@pytest.fixture
def no_tz(monkeypatch):
    monkeypatch.delenv("TZ", raising=False)


# --- the machine's zone ------------------------------------------------------------------------


@pytest.mark.parametrize("tz", ["America/New_York", ":America/New_York"])
def test_the_machines_zone_is_tz_when_it_names_a_zone(monkeypatch, tmp_path, tz):
    monkeypatch.setenv("TZ", tz)
    assert zones.machine_zone(localtime=str(tmp_path / "none")).key == "America/New_York"


def test_tz_may_be_the_path_of_a_zone_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TZ", str(tz_file("Asia/Tokyo")))
    assert zones.machine_zone(localtime=str(tmp_path / "none")).key == "Asia/Tokyo"


def test_without_tz_the_machines_zone_is_etc_localtime(no_tz, tmp_path):
    link = tmp_path / "localtime"
    link.symlink_to(tz_file("Europe/Paris"))
    assert zones.machine_zone(localtime=str(link)).key == "Europe/Paris"  # named, from the link


def test_a_localtime_that_is_a_copy_is_read_from_the_file(no_tz, tmp_path):
    copy = tmp_path / "localtime"
    shutil.copyfile(tz_file("Europe/Paris"), copy)
    zone = zones.machine_zone(localtime=str(copy))
    summer = datetime(2026, 7, 1, 12, tzinfo=timezone.utc).astimezone(zone)
    assert summer.tzname() == "CEST" and summer.hour == 14


def test_a_tz_that_names_no_zone_falls_back_to_localtime_then_utc(monkeypatch, tmp_path):
    monkeypatch.setenv("TZ", "Nowhere/Land")
    link = tmp_path / "localtime"
    link.symlink_to(tz_file("Europe/Paris"))
    assert zones.machine_zone(localtime=str(link)).key == "Europe/Paris"
    assert zones.machine_zone(localtime=str(tmp_path / "none")).key == "UTC"


def test_with_neither_the_machines_zone_is_utc(no_tz, tmp_path):
    assert zones.machine_zone(localtime=str(tmp_path / "none")).key == "UTC"


# --- a member's zone -------------------------------------------------------------------------------


@pytest.mark.parametrize("stored", ["", "Mars/Olympus_Mons", "../../etc/passwd", "America", " Europe/Paris"])
def test_no_zone_or_one_unknown_here_is_the_machines(monkeypatch, stored):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert zones.zone_for(stored).key == "Asia/Tokyo"


def test_a_known_zone_is_used(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert zones.zone_for("America/New_York") == NEW_YORK


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("America/New_York", "America/New_York"),
        ("america/new_york", "America/New_York"),
        ("  America/New York ", "America/New_York"),
        ("UTC", "UTC"),
        ("", ""),
        ("machine", ""),
    ],
)
def test_a_typed_zone_is_checked_and_written_as_its_iana_name(typed, stored):
    assert zones.checked(typed) == stored


@pytest.mark.parametrize("typed", ["Mars/Olympus_Mons", "EST+5", "../../etc/passwd", "America"])
def test_a_name_that_is_no_zone_is_refused(typed):
    with pytest.raises(InvalidInput, match="unknown time zone"):
        zones.checked(typed)


def test_matching_names_start_with_those_that_begin_with_the_text():
    assert zones.matching("new_y") == ["America/New_York"]
    assert zones.matching("paris") == ["Europe/Paris"]
    assert zones.matching("ber")[0].lower().rsplit("/", 1)[-1].startswith("ber")


# --- writing times -----------------------------------------------------------------------------------


def test_a_time_is_written_in_the_zone_with_its_abbreviation_across_dst():
    winter = datetime(2026, 12, 3, 14, 0, tzinfo=timezone.utc)
    summer = datetime(2027, 7, 2, 13, 0, tzinfo=timezone.utc)
    assert zones.time_text(winter, NEW_YORK) == "Thu 3 Dec 09:00 EST"
    assert zones.time_text(summer, NEW_YORK, year=True) == "Fri 2 Jul 2027 09:00 EDT"
    assert zones.span_text(summer, summer.replace(hour=14), NEW_YORK) == "09:00–10:00 EDT"
    assert zones.day_of(datetime(2026, 12, 4, 3, 0, tzinfo=timezone.utc), NEW_YORK) == "Thu 3 Dec 2026"
    assert zones.time_text(winter, ZoneInfo("UTC")) == "Thu 3 Dec 14:00 UTC"


def test_a_naive_time_is_taken_as_utc_as_sqlite_stores_it():
    assert zones.time_text(datetime(2026, 12, 3, 14, 0), NEW_YORK) == "Thu 3 Dec 09:00 EST"


def test_a_day_names_the_zone_it_is_reckoned_in():
    assert zones.day_text(date(2027, 2, 28)) == "28 February 2027 (UTC)"


# --- setting it: the service, sign-in, the command line ---------------------------------------------


def test_set_time_zone_stores_it_and_sign_in_carries_it(fresh_demo):
    from crm_tui.services import auth, profile

    who = auth.as_member(fresh_demo, OWNER)
    assert who.time_zone == ""
    shown = profile.set_time_zone(fresh_demo, who, "america/new_york")
    assert (shown.stored, shown.name) == ("America/New_York", "America/New_York")
    assert auth.sign_in(fresh_demo, OWNER, PASSWORDS[OWNER]).time_zone == "America/New_York"  # Core clause
    assert auth.as_member(fresh_demo, OWNER).time_zone == "America/New_York"  # the ORM
    with pytest.raises(InvalidInput):
        profile.set_time_zone(fresh_demo, who, "Mars/Olympus_Mons")
    assert profile.time_zone(fresh_demo, who).stored == "America/New_York"  # unchanged
    profile.set_time_zone(fresh_demo, who, "")
    assert profile.time_zone(fresh_demo, who).stored == ""


def test_cli_shows_sets_and_refuses_a_zone(fresh_demo, monkeypatch, capsys):
    from crm_tui import cli

    monkeypatch.setenv("CRM_TUI_DATABASE_URL", str(fresh_demo.url))
    monkeypatch.setenv("TZ", "UTC")
    pin_clock(monkeypatch, "2026-12-03T14:00:00+00:00")
    base = ["account", "time-zone", "--email", OWNER, "--password-stdin"]

    def typed_password():
        monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORDS[OWNER] + "\n"))

    typed_password()
    assert cli.main(base) == 0
    assert capsys.readouterr().out == "Times are shown in UTC (UTC), the zone of this machine.\n"
    typed_password()
    assert cli.main([*base, "--set", "America/New_York"]) == 0
    assert capsys.readouterr().out == "Times are shown in America/New_York (EST).\n"
    typed_password()
    assert cli.main([*base, "--set", "Mars/Olympus_Mons"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "crm-tui: unknown time zone 'Mars/Olympus_Mons'; type an IANA name such as America/New_York"
    ]
    typed_password()
    assert cli.main(base) == 0
    assert capsys.readouterr().out == "Times are shown in America/New_York (EST).\n"


# --- exports and the receipt -------------------------------------------------------------------------

# 22:30 on 3 December in New York is already 4 December in UTC
LATE_EVENING = "2026-12-04T03:30:00+00:00"


@pytest.mark.parametrize(
    ("member_zone", "day", "named"),
    [
        ("America/New_York", "2026-12-03", "America/New_York"),
        ("", "2026-12-04", "UTC"),  # the machine's zone
    ],
)
def test_export_file_names_and_readme_date_are_in_the_members_zone(
    fresh_demo, monkeypatch, tmp_path, member_zone, day, named
):
    from crm_tui.services import auth, export, profile

    monkeypatch.setenv("TZ", "UTC")
    pin_clock(monkeypatch, LATE_EVENING)
    who = auth.as_member(fresh_demo, OWNER)
    profile.set_time_zone(fresh_demo, who, member_zone)
    result = export.export_account(fresh_demo, who, out_dir=tmp_path)
    assert result.path.name == f"acme-realty-{day}.zip"
    with zipfile.ZipFile(result.path) as zf:
        first = zf.read("README.txt").decode().splitlines()[0]
        dated = {info.date_time[:3] for info in zf.infolist()}  # local times, as zip tools show them
    assert first == f"Acme Realty — all your data, exported by crm-tui on {day} ({named})"
    assert dated == {tuple(int(part) for part in day.split("-"))}
    contacts = export.export_contacts(fresh_demo, who, None, "csv", out_dir=tmp_path)
    assert contacts.path.name == f"acme-realty-contacts-{day}.csv"


def test_the_receipt_is_in_the_owners_zone_and_names_it(fresh_demo, monkeypatch, tmp_path):
    from crm_tui.services import auth, closing, profile
    from crm_tui.services.closing import receipt_text

    monkeypatch.setenv("TZ", "UTC")
    pin_clock(monkeypatch, LATE_EVENING)
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    who = auth.as_member(fresh_demo, OWNER)
    profile.set_time_zone(fresh_demo, who, "America/New_York")
    receipt = closing.close_account(fresh_demo, who, "Acme Realty", PASSWORDS[OWNER])
    assert receipt.time_zone == "America/New_York"
    assert "“Acme Realty” was closed and its data permanently deleted on Thu 3 Dec 2026 22:30 EST." in " ".join(
        receipt_text(receipt).split()
    )
    assert zones.day_text(receipt.restore_until) == "4 March 2027 (UTC)"  # the window is reckoned in UTC


def test_the_next_billing_date_counts_from_the_owners_today(fresh_demo, monkeypatch):
    from crm_tui import db
    from crm_tui.models import Account
    from crm_tui.services import auth, billing, profile

    monkeypatch.setenv("TZ", "UTC")
    pin_clock(monkeypatch, LATE_EVENING)  # 4 Dec in UTC, 3 Dec in New York
    who = auth.as_member(fresh_demo, OWNER)
    with db.write_session(fresh_demo) as s:
        s.get(Account, who.account_id).billing_day = 4
    assert billing.summary(fresh_demo, who).next_billing == date(2027, 1, 4)  # billed today, in UTC
    profile.set_time_zone(fresh_demo, who, "America/New_York")
    assert billing.summary(fresh_demo, who).next_billing == date(2026, 12, 4)  # tomorrow, in New York
