"""The second account is untouched, row for row, by anything done to the first."""

from __future__ import annotations

from datetime import datetime, timezone

from conftest import ADMIN, OTHER_OWNER, OWNER, PASSWORDS, PLAYER, dump_account, pin_clock
from sqlalchemy import text

UTC = timezone.utc


def birch_state(engine, birch_id: int) -> dict:
    state = dump_account(engine, birch_id)
    with engine.connect() as conn:
        state["audit_event"] = [
            tuple(r)
            for r in conn.execute(text("SELECT * FROM audit_event WHERE account_id = :a ORDER BY id"), {"a": birch_id})
        ]
        state["closed_account"] = [
            tuple(r) for r in conn.execute(text("SELECT * FROM closed_account WHERE account_id = :a"), {"a": birch_id})
        ]
    return state


def test_birch_is_untouched_by_everything_done_to_acme(fresh_demo, monkeypatch):
    from crm_tui.services import auth, billing, closing, messages, team

    e = fresh_demo
    birch = auth.as_member(e, OTHER_OWNER)
    before = birch_state(e, birch.account_id)
    assert before["contact"] and before["invoice"] and before["member"]

    def unchanged(step: str) -> None:
        assert birch_state(e, birch.account_id) == before, f"Birch changed after: {step}"

    owner = auth.as_member(e, OWNER)
    player = auth.as_member(e, PLAYER)
    team.remove_member(e, owner, player.member_id)
    unchanged("member removal")
    messages.cancel(e, owner, PASSWORDS[OWNER])
    unchanged("Messages cancel")
    billing.change_plan(e, owner, "starter")
    unchanged("plan change")
    new = team.add_member(e, owner, "temp@acme-realty.example", "Temp", "administrator", password="pw-temp-1")
    unchanged("member added")
    team.transfer_ownership(e, owner, auth.as_member(e, ADMIN).member_id, PASSWORDS[OWNER])
    unchanged("ownership transfer")
    team.transfer_ownership(e, auth.as_member(e, ADMIN), owner.member_id, PASSWORDS[ADMIN])
    team.leave_account(e, auth.as_member(e, new.email), "pw-temp-1")
    unchanged("leave")

    pin_clock(monkeypatch, "2027-01-10T12:00:00+00:00")
    closing.close_account(e, auth.as_member(e, OWNER), "Acme Realty", PASSWORDS[OWNER])
    pin_clock(monkeypatch, None)
    unchanged("close")
    closing.restore(e, OWNER, now=datetime(2027, 1, 11, tzinfo=UTC))
    unchanged("restore")
    pin_clock(monkeypatch, "2027-01-12T12:00:00+00:00")
    closing.close_account(e, auth.as_member(e, OWNER), "Acme Realty", PASSWORDS[OWNER])
    pin_clock(monkeypatch, None)
    report = closing.purge(e, now=datetime(2027, 4, 13, tzinfo=UTC))
    assert report.purged == 1
    unchanged("purge")
    assert auth.sign_in(e, OTHER_OWNER, PASSWORDS[OTHER_OWNER]).account_name == "Birch & Co Bookkeeping"


def test_purge_takes_only_the_accounts_whose_window_has_passed(fresh_demo, monkeypatch, backend):
    from crm_tui.services import auth, closing

    e = fresh_demo
    birch = auth.as_member(e, OTHER_OWNER)
    birch_before = dump_account(e, birch.account_id)
    pin_clock(monkeypatch, "2027-01-31T08:00:00+00:00")
    closing.close_account(e, auth.as_member(e, OWNER), "Acme Realty", PASSWORDS[OWNER])
    pin_clock(monkeypatch, "2027-02-01T08:00:00+00:00")
    closing.close_account(e, birch, "Birch & Co Bookkeeping", PASSWORDS[OTHER_OWNER])
    pin_clock(monkeypatch, None)
    # Acme's window ends with 30 Apr, Birch's with 1 May
    report = closing.purge(e, now=datetime(2027, 5, 1, 12, 0, tzinfo=UTC))
    # one backup destroyed: a file on SQLite, rows of the database on PostgreSQL
    expected = (1, 1, 0) if backend == "sqlite" else (1, 0, 1)
    assert (report.purged, report.files_removed, report.in_database) == expected
    states = {r.account_id: r.state for r in closing.list_closed(e)}
    assert states[birch.account_id] == "closed"
    closing.restore(e, OTHER_OWNER, now=datetime(2027, 5, 1, 23, 59, 59, tzinfo=UTC))
    assert dump_account(e, birch.account_id) == birch_before


def test_another_database_never_touches_this_ones_backups(tmp_path, monkeypatch):
    """Two databases sharing a backup folder: each sweeps only its own backups."""
    from crm_tui import db, paths
    from crm_tui.services import auth, backups, closing, demo

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "bk"))
    first = db.get_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    demo.create(first, contacts=5)
    closing.close_account(first, auth.as_member(first, OWNER), "Acme Realty", PASSWORDS[OWNER])
    files = sorted(paths.backup_dir().rglob("*.crmbak"))
    assert len(files) == 1
    second = db.get_engine(f"sqlite:///{tmp_path / 'b.sqlite3'}")
    backups.sweep(second)
    closing.purge(second, now=datetime(2100, 1, 1, tzinfo=UTC))
    assert sorted(paths.backup_dir().rglob("*.crmbak")) == files
    closing.restore(first, OWNER)
    assert auth.sign_in(first, PLAYER, PASSWORDS[PLAYER]).account_name == "Acme Realty"
