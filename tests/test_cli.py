"""The command line: bad input to every command gives exit 1 (refused) or 2 (usage), exactly
one line on stderr and no traceback, and loses no data; the close/restore round trip works.

Most cases call ``cli.main`` in this process (an escaping exception fails the test, as a
traceback would); a representative set runs ``python -m crm_tui`` in a subprocess. Commands
authenticate as a user's would: ``--password-stdin``, or a ``crm-tui login`` session
(:func:`signed_in`).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ADMIN, CLOCKED, OTHER_OWNER, OWNER, PASSWORDS, PLAYER, dump_account, dump_database, pin_clock

NOBODY = "nobody@example.com"

# every command that acts as a user; {email} is the acting user; True: destructive, the
# password is asked whatever the session
USER_COMMANDS = {
    "account impact": (["account", "impact", "--email", "{email}"], OWNER, False),
    "account close": (
        ["account", "close", "--email", "{email}", "--confirm", "Acme Realty", "--password-stdin"],
        OWNER,
        True,
    ),
    "account export": (["account", "export", "--email", "{email}", "--password-stdin", "--out", "{out}"], OWNER, True),
    "account time-zone": (["account", "time-zone", "--email", "{email}", "--set", "Europe/Paris"], OWNER, False),
    "contacts export": (
        ["contacts", "export", "--email", "{email}", "--all", "--format", "csv", "--password-stdin", "--out", "{out}"],
        OWNER,
        True,
    ),
    "team list": (["team", "list", "--email", "{email}"], OWNER, False),
    "team add": (
        [
            "team",
            "add",
            "--email",
            "{email}",
            "--member",
            "new@acme-realty.example",
            "--name",
            "New",
            "--role",
            "team-player",
        ],
        OWNER,
        False,
    ),
    "team remove": (["team", "remove", "--email", "{email}", "--member", PLAYER], OWNER, False),
    "team transfer": (["team", "transfer", "--email", "{email}", "--to", ADMIN, "--password-stdin"], OWNER, True),
    "team leave": (["team", "leave", "--email", "{email}", "--password-stdin"], ADMIN, True),
    "messages show": (["messages", "show", "--email", "{email}"], OWNER, False),
    "messages cancel": (["messages", "cancel", "--email", "{email}", "--password-stdin"], OWNER, True),
    "billing show": (["billing", "show", "--email", "{email}"], OWNER, False),
    "billing plan": (["billing", "plan", "--email", "{email}", "--plan", "enterprise"], OWNER, False),
}
ADMIN_COMMANDS = {
    "admin closed": ["admin", "closed"],
    "admin closed --json": ["admin", "closed", "--json"],
    "admin restore": ["admin", "restore", "--email", OWNER],
    "admin purge": ["admin", "purge"],
    "admin resume": ["admin", "resume"],
    "admin survey": ["admin", "survey"],
    "admin audit": ["admin", "audit"],
    "demo": ["demo", "--contacts", "5"],
}
PASSWORD_COMMANDS = [name for name, (_a, _e, pw) in USER_COMMANDS.items() if pw]


def argv_for(name: str, email: str | None = None, out: Path | None = None) -> list[str]:
    args, default_email, _ = USER_COMMANDS[name]
    return [a.format(email=email or default_email, out=out or ".") for a in args]


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run ``cli.main`` in this process: returns (exit code, stdout, stderr)."""
    from crm_tui import cli as cli_module

    def run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            code = cli_module.main(argv)
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def demo_url(fresh_demo, monkeypatch, tmp_path) -> str:
    url = str(fresh_demo.url)
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", url)
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    return url


@pytest.fixture
def signed_in(cli, demo_url):
    """Every demo user signed in with ``crm-tui login`` on the demo database."""
    for email in (OWNER, ADMIN, PLAYER, OTHER_OWNER):
        code, _out, err = cli(["login", "--email", email, "--password-stdin"], stdin=PASSWORDS[email] + "\n")
        assert code == 0, err
    return demo_url


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {err!r}"
    assert "Traceback" not in err
    assert lines[0].startswith("crm-tui: ")
    return lines[0]


def account_data(engine) -> dict:
    """Everything but the members' failed-password counters (a wrong password counts)."""
    state = dump_database(engine)
    state.pop("member")
    state.pop("sqlite_sequence", None)
    return state


