"""A closed account's emails stay reserved until it is restored or purged: nobody can block
its restore inside the window by taking one of them elsewhere."""

from __future__ import annotations

import io
import sys
from datetime import datetime, timezone

import pytest
from conftest import ADMIN, OTHER_OWNER, OWNER, PASSWORDS, dump_database

UTC = timezone.utc


@pytest.fixture
def cli(monkeypatch, capsys, fresh_demo, tmp_path):
    from crm_tui import cli as cli_module

    monkeypatch.setenv("CRM_TUI_DATABASE_URL", str(fresh_demo.url))
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            code = cli_module.main(list(argv))
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def close_acme(cli) -> None:
    code, out, err = cli(
        "account",
        "close",
        "--email",
        OWNER,
        "--confirm",
        "Acme Realty",
        "--password-stdin",
        stdin=PASSWORDS[OWNER] + "\n",
    )
    assert code == 0, err


def refused_line(code: int, err: str) -> str:
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, (code, err)
    return err.strip()


@pytest.mark.parametrize("email", [ADMIN, OWNER, "  Marcus@ACME-Realty.example "])
def test_another_account_cannot_take_a_closed_accounts_email(cli, fresh_demo, email):
    from crm_tui.services import clock

    close_acme(cli)
    until = clock.restore_until(clock.now())
    before = dump_database(fresh_demo)
    code, out, err = cli(
        "team",
        "add",
        "--email",
        OTHER_OWNER,
        "--member",
        email,
        "--name",
        "Taken",
        "--role",
        "team-player",
        "--password-stdin",
        stdin=PASSWORDS[OTHER_OWNER] + "\n",
    )
    line = refused_line(code, err)
    assert f"belongs to a closed account until {until:%d %B %Y}" in line and "nobody was added" in line
    assert dump_database(fresh_demo) == before
    code, out, err = cli("admin", "restore", "--email", OWNER)
    assert code == 0, err
    assert "Restored Acme Realty" in out


def test_a_demo_reset_cannot_take_a_closed_accounts_emails(cli, fresh_demo):
    close_acme(cli)
    before = dump_database(fresh_demo)
    code, out, err = cli("demo", "--reset", "--contacts", "5")
    line = refused_line(code, err)
    assert (
        "dana@acme-realty.example belongs to a closed account until" in line
        or "marcus@acme-realty.example belongs to a closed account until" in line
        or "priya@acme-realty.example belongs to a closed account until" in line
    )
    assert "the demo accounts were not created" in line
    assert dump_database(fresh_demo) == before
    assert cli("admin", "restore", "--email", OWNER)[0] == 0


def test_the_address_is_free_again_once_the_account_is_purged(fresh_demo, tmp_path, monkeypatch):
    from crm_tui.services import auth, closing, team

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    closed_at = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
    with monkeypatch.context() as mp:
        mp.setattr(closing.clock, "now", lambda: closed_at)
        closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    birch = auth.as_member(fresh_demo, OTHER_OWNER)
    from crm_tui.services.errors import InvalidInput

    with pytest.raises(InvalidInput, match="belongs to a closed account until 10 April 2027"):
        team.add_member(fresh_demo, birch, ADMIN, "Marcus", "team player")
    closing.purge(fresh_demo, now=datetime(2027, 4, 11, 0, 0, tzinfo=UTC))
    added = team.add_member(fresh_demo, birch, ADMIN, "Marcus", "team player")
    assert added.email == ADMIN


def test_the_restored_account_keeps_its_own_emails(fresh_demo, tmp_path, monkeypatch):
    """Restore is not refused by its own reservation."""
    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    closing.close_account(fresh_demo, auth.as_member(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    closing.restore(fresh_demo, OWNER)
    assert auth.as_member(fresh_demo, ADMIN).account_name == "Acme Realty"


def test_an_imported_archive_cannot_take_a_closed_accounts_email(fresh_demo, demo_template, tmp_path, monkeypatch):
    """An export of another account whose team holds a reserved address is not imported."""
    import shutil

    from sqlalchemy import update

    from crm_tui import db, tables
    from crm_tui.services import auth, closing, export, locks, team
    from crm_tui.services.errors import DomainError

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    # the source: Marcus moved from Acme to Birch, and Birch exported
    owner = auth.as_member(fresh_demo, OWNER)
    team.remove_member(fresh_demo, owner, team.find_in_account(fresh_demo, owner, ADMIN))
    birch = auth.as_member(fresh_demo, OTHER_OWNER)
    team.add_member(fresh_demo, birch, ADMIN, "Marcus Lee", "administrator")
    archive = export.export_account(fresh_demo, birch, out_dir=tmp_path).path
    # the target: Acme closed (Marcus's address reserved), no Birch
    target_path = tmp_path / "target.sqlite3"
    shutil.copyfile(demo_template, target_path)
    target = db.get_engine(f"sqlite:///{target_path}")
    closing.close_account(target, auth.as_member(target, OWNER), "Acme Realty", PASSWORDS[OWNER])
    birch_id = auth.as_member(target, OTHER_OWNER).account_id
    with db.write_connection(target) as conn:  # Birch's rows gone, as phase (d) deletes them
        conn.execute(update(tables.account).where(tables.account.c.id == birch_id).values(status=locks.CLOSED))
    assert closing.finish_deletion(target, birch_id)
    before = dump_database(target)
    with pytest.raises(DomainError, match=f"{ADMIN} belongs to a closed account until"):
        export.restore_from_archive(target, archive)
    assert dump_database(target) == before
    closing.restore(target, OWNER)
    assert auth.as_member(target, ADMIN).account_name == "Acme Realty"
