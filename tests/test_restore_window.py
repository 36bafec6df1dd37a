"""The restore window: 3 calendar months after closing, clamped to the month's end,
restorable through the last second (UTC) of its last day; purge after it is final."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import ADMIN, OTHER_OWNER, OWNER, PASSWORDS, PLAYER, dump_account, pin_clock
from sqlalchemy import text

UTC = timezone.utc
GONE = "you're welcome to create a new account"

# worked out by hand from a calendar
EDGES = [
    (date(2027, 1, 31), date(2027, 4, 30)),  # 31 Jan -> 30 Apr (April has 30 days)
    (date(2026, 11, 30), date(2027, 2, 28)),  # 30 Nov -> 28 Feb
    (date(2027, 11, 30), date(2028, 2, 29)),  # 30 Nov -> 29 Feb in a leap year
    (date(2028, 2, 29), date(2028, 5, 29)),  # 29 Feb -> 29 May (same day of the month)
    (date(2027, 11, 29), date(2028, 2, 29)),
    (date(2027, 12, 31), date(2028, 3, 31)),  # across the year end
    (date(2027, 10, 31), date(2028, 1, 31)),
    (date(2027, 3, 31), date(2027, 6, 30)),
    (date(2027, 5, 15), date(2027, 8, 15)),
    (date(2099, 11, 30), date(2100, 2, 28)),  # 2100 is not a leap year
]


@pytest.mark.parametrize(("closed_on", "until"), EDGES, ids=[f"{a}->{b}" for a, b in EDGES])
def test_restore_until_is_three_calendar_months_clamped(closed_on, until):
    from crm_tui.services import clock

    for hour, minute in ((0, 0), (12, 0), (23, 59)):
        closed_at = datetime(closed_on.year, closed_on.month, closed_on.day, hour, minute, tzinfo=UTC)
        assert clock.restore_until(closed_at) == until


def test_restore_until_uses_the_utc_day_of_closing():
    from crm_tui.services import clock

    # 31 Jan 20:00 in New York is 1 Feb 01:00 UTC: the window is counted from 1 Feb
    closed = datetime(2027, 1, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert clock.restore_until(closed) == date(2027, 5, 1)


def close_acme_at(engine, monkeypatch, when: datetime):
    from crm_tui.services import auth, closing

    pin_clock(monkeypatch, when.isoformat())
    who = auth.as_member(engine, OWNER)
    receipt = closing.close_account(engine, who, "Acme Realty", PASSWORDS[OWNER])
    pin_clock(monkeypatch, None)
    return who, receipt


def last_second(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


@pytest.mark.parametrize(("closed_on", "until"), EDGES[:4], ids=[f"{a}" for a, _ in EDGES[:4]])
def test_restore_at_the_last_second_of_the_window(fresh_demo, monkeypatch, closed_on, until):
    from crm_tui.services import closing

    closed_at = datetime(closed_on.year, closed_on.month, closed_on.day, 14, 30, tzinfo=UTC)
    who, receipt = close_acme_at(fresh_demo, monkeypatch, closed_at)
    assert receipt.closed_at == closed_at
    assert receipt.restore_until == until
    listed = closing.list_closed(fresh_demo, now=last_second(until))
    assert [(r.account_id, r.restore_until, r.restorable) for r in listed] == [(who.account_id, until, True)]
    # a purge at the last second leaves it alone
    assert closing.purge(fresh_demo, now=last_second(until)).purged == 0
    restored = closing.restore(fresh_demo, OWNER, now=last_second(until))
    assert restored.account_id == who.account_id
    assert restored.account_name == "Acme Realty"


@pytest.mark.parametrize(("closed_on", "until"), EDGES[:4], ids=[f"{a}" for a, _ in EDGES[:4]])
def test_restore_one_second_after_the_window_is_refused(fresh_demo, monkeypatch, closed_on, until):
    from crm_tui.services import closing
    from crm_tui.services.errors import RestoreRefused

    closed_at = datetime(closed_on.year, closed_on.month, closed_on.day, 0, 0, 1, tzinfo=UTC)
    who, _ = close_acme_at(fresh_demo, monkeypatch, closed_at)
    too_late = last_second(until) + timedelta(seconds=1)
    assert too_late == datetime(until.year, until.month, until.day, tzinfo=UTC) + timedelta(days=1)
    with pytest.raises(RestoreRefused) as refused:
        closing.restore(fresh_demo, OWNER, now=too_late)
    message = str(refused.value)
    # not purged yet, so not "permanently deleted": the window's end, and what happens next
    assert f"window ended on {until:%d %B %Y} (UTC);" in message and "can no longer be restored" in message
    assert "permanently deleted" not in message and GONE in message and "\n" not in message
    assert [r.restorable for r in closing.list_closed(fresh_demo, now=too_late)] == [False]
    with fresh_demo.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM account WHERE id = :a"), {"a": who.account_id}).scalar() == 0


def backup_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "owner")  # not the folder's claim


@pytest.mark.sqlite_only("the backup is a file only on SQLite; PostgreSQL's: tests/test_permanence_backends.py")
def test_purge_destroys_the_key_then_the_file_and_restore_refuses(fresh_demo, monkeypatch, isolated_dirs):
    from crm_tui import paths
    from crm_tui.services import closing
    from crm_tui.services.errors import RestoreRefused

    closed_at = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)
    close_acme_at(fresh_demo, monkeypatch, closed_at)
    files = backup_files(paths.backup_dir())
    assert len(files) == 1 and files[0].suffix == ".crmbak" and files[0].stat().st_size > 0
    backup_file = files[0]

    def keys() -> int:
        with fresh_demo.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM backup_key")).scalar()

    assert keys() == 1
    seen: list[tuple[Path, int]] = []
    real_unlink = Path.unlink

    def watching_unlink(self, *args, **kwargs):
        if self == backup_file:
            seen.append((self, keys()))  # what a fresh connection sees at that moment
        return real_unlink(self, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", watching_unlink)
    after = datetime(2027, 5, 1, 0, 0, 0, tzinfo=UTC)
    report = closing.purge(fresh_demo, now=after)
    monkeypatch.undo()
    assert (report.purged, report.files_removed) == (1, 1)
    assert seen == [(backup_file, 0)], "the file must be deleted after the key is gone (committed)"
    assert not backup_file.exists()
    assert keys() == 0
    [row] = closing.list_closed(fresh_demo, now=after)
    assert row.state == "purged" and not row.restorable
    with pytest.raises(RestoreRefused) as refused:
        closing.restore(fresh_demo, OWNER, now=datetime(2027, 2, 1, tzinfo=UTC))  # even "inside" the window
    assert GONE in str(refused.value)
    # a second purge finds nothing more to do
    assert closing.purge(fresh_demo, now=after).purged == 0


def test_restore_twice_is_refused_and_unknown_email_is_not_found(fresh_demo, monkeypatch):
    from crm_tui.services import closing
    from crm_tui.services.errors import NotFound, RestoreRefused

    close_acme_at(fresh_demo, monkeypatch, datetime(2027, 3, 1, tzinfo=UTC))
    with pytest.raises(NotFound):
        closing.restore(fresh_demo, "nobody@example.com", now=datetime(2027, 3, 2, tzinfo=UTC))
    with pytest.raises(NotFound):
        closing.restore(fresh_demo, ADMIN, now=datetime(2027, 3, 2, tzinfo=UTC))  # found by the owner's email only
    closing.restore(fresh_demo, " Dana@Acme-Realty.example ", now=datetime(2027, 3, 2, tzinfo=UTC))
    with pytest.raises(RestoreRefused):
        closing.restore(fresh_demo, OWNER, now=datetime(2027, 3, 2, tzinfo=UTC))


def test_close_then_restore_is_identical_and_the_team_signs_in_again(fresh_demo, isolated_dirs):
    from crm_tui import paths
    from crm_tui.services import auth, closing
    from crm_tui.services.errors import AuthenticationFailed

    who = auth.as_member(fresh_demo, OWNER)
    before = dump_account(fresh_demo, who.account_id)
    receipt = closing.close_account(fresh_demo, who, "Acme Realty", PASSWORDS[OWNER])
    assert receipt.members_signed_out == 2
    assert all(rows == [] for rows in dump_account(fresh_demo, who.account_id).values())
    for email in (OWNER, ADMIN, PLAYER):
        with pytest.raises(AuthenticationFailed):
            auth.sign_in(fresh_demo, email, PASSWORDS[email])
    assert auth.session_problem(fresh_demo, who) == (
        "This account has been closed by its owner. Your access has ended."
    )
    closing.restore(fresh_demo, OWNER)
    assert dump_account(fresh_demo, who.account_id) == before
    for email in (OWNER, ADMIN, PLAYER):
        signed = auth.sign_in(fresh_demo, email, PASSWORDS[email])
        assert signed.account_name == "Acme Realty"
    assert auth.session_problem(fresh_demo, who) is None
    # the restored account's backup is no longer kept
    assert backup_files(paths.backup_dir()) == []
    with fresh_demo.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM backup_key")).scalar() == 0
        assert conn.execute(text("SELECT state FROM closed_account")).scalar() == "restored"


def test_the_tombstone_and_the_file_hold_no_personal_data(fresh_demo, tmp_path):
    from crm_tui.services import auth, closing

    who = auth.as_member(fresh_demo, OWNER)
    with fresh_demo.connect() as conn:
        names = [
            r[0]
            for r in conn.execute(text("SELECT last_name FROM contact WHERE account_id = :a"), {"a": who.account_id})
        ]
    closing.close_account(fresh_demo, who, "Acme Realty", PASSWORDS[OWNER])
    with fresh_demo.connect() as conn:
        tomb = [tuple(r) for r in conn.execute(text("SELECT * FROM closed_account"))]
        audit = [tuple(r) for r in conn.execute(text("SELECT * FROM audit_event"))]
    flat = repr(tomb) + repr(audit)
    for secret in ("acme-realty", "Acme Realty", "Dana", "Whitfield"):
        assert secret not in flat
    assert names  # sanity: there were contacts to delete
    if fresh_demo.dialect.name != "sqlite":
        return  # the file bytes below are SQLite's
    # and the deleted rows are gone from the file on disk (secure_delete + WAL checkpoint)
    db_file = tmp_path / "demo.sqlite3"
    raw = db_file.read_bytes()
    wal = db_file.with_name(db_file.name + "-wal")
    if wal.exists():
        raw += wal.read_bytes()
    assert b"dana@acme-realty.example" not in raw
    assert b"marcus@acme-realty.example" not in raw
    assert OTHER_OWNER.encode() in raw  # the other account is still there
    assert names  # sanity: there were contacts to delete
