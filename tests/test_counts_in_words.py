"""Counts in words, from one plural helper: "1 team member", "2 team members", in the
command line's output as in the app."""

from __future__ import annotations

import io
import sys

import pytest
from conftest import OTHER_OWNER, OWNER, PASSWORDS, PLAYER
from sqlalchemy import text

# --- the plural helper ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "singular", "worded"),
    [
        (0, "team member", "0 team members"),
        (1, "team member", "1 team member"),
        (2, "team member", "2 team members"),
        (1, "history entry", "1 history entry"),
        (3, "history entry", "3 history entries"),
        (2, "to-do", "2 to-dos"),
        (1_234, "contact", "1,234 contacts"),
        (2, "box", "2 boxes"),
        (2, "day", "2 days"),
    ],
)
def test_plural_words_a_count(n, singular, worded):
    from crm_tui.text import plural

    assert plural(n, singular) == worded


def test_every_kind_of_record_has_its_one_and_its_many():
    from crm_tui.services.accounts import KIND_NOUNS, count_lines
    from crm_tui.services.archive import KIND_LABELS
    from crm_tui.text import plural_of

    assert set(KIND_NOUNS) == set(KIND_LABELS)
    assert {k: plural_of(v) for k, v in KIND_NOUNS.items()} == KIND_LABELS
    assert count_lines({"team_members": 1, "history": 1, "contacts": 2}) == [
        ("team member", 1),
        ("history entry", 1),
        ("contacts", 2),
    ]


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


def test_restore_counts_a_single_team_member_in_the_singular(run):
    code, out, err = run(
        ["account", "close", "--email", OTHER_OWNER, "--confirm", "Birch & Co Bookkeeping", "--password-stdin"],
        stdin=PASSWORDS[OTHER_OWNER] + "\n",
    )
    assert code == 0, err
    assert "        1  team member\n" in out or "        1  team member " in out
    assert "lost access" not in out  # nobody but the owner
    code, out, err = run(["admin", "restore", "--email", OTHER_OWNER])
    assert code == 0, err
    assert "1 team member." in out and "1 team members" not in out
    code, out, err = run(["admin", "purge"])
    assert out.startswith("Purged 0 closed accounts past their restore window; 0 backup files destroyed.")


def test_team_list_and_audit_count_in_words(run, fresh_demo):
    import re

    from crm_tui.text import plural

    with fresh_demo.begin() as conn:  # the team player keeps one of each
        player = conn.execute(text("SELECT id FROM member WHERE email = :e"), {"e": PLAYER}).scalar_one()
        for table, column in (("contact", "owner_id"), ("todo", "assignee_id"), ("appointment", "owner_id")):
            conn.execute(
                text(
                    f"DELETE FROM {table} WHERE {column} = :m AND id <> "
                    f"(SELECT min(id) FROM {table} WHERE {column} = :m)"
                ),
                {"m": player},
            )
    code, out, err = run(["team", "list", "--email", OWNER, "--password-stdin"], stdin=PASSWORDS[OWNER] + "\n")
    assert code == 0, err
    assert "1 contact, 1 to-do, 1 appointment" in next(line for line in out.splitlines() if PLAYER in line)
    worded = re.findall(r"\b(\d[\d,]*) (contact|to-do|appointment)(s?)\b", out)
    assert len(worded) == 9  # three members, three counts each
    assert all((n == "1") == (s == "") for n, _, s in worded), worded
    with fresh_demo.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()
    code, out, err = run(["admin", "audit"])
    assert (code, out) == (0, f"Audit chain verified: {plural(events, 'event')}.\n")