# --- refusals with a working database --------------------------------------------------------------


@pytest.mark.parametrize("name", list(USER_COMMANDS))
def test_unknown_email_is_refused(cli, demo_url, fresh_demo, tmp_path, name):
    before = dump_database(fresh_demo)
    code, out, err = cli(argv_for(name, NOBODY, tmp_path), stdin="whatever\n")
    assert code == 1
    assert NOBODY in one_line(err)
    assert dump_database(fresh_demo) == before


@pytest.mark.parametrize("name", PASSWORD_COMMANDS)
def test_wrong_password_is_refused(cli, demo_url, fresh_demo, tmp_path, name):
    before = account_data(fresh_demo)
    code, out, err = cli(argv_for(name, out=tmp_path), stdin="not-the-password\n")
    assert code == 1
    assert "wrong password" in one_line(err)
    assert account_data(fresh_demo) == before
    assert list(tmp_path.glob("*.zip")) == []


@pytest.mark.parametrize("name", PASSWORD_COMMANDS)
def test_a_member_of_a_closed_account_is_told_it_was_closed(cli, demo_url, fresh_demo, tmp_path, monkeypatch, name):
    """With the right password, the sentence signing in shows (one line, exit 1); with a wrong
    one, the answer any unknown email gets."""
    pin_clock(monkeypatch, "2026-11-27T10:00:00+00:00")
    assert cli(argv_for("account close"), stdin=PASSWORDS[OWNER] + "\n")[0] == 0
    pin_clock(monkeypatch, "2026-12-20T10:00:00+00:00")
    email = USER_COMMANDS[name][1]
    code, out, err = cli(argv_for(name, out=tmp_path), stdin=PASSWORDS[email] + "\n")
    assert code == 1 and out == ""
    restore = "You can have it restored" if email == OWNER else "It can be restored"
    assert one_line(err) == (
        f"crm-tui: This account was closed on 27 November 2026. {restore} until "
        f"27 February 2027 {'by writing' if email == OWNER else 'if its owner writes'} "
        "to cases@allclients.com."
    )
    code, out, err = cli(argv_for(name, out=tmp_path), stdin="not-the-password\n")
    assert code == 1 and one_line(err) == f"crm-tui: no active user with the email {email!r}"
    assert list(tmp_path.glob("*.zip")) == []


@pytest.mark.parametrize("name", PASSWORD_COMMANDS)
def test_missing_password_stdin_is_refused(cli, demo_url, fresh_demo, tmp_path, name):
    argv = [a for a in argv_for(name, out=tmp_path) if a != "--password-stdin"]
    before = dump_database(fresh_demo)
    code, out, err = cli(argv, stdin=PASSWORDS[OWNER] + "\n")
    assert code in (1, 2)
    assert "--password-stdin" in one_line(err)
    assert dump_database(fresh_demo) == before


