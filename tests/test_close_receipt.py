"""The deletion receipt: rendered by one service function (the goodbye screen shows and saves
it, ``account close`` prints it), with the audit event's hash, times in UTC with the zone
named, saved 0600 without overwriting."""

from __future__ import annotations

import io
import os
import stat
import sys
from datetime import date, datetime, timezone

import pytest
from conftest import OWNER, PASSWORDS
from sqlalchemy import text

UTC = timezone.utc


# --- the receipt ---------------------------------------------------------------------------


def a_receipt(**changes):
    from crm_tui.services.closing import Receipt

    values = dict(
        account_name="Birch & Co Bookkeeping",
        closed_at=datetime(2026, 11, 30, 23, 59, tzinfo=UTC),
        restore_until=date(2027, 2, 28),
        counts={"contacts": 1, "appointments": 0, "todos": 2, "history": 1, "team_members": 2},
        members_signed_out=1,
        audit_hash="ab" * 32,
    )
    values.update(changes)
    return Receipt(**values)


def test_the_receipt_names_account_time_with_zone_counts_restore_date_and_audit_hash():
    from crm_tui.services.closing import receipt_text

    receipt = receipt_text(a_receipt())
    assert "“Birch & Co Bookkeeping” was closed" in receipt
    assert "30 Nov 2026 23:59 UTC" in receipt
    lines = receipt.splitlines()
    assert "        1  contact" in lines[lines.index("Deleted:") + 1]
    assert "1  history entry" in receipt
    assert "0  appointments" in receipt and "2  to-dos" in receipt and "2  team members" in receipt
    assert "1 team member lost access and was signed out." in receipt
    assert "Restorable until 28 February 2027" in receipt and "cases@allclients.com" in receipt
    assert "ab" * 32 in receipt
    assert max(len(line) for line in lines) <= 80
    assert "team member" not in receipt_text(a_receipt(members_signed_out=0)).split("Deleted:")[0]
    two = receipt_text(a_receipt(members_signed_out=2))
    assert "2 team members lost access and were signed out." in two


def test_the_time_is_shown_in_utc_with_the_zone_named():
    from datetime import timedelta

    from crm_tui.services.clock import shown

    east = timezone(timedelta(hours=2))
    assert shown(datetime(2026, 12, 1, 1, 30, tzinfo=east)) == "30 Nov 2026 23:30 UTC"
    assert shown(datetime(2026, 12, 1, 1, 30)) == "01 Dec 2026 01:30 UTC"  # naive, as stored: UTC


def test_admin_closed_names_the_zone_of_its_times(run):
    code, out, err = run(
        ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin"], stdin="demo-owner\n"
    )
    assert code == 0, err
    code, out, err = run(["admin", "closed"])
    assert code == 0 and " UTC  restore until " in out


def test_closing_carries_the_audit_events_hash_in_the_receipt(fresh_demo):
    from crm_tui.services import auth, closing

    who = auth.as_member(fresh_demo, OWNER)
    receipt = closing.close_account(fresh_demo, who, "Acme Realty", PASSWORDS[OWNER])
    with fresh_demo.connect() as conn:
        stored = conn.execute(
            text("SELECT hash FROM audit_event WHERE action = 'account.close' AND account_id = :a"),
            {"a": who.account_id},
        ).scalar_one()
    assert len(stored) == 64 and receipt.audit_hash == stored
    assert stored in closing.receipt_text(receipt)


def test_the_receipt_is_saved_privately_without_overwriting(tmp_path):
    from crm_tui.services.closing import receipt_text, save_receipt

    receipt = a_receipt()
    first = save_receipt(receipt, tmp_path)
    second = save_receipt(receipt, tmp_path)
    assert first.parent == tmp_path and first != second
    assert first.name == "birch-co-bookkeeping-closing-receipt-20261130-235900.txt"
    for path in (first, second):
        assert path.read_text(encoding="utf-8") == receipt_text(receipt) + "\n"
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, second.name])  # no leftovers


def test_the_receipts_file_name_is_dated_in_the_owners_zone(tmp_path):
    import dataclasses

    from crm_tui.services.closing import save_receipt

    receipt = dataclasses.replace(a_receipt(), time_zone="America/New_York")  # 23:59 UTC is 18:59 there
    assert save_receipt(receipt, tmp_path).name == "birch-co-bookkeeping-closing-receipt-20261130-185900.txt"


def test_the_receipt_goes_to_the_downloads_folder_by_default(isolated_dirs, monkeypatch):
    from crm_tui import paths
    from crm_tui.services.closing import save_receipt

    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(isolated_dirs / "dl"))
    path = save_receipt(a_receipt())
    assert path.parent == paths.downloads_dir() == isolated_dirs / "dl"


@pytest.fixture
def run(fresh_demo, monkeypatch, capsys, tmp_path):
    from crm_tui import cli

    monkeypatch.setenv("CRM_TUI_DATABASE_URL", str(fresh_demo.url))
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))

    def go(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = cli.main(argv)
        out, err = capsys.readouterr()
        return code, out, err

    return go


def test_account_close_prints_the_receipt_text(run, monkeypatch):
    from crm_tui.services import closing

    receipts = []
    real = closing.close_account
    monkeypatch.setattr(closing, "close_account", lambda *a: receipts.append(real(*a)) or receipts[-1])
    code, out, err = run(
        ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin"], stdin="demo-owner\n"
    )
    assert (code, err) == (0, "")
    [receipt] = receipts
    # then what was done to the deleted rows' bytes (tests/test_permanence_backends.py, per backend)
    assert out == closing.receipt_text(receipt) + f"\nDatabase: {receipt.scrubbed}.\n"
    from crm_tui.services.closing import CLOSE_TOUCHES

    vacuumed = f"vacuumed {len(CLOSE_TOUCHES)} tables"
    assert receipt.scrubbed in ("checkpointed and truncated the write-ahead log", vacuumed)
    assert receipt.audit_hash in out and "UTC" in out


def test_the_receipt_makes_control_characters_in_the_name_visible():
    from crm_tui.services.closing import receipt_text

    receipt = receipt_text(a_receipt(account_name="Evil\x1b]0;owned\x07 Co"))
    assert "“Evil␛]0;owned␇ Co”" in receipt and "\x1b" not in receipt and "\x07" not in receipt
