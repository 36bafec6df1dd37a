"""Command-line output of stored or typed text never reaches the terminal raw."""

from __future__ import annotations

import io
import re
import sys

import pytest
from conftest import OWNER, dump_database

RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
ESC = "\x1b"


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


def _sql(engine, statement: str, **params) -> None:
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text(statement), params)


def test_an_email_with_control_characters_is_not_an_email(run, fresh_demo):
    before = dump_database(fresh_demo)
    code, out, err = run(
        [
            "team",
            "add",
            "--email",
            OWNER,
            "--password-stdin",
            "--member",
            f"{ESC}]0;x\x07a@acme.example",
            "--name",
            "New",
            "--role",
            "team-player",
        ],
        stdin="demo-owner\n",
    )
    assert code == 1
    assert "not an email address" in err
    assert RAW_CONTROL.search(out + err) is None
    assert dump_database(fresh_demo) == before
    code, out, err = run(
        [
            "team",
            "add",
            "--email",
            OWNER,
            "--password-stdin",
            "--member",
            "a\u202eb@acme.example",
            "--name",
            "New",
            "--role",
            "team-player",
        ],
        stdin="demo-owner\n",
    )
    assert code == 1 and RAW_CONTROL.search(out + err) is None


def test_messages_show_makes_a_stored_phone_number_visible(run, fresh_demo):
    _sql(fresh_demo, "UPDATE messages_service SET phone_number = :p", p=f"+1 555{ESC}[2J")
    code, out, err = run(["messages", "show", "--email", OWNER, "--password-stdin"], stdin="demo-owner\n")
    assert code == 0, err
    assert RAW_CONTROL.search(out) is None
    assert "+1 555␛[2J" in out


def test_billing_show_makes_the_stored_card_visible(run, fresh_demo):
    _sql(fresh_demo, "UPDATE account SET card_brand = :b WHERE name = 'Acme Realty'", b=f"Visa{ESC}[31m")
    code, out, err = run(["billing", "show", "--email", OWNER, "--password-stdin"], stdin="demo-owner\n")
    assert code == 0, err
    assert RAW_CONTROL.search(out) is None
    assert "Visa␛[31m ending" in out


def test_a_refusal_naming_a_typed_folder_is_printed_visible(run, tmp_path):
    missing = tmp_path / f"no{ESC}[31mwhere"
    missing.write_text("a file, not a folder")
    code, out, err = run(
        ["contacts", "export", "--email", OWNER, "--all", "--format", "csv", "--password-stdin", "--out", str(missing)],
        stdin="demo-owner\n",
    )
    assert code == 1
    assert len(err.splitlines()) == 1 and err.startswith("crm-tui: ")
    assert RAW_CONTROL.search(err) is None
    assert "no␛[31mwhere" in err


def test_a_survey_that_cannot_be_saved_after_closing_still_reports_the_close(run, fresh_demo):
    """The account is gone once closing commits: a failing optional survey must not turn that
    into a refusal (exit 1) that reads as if nothing happened."""
    from sqlalchemy import text

    if fresh_demo.dialect.name == "sqlite":
        _sql(
            fresh_demo,
            "CREATE TRIGGER survey_down BEFORE INSERT ON survey_response "
            "BEGIN SELECT RAISE(ABORT, 'survey store unavailable'); END",
        )
    else:
        _sql(
            fresh_demo,
            "CREATE FUNCTION survey_down() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'survey store unavailable'; END $$",
        )
        _sql(
            fresh_demo,
            "CREATE TRIGGER survey_down BEFORE INSERT ON survey_response FOR EACH ROW EXECUTE FUNCTION survey_down()",
        )
    code, out, err = run(
        [
            "account",
            "close",
            "--email",
            OWNER,
            "--confirm",
            "Acme Realty",
            "--password-stdin",
            "--reason",
            "Too expensive",
            "--comment",
            "bye",
        ],
        stdin="demo-owner\n",
    )
    assert code == 0, err
    assert "“Acme Realty” was closed" in out
    assert len(err.splitlines()) == 1 and "survey" in err and "not saved" in err
    with fresh_demo.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM account WHERE name = 'Acme Realty'")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM survey_response")).scalar() == 0


def test_a_bad_survey_answer_is_refused_before_anything_is_closed(run, fresh_demo):
    before = dump_database(fresh_demo)
    for extra, needle in (
        (["--reason", "Because"], "reason must be one of"),
        (["--comment", "hi"], "--comment goes with --reason"),
        (["--reason", "Other", "--comment", "x" * 2001], "longer than 2000"),
    ):
        code, out, err = run(
            ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin", *extra],
            stdin="demo-owner\n",
        )
        assert code == 1 and needle in err and "nothing was closed" in err, err
        assert dump_database(fresh_demo) == before


def test_a_team_player_exporting_is_refused_by_role_and_the_password_does_not_count(run, fresh_demo, tmp_path):
    from conftest import PLAYER
    from sqlalchemy import text

    code, out, err = run(
        ["account", "export", "--email", PLAYER, "--password-stdin", "--out", str(tmp_path)], stdin="a wrong password\n"
    )
    assert code == 1
    assert "only the owner or an administrator can export" in err
    with fresh_demo.connect() as conn:
        assert conn.execute(text("SELECT failed_logins FROM member WHERE email = :e"), {"e": PLAYER}).scalar_one() == 0
    assert list(tmp_path.glob("*.zip")) == []


def test_help_says_the_password_flag_is_required(capsys):
    from crm_tui import cli

    for argv in (["account", "close"], ["team", "leave"], ["messages", "cancel"]):
        with pytest.raises(SystemExit) as done:
            cli.main([*argv, "--help"])
        assert done.value.code == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "--password-stdin required:" in out, argv