@pytest.mark.parametrize("stdin", ["", "\n"], ids=["empty", "blank-line"])
@pytest.mark.parametrize("name", PASSWORD_COMMANDS)
def test_empty_stdin_is_refused(cli, demo_url, fresh_demo, tmp_path, name, stdin):
    before = dump_database(fresh_demo)
    code, out, err = cli(argv_for(name, out=tmp_path), stdin=stdin)
    assert code == 1
    assert "no password" in one_line(err)
    assert dump_database(fresh_demo) == before


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("acme realty", "differs in capital letters"),
        ("Acme Realty ", "has a space at the end"),
        ("Birch & Co Bookkeeping", "does not match"),
        ("", "type the account name"),
    ],
)
def test_close_with_the_wrong_account_name_is_refused(cli, demo_url, fresh_demo, typed, why):
    before = dump_database(fresh_demo)
    code, out, err = cli(
        ["account", "close", "--email", OWNER, "--confirm", typed, "--password-stdin"], stdin=PASSWORDS[OWNER] + "\n"
    )
    assert code == 1
    assert why in one_line(err) and "nothing was deleted" in err
    assert dump_database(fresh_demo) == before


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["team", "add", "--email", OWNER, "--member", "not-an-email", "--name", "X", "--role", "administrator"],
            "not an email",
        ),
        (
            ["team", "add", "--email", OWNER, "--member", OTHER_OWNER, "--name", "X", "--role", "administrator"],
            "already",
        ),
        (
            [
                "team",
                "add",
                "--email",
                ADMIN,
                "--member",
                "d\u0430na@acme-realty.example",
                "--name",
                "X",
                "--role",
                "administrator",
            ],
            "may hold only Latin letters",
        ),
        (["team", "remove", "--email", OWNER, "--member", OTHER_OWNER], "no team member"),
        (["team", "remove", "--email", ADMIN, "--member", OWNER], "owner"),
        (["team", "remove", "--email", PLAYER, "--member", ADMIN], "only the owner or an administrator"),
        (["billing", "plan", "--email", OWNER, "--plan", "platinum"], "no plan"),
        (["billing", "show", "--email", ADMIN], "only the account owner"),
        (["admin", "restore", "--email", OWNER], "no closed account"),
        (["account", "impact", "--email", PLAYER], "only the account owner"),
        (["demo"], "exist already"),
        (["demo", "--reset", "--contacts", "-5"], "--contacts"),
    ],
    ids=lambda v: v if isinstance(v, str) else " ".join(v[:2]),
)
def test_domain_refusals_are_one_line(cli, signed_in, fresh_demo, argv, needle):
    before = dump_database(fresh_demo)
    code, out, err = cli(argv)
    assert code == 1
    assert needle in one_line(err)
    # a refused restore writes nothing either (it once named this database's backup folder)
    assert dump_database(fresh_demo) == before


@pytest.mark.parametrize(
    "argv",
    [
        ["account"],
        ["account", "close", "--email", OWNER],
        ["team", "add", "--email", OWNER],
        ["team", "add", "--email", OWNER, "--member", "a@b.example", "--name", "A", "--role", "owner"],
        ["admin", "restore"],
        ["demo", "--contacts", "many"],
        ["no-such-command"],
        ["--no-such-option"],
        ["billing"],
        ["messages", "cancel"],
    ],
    ids=lambda v: " ".join(v),
)
def test_usage_errors_exit_2_with_one_line(cli, demo_url, argv):
    code, out, err = cli(argv)
    assert code == 2
    one_line(err)


# --- a database that cannot be used ---------------------------------------------------------------

ALL_DB_COMMANDS = [(n, None) for n in USER_COMMANDS] + [(n, a) for n, a in ADMIN_COMMANDS.items()]


def _argv(name, admin_argv, tmp_path):
    return list(admin_argv) if admin_argv is not None else argv_for(name, out=tmp_path)


@pytest.mark.parametrize(("name", "admin_argv"), ALL_DB_COMMANDS, ids=[n for n, _ in ALL_DB_COMMANDS])
def test_database_folder_parent_is_a_file(cli, monkeypatch, tmp_path, name, admin_argv):
    blocker = tmp_path / "blocker"
    blocker.write_text("I am a file")
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", f"sqlite:///{blocker / 'crm.sqlite3'}")
    code, out, err = cli(_argv(name, admin_argv, tmp_path), stdin="pw\n")
    assert code == 1
    assert "not a folder" in one_line(err)
    assert blocker.read_text() == "I am a file"


@pytest.mark.parametrize(("name", "admin_argv"), ALL_DB_COMMANDS, ids=[n for n, _ in ALL_DB_COMMANDS])
def test_database_path_is_a_directory(cli, monkeypatch, tmp_path, name, admin_argv):
    folder = tmp_path / "a-folder.sqlite3"
    folder.mkdir()
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", f"sqlite:///{folder}")
    code, out, err = cli(_argv(name, admin_argv, tmp_path), stdin="pw\n")
    assert code == 1
    assert "folder" in one_line(err)
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(("name", "admin_argv"), ALL_DB_COMMANDS, ids=[n for n, _ in ALL_DB_COMMANDS])
def test_a_file_that_is_not_a_database(cli, monkeypatch, tmp_path, name, admin_argv):
    junk = tmp_path / "junk.sqlite3"
    content = os.urandom(8192)
    junk.write_bytes(content)
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", f"sqlite:///{junk}")
    code, out, err = cli(_argv(name, admin_argv, tmp_path), stdin="pw\n")
    assert code == 1
    assert "database" in one_line(err)
    assert junk.read_bytes() == content


