"""The account name typed to close: what is wrong with it is named (spaces around it,
capital letters), by the service and the command line alike."""

from __future__ import annotations

import io
import sys

import pytest
from conftest import OWNER, PASSWORDS, dump_database

# --- the typed name ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("Acme Realty", None),
        ("Acme Realty ", "the name you typed has a space at the end; the account name does not"),
        (" Acme Realty", "the name you typed has a space at the start; the account name does not"),
        ("  Acme Realty  ", "the name you typed has spaces at the start and at the end; the account name does not"),
        ("acme realty", "the name you typed differs in capital letters: type it exactly as shown"),
        ("Acme", "the account name you typed does not match"),
        ("", "type the account name to confirm"),
    ],
)
def test_the_typed_names_problem_is_named(typed, problem):
    from crm_tui.services.closing import name_problem

    assert name_problem(typed, "Acme Realty") == problem


def test_a_trailing_space_is_refused_by_the_service_with_its_reason(fresh_demo):
    from crm_tui.services import auth, closing
    from crm_tui.services.errors import InvalidInput

    before = dump_database(fresh_demo)
    who = auth.as_member(fresh_demo, OWNER)
    with pytest.raises(InvalidInput, match="a space at the end; the account name does not; nothing was deleted"):
        closing.close_account(fresh_demo, who, "Acme Realty ", PASSWORDS[OWNER])
    assert dump_database(fresh_demo) == before


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


def test_account_close_with_a_trailing_space_says_so_in_one_line(run, fresh_demo):
    before = dump_database(fresh_demo)
    code, out, err = run(
        ["account", "close", "--email", OWNER, "--confirm", "Acme Realty ", "--password-stdin"], stdin="demo-owner\n"
    )
    assert code == 1 and out == ""
    assert len(err.splitlines()) == 1 and "a space at the end" in err and "Traceback" not in err
    assert dump_database(fresh_demo) == before