def _unreadable(path: Path) -> bool:
    """chmod 000 and check it bites: it does not for root, who reads everything."""
    path.chmod(0)
    try:
        path.open("rb").close()
    except PermissionError:
        return True
    return False


@pytest.mark.parametrize(("name", "admin_argv"), ALL_DB_COMMANDS, ids=[n for n, _ in ALL_DB_COMMANDS])
def test_an_unreadable_database_file(cli, monkeypatch, tmp_path, name, admin_argv, demo_template):
    import shutil

    target = tmp_path / "locked.sqlite3"
    shutil.copy(demo_template, target)
    if not _unreadable(target):
        target.chmod(0o600)
        pytest.skip("running as a user who can read a chmod 000 file (root): cannot test unreadable files")
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", f"sqlite:///{target}")
    code, out, err = cli(_argv(name, admin_argv, tmp_path), stdin="pw\n")
    target.chmod(0o600)
    assert code == 1
    assert "cannot read" in one_line(err)


def test_a_url_with_an_unknown_backend_is_refused(cli, tmp_path):
    code, out, err = cli(["--database-url", "nosuchdb://x/y", "admin", "closed"])
    assert code == 2 or code == 1
    one_line(err)
    code, out, err = cli(["admin", "closed", "--database-url", "not a url at all"])
    assert code == 1
    one_line(err)


# --- through a real process ------------------------------------------------------------------------


def run_cli(args: list[str], env: dict, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "crm_tui", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def env(tmp_path, isolated_dirs) -> dict:
    e = dict(os.environ)
    e["CRM_TUI_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    e["CRM_TUI_BACKUP_DIR"] = str(tmp_path / "backups")
    e.pop("CRM_TUI_DEBUG", None)
    return e


def test_refusals_in_a_real_process(env, fresh_demo, tmp_path):
    """One process per kind of bad input: exit code, one line, no traceback."""
    env = {**env, "CRM_TUI_DATABASE_URL": str(fresh_demo.url)}
    junk = tmp_path / "junk.db"
    junk.write_bytes(os.urandom(4096))
    cases = [
        (["account", "impact", "--email", NOBODY], "", 1, NOBODY),
        (
            ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin"],
            "nope\n",
            1,
            "wrong password",
        ),
        (["team", "frobnicate"], "", 2, "invalid choice"),
        (["admin", "closed", "--database-url", f"sqlite:///{tmp_path}"], "", 1, "folder"),
        (["account", "impact", "--email", OWNER, "--database-url", f"sqlite:///{junk}"], "", 1, "database"),
    ]
    for argv, stdin, code, needle in cases:
        proc = run_cli(argv, env, stdin)
        assert (proc.returncode, "Traceback" in proc.stderr) == (code, False), (argv, proc.stderr)
        assert needle in one_line(proc.stderr), argv
        assert proc.stdout == ""


def test_demo_close_restore_round_trip_through_the_cli(env, cli, monkeypatch):
    from crm_tui import db

    monkeypatch.setenv("CRM_TUI_DATABASE_URL", env["CRM_TUI_DATABASE_URL"])
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", env["CRM_TUI_BACKUP_DIR"])
    demo = run_cli(["demo", "--contacts", "40", "--seed", "3"], env)
    assert demo.returncode == 0, demo.stderr
    assert OWNER in demo.stdout and "demo-owner" in demo.stdout
    code, out, err = cli(["login", "--email", OWNER, "--password-stdin"], stdin="demo-owner\n")
    assert code == 0, err
    code, out, _ = cli(["account", "impact", "--email", OWNER, "--json"])
    before_impact = json.loads(out)
    assert before_impact["counts"]["contacts"] == 40
    assert {m["email"] for m in before_impact["members_losing_access"]} == {ADMIN, PLAYER}
    engine = db.get_engine(env["CRM_TUI_DATABASE_URL"])
    with engine.connect() as conn:
        acme = conn.exec_driver_sql("SELECT id FROM account WHERE name = 'Acme Realty'").scalar()
        birch = conn.exec_driver_sql("SELECT id FROM account WHERE name LIKE 'Birch%'").scalar()
    before = dump_account(engine, acme)
    birch_before = dump_account(engine, birch)
    db.dispose_all()

    close = run_cli(
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
            "  prices went up  ",
        ],
        env,
        "demo-owner\n",
    )
    assert close.returncode == 0, close.stderr
    assert "“Acme Realty” was closed" in close.stdout and "cases@allclients.com" in close.stdout
    assert close.stderr == ""

    closed = run_cli(["admin", "closed", "--json"], env)
    assert closed.returncode == 0
    [row] = json.loads(closed.stdout)
    assert (row["account_id"], row["state"], row["restorable"]) == (acme, "closed", True)
    assert row["counts"]["contacts"] == 40

    survey = run_cli(["admin", "survey"], env)
    assert survey.returncode == 0
    assert "Too expensive" in survey.stdout and "1 with a comment" in survey.stdout
    code, out, _ = cli(["admin", "survey", "--json"])
    assert json.loads(out) == [{"reason": "Too expensive", "responses": 1, "with_comment": 1}]
    code, out, err = cli(["team", "list", "--email", ADMIN])
    assert code == 1 and ADMIN in one_line(err)
    db.dispose_all()

    restore = run_cli(["admin", "restore", "--email", OWNER], env)
    assert restore.returncode == 0, restore.stderr
    assert "Restored Acme Realty" in restore.stdout and "3 team members" in restore.stdout
    code, out, err = cli(["admin", "restore", "--email", OWNER])
    assert code == 1 and "restored already" in one_line(err)

    engine = db.get_engine(env["CRM_TUI_DATABASE_URL"])
    assert dump_account(engine, acme) == before
    assert dump_account(engine, birch) == birch_before
    # the close ended the owner's session: the password again
    code, out, err = cli(["account", "impact", "--email", OWNER, "--json"])
    assert code == 1 and "not signed in" in one_line(err)
    code, out, _ = cli(["account", "impact", "--email", OWNER, "--json", "--password-stdin"], stdin="demo-owner\n")
    assert json.loads(out) == before_impact
    code, out, _ = cli(["admin", "audit"])
    assert code == 0 and "verified" in out


def test_restore_after_the_window_through_the_cli(env, cli, fresh_demo, monkeypatch, backend):
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", str(fresh_demo.url))
    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", env["CRM_TUI_BACKUP_DIR"])
    pin_clock(monkeypatch, "2027-11-30T18:00:00+00:00")
    code, out, err = cli(
        ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin"], stdin="demo-owner\n"
    )
    assert code == 0, err
    assert "29 February 2028" in out
    pin_clock(monkeypatch, "2028-03-01T00:00:00+00:00")
    code, out, err = cli(["admin", "purge"])
    destroyed = "1 backup file" if backend == "sqlite" else "1 backup kept in the database destroyed"
    assert code == 0 and "Purged 1" in out and destroyed in out, out
    late = {**env, "CRM_TUI_DATABASE_URL": str(fresh_demo.url)}
    refused = subprocess.run(
        [sys.executable, str(CLOCKED), "2028-03-01T00:00:00+00:00", "--", "admin", "restore", "--email", OWNER],
        capture_output=True,
        text=True,
        env=late,
        timeout=120,
    )
    assert refused.returncode == 1
    line = one_line(refused.stderr)
    assert "permanently deleted" in line and "you're welcome to create a new account" in line


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--reason", "Because"], "reason must be one of"),
        (["--reason", "too expensive"], "reason must be one of"),
        (["--reason", "Other", "--comment", "x" * 2001], "longer than"),
        (["--comment", "no reason given"], "--reason"),
    ],
    ids=["unknown", "wrong-case", "long-comment", "comment-only"],
)
def test_a_bad_survey_answer_refuses_the_close_before_anything_is_deleted(cli, demo_url, fresh_demo, extra, needle):
    before = dump_database(fresh_demo)
    code, out, err = cli(
        ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin", *extra],
        stdin="demo-owner\n",
    )
    assert code == 1
    assert needle in one_line(err)
    assert out == ""
    assert dump_database(fresh_demo) == before


def test_a_missing_database_folder_is_created_private(cli, monkeypatch, tmp_path):
    import stat

    path = tmp_path / "not" / "yet" / "crm.sqlite3"
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", f"sqlite:///{path}")
    code, out, err = cli(["admin", "closed", "--create"])
    assert (code, out, err) == (0, "No closed accounts.\n", "")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_database_folder_that_cannot_be_created(cli, monkeypatch, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", f"sqlite:///{blocker / 'sub' / 'crm.sqlite3'}")
    code, out, err = cli(["account", "impact", "--email", OWNER, "--create"])
    assert code == 1
    assert "cannot create the database file" in one_line(err)
    assert blocker.read_text() == "a file"


def test_admin_survey_comments_shows_each_comment_with_its_reason_and_nothing_that_links_it(cli, demo_url):
    """Support reads the comments, made visible as the rest of the output (no raw control
    character), with no account name, id, email, date or plan beside them."""
    import re

    from crm_tui import db
    from crm_tui.services import survey

    code, out, err = cli(
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
            "prices went up\nagain",
        ],
        "demo-owner\n",
    )
    assert code == 0, err
    engine = db.get_engine(demo_url)
    survey.submit(engine, "Other", "\x1b[2Jwiped\u202eevil\x9b31m", plan_code="starter", tenure_months=7, team_size=4)
    survey.submit(engine, "Other", "")  # no comment: not listed

    code, out, err = cli(["admin", "survey", "--comments"])
    assert (code, err) == (0, "")
    assert out.splitlines() == ["Other: ␛[2Jwiped\ufffdevil\ufffd31m", "Too expensive: prices went up again"]
    assert re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out) is None
    # the lines above are the whole output: no account id, name, email, month or plan beside them
    for linked in ("Acme", OWNER, "starter", "professional", "2026", "Nov", "Dec"):
        assert linked not in out

    code, out, err = cli(["admin", "survey", "--comments", "--json"])
    assert code == 0, err
    assert json.loads(out) == [
        {"reason": "Other", "comment": "\x1b[2Jwiped\u202eevil\x9b31m"},
        {"reason": "Too expensive", "comment": "prices went up\nagain"},
    ]
    assert re.search("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]", out) is None  # escaped as \\u009b, \\u202e


def test_admin_survey_comments_without_any(cli, demo_url):
    code, out, err = cli(["admin", "survey", "--comments"])
    assert (code, out, err) == (0, "No survey comments.\n", "")


# --- a bug: one line, and the traceback in the log file -----------------------------------------


def test_an_unexpected_error_exits_1_with_one_line_naming_the_log_holding_the_traceback(cli, signed_in, monkeypatch):
    import platformdirs

    from crm_tui.services import accounts

    def broken(*_args, **_kwargs):
        raise RuntimeError("the impact went wrong\nsecond line")

    monkeypatch.setattr(accounts, "impact", broken)
    code, out, err = cli(["account", "impact", "--email", OWNER])
    log = platformdirs.user_log_path("crm-tui") / "crm-tui.log"
    assert (code, out) == (1, "")
    assert one_line(err) == (
        f"crm-tui: unexpected error: RuntimeError: the impact went wrong (the traceback is in {log})"
    )
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "RuntimeError: the impact went wrong" in text
    assert "in broken" in text
    assert log.stat().st_mode & 0o777 == 0o600
    assert log.parent.stat().st_mode & 0o777 == 0o700
    # a second one is added to the same file
    cli(["account", "impact", "--email", OWNER])
    assert log.read_text().count("Traceback (most recent call last)") == 2


def test_with_crm_tui_debug_an_unexpected_error_is_raised(cli, signed_in, monkeypatch):
    from crm_tui.services import accounts

    monkeypatch.setattr(accounts, "impact", lambda *_a, **_k: (_ for _ in ()).throw(RuntimeError("boom")))
    monkeypatch.setenv("CRM_TUI_DEBUG", "1")
    with pytest.raises(RuntimeError, match="boom"):
        cli(["account", "impact", "--email", OWNER])


def test_an_unexpected_error_that_cannot_be_logged_still_says_one_line(cli, signed_in, monkeypatch, tmp_path):
    from crm_tui import paths
    from crm_tui.services import accounts

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(paths, "log_file", lambda: blocker / "crm-tui.log")
    monkeypatch.setattr(accounts, "impact", lambda *_a, **_k: (_ for _ in ()).throw(RuntimeError("boom")))
    code, _out, err = cli(["account", "impact", "--email", OWNER])
    assert code == 1
    assert one_line(err).startswith(
        "crm-tui: unexpected error: RuntimeError: boom (the traceback could not be logged: "
    )
