"""The command line knows who is acting: ``crm-tui login`` / ``logout``, the password asked at a
terminal, sessions that expire, admin commands audited as the operating-system user; and the
smaller edges of issue 18 (``--out``, text that is not UTF-8, database URLs that name nothing).
"""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ADMIN, OWNER, PASSWORDS, PLAYER, dump_database, pin_clock
from sqlalchemy import text


@pytest.fixture
def cli(monkeypatch, capsys):
    from crm_tui import cli as cli_module

    def run(argv: list[str], stdin: str = "", tty: bool = False) -> tuple[int, str, str]:
        stream = io.StringIO(stdin)
        if tty:
            stream.isatty = lambda: True  # type: ignore[method-assign]
        monkeypatch.setattr(sys, "stdin", stream)
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


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("crm-tui: ") and "Traceback" not in err, err
    return lines[0]


def login(cli, email: str) -> None:
    code, out, err = cli(["login", "--email", email, "--password-stdin"], stdin=PASSWORDS[email] + "\n")
    assert code == 0, err
    assert f"Signed in as {email}" in out


def session_rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT member_id, token_hash FROM cli_session ORDER BY id"))]


# --- login, logout ---------------------------------------------------------------------------


def test_login_keeps_the_token_in_a_private_file_and_only_its_hash_in_the_database(
    cli, demo_url, fresh_demo, isolated_dirs
):
    from crm_tui import paths
    from crm_tui.services import sessions

    login(cli, PLAYER)
    path = paths.sessions_file()
    assert path.is_relative_to(isolated_dirs / "config")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    [entry] = json.loads(path.read_text())["sessions"]
    assert entry["email"] == PLAYER
    [(member_id, digest)] = session_rows(fresh_demo)
    assert digest == sessions.token_hash(entry["token"])
    if fresh_demo.dialect.name == "sqlite":  # the file's bytes, WAL too
        raw = b"".join(
            Path(str(fresh_demo.url.database) + s).read_bytes()
            for s in ("", "-wal")
            if Path(str(fresh_demo.url.database) + s).exists()
        )
    else:  # every row
        from conftest import dump_database

        raw = repr(dump_database(fresh_demo)).encode()
    assert raw and entry["token"].encode() not in raw

    code, out, err = cli(["team", "list", "--email", PLAYER])
    assert code == 0 and "Priya Shah" in out, err


def test_a_wrong_password_at_login_is_refused_and_nothing_is_kept(cli, demo_url, fresh_demo):
    from crm_tui import paths

    code, out, err = cli(["login", "--email", PLAYER, "--password-stdin"], stdin="nope\n")
    assert code == 1 and one_line(err) == "crm-tui: wrong email or password"
    code, out, err = cli(["login", "--email", "nobody@example.com", "--password-stdin"], stdin="nope\n")
    assert code == 1 and one_line(err) == "crm-tui: wrong email or password"
    assert not paths.sessions_file().exists() and session_rows(fresh_demo) == []


def test_logout_ends_the_session_in_the_database_and_the_file(cli, demo_url, fresh_demo):
    login(cli, OWNER)
    login(cli, ADMIN)
    code, out, err = cli(["logout", "--email", OWNER])
    assert code == 0 and out == f"Signed out {OWNER}.\n", err
    assert len(session_rows(fresh_demo)) == 1
    code, out, err = cli(["billing", "show", "--email", OWNER])
    assert code == 1 and "not signed in as" in one_line(err)
    code, out, err = cli(["team", "list", "--email", ADMIN])
    assert code == 0, err
    code, out, err = cli(["logout"])
    assert code == 0 and out == f"Signed out {ADMIN}.\n"
    assert session_rows(fresh_demo) == []
    code, out, err = cli(["logout"])
    assert code == 1 and one_line(err) == "crm-tui: not signed in on this database"


def test_a_session_is_for_the_database_it_was_made_on(cli, demo_url, fresh_demo, tmp_path, demo_template):
    import shutil

    login(cli, OWNER)
    other = tmp_path / "other.sqlite3"
    shutil.copyfile(demo_template, other)
    code, out, err = cli(["team", "list", "--email", OWNER, "--database-url", f"sqlite:///{other}"])
    assert code == 1 and "not signed in as" in one_line(err)


def test_an_expired_session_is_refused_and_a_used_one_lasts(cli, demo_url, fresh_demo, monkeypatch):
    login(cli, OWNER)
    with fresh_demo.begin() as conn:
        last = conn.execute(text("SELECT last_used_at FROM cli_session")).scalar()
    pin_clock(monkeypatch, "2099-01-01T08:00:00+00:00")  # long after: expired
    before = dump_database(fresh_demo)
    code, out, err = cli(["billing", "show", "--email", OWNER])
    assert code == 1
    assert one_line(err) == (
        f"crm-tui: the session has expired ({OWNER}): run 'crm-tui login --email {OWNER}' "
        "first, or pass --password-stdin"
    )
    assert dump_database(fresh_demo) == before
    # made again, then used 11 hours later: it then lasts 12 hours from that use
    pin_clock(monkeypatch, "2099-01-01T08:00:00+00:00")
    login(cli, OWNER)
    pin_clock(monkeypatch, "2099-01-01T19:00:00+00:00")
    assert cli(["billing", "show", "--email", OWNER])[0] == 0
    pin_clock(monkeypatch, "2099-01-02T06:00:00+00:00")  # 22 h after login
    code, out, err = cli(["billing", "show", "--email", OWNER])
    assert code == 0, err
    with fresh_demo.begin() as conn:
        used = conn.execute(text("SELECT last_used_at FROM cli_session")).scalars().all()
    assert last not in used and len(used) == 1 and str(used[0]).startswith("2099-01-02 06:00")


def test_the_password_is_asked_without_echo_at_a_terminal(cli, demo_url, fresh_demo, monkeypatch, tmp_path):
    import getpass

    asked: list[str] = []

    def fake_getpass(prompt: str = "Password: ") -> str:
        asked.append(prompt)
        return PASSWORDS[OWNER]

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    code, out, err = cli(["billing", "show", "--email", OWNER], tty=True)
    assert code == 0 and "Acme Realty" in out, err
    assert asked == [f"Password for {OWNER}: "]
    login(cli, OWNER)  # a session: no prompt for a read, but one for a destructive step
    asked.clear()
    assert cli(["billing", "show", "--email", OWNER], tty=True)[0] == 0
    assert asked == []
    code, out, err = cli(["account", "export", "--email", OWNER, "--out", str(tmp_path / "x")], tty=True)
    assert code == 0, err
    assert asked == [f"Password for {OWNER}: "]


def test_a_token_file_others_can_read_is_refused(cli, demo_url):
    from crm_tui import paths

    login(cli, OWNER)
    paths.sessions_file().chmod(0o644)
    code, out, err = cli(["billing", "show", "--email", OWNER])
    assert code == 1 and "can be read by others" in one_line(err)


# --- admin commands are the operator's --------------------------------------------------------


def test_admin_restore_and_purge_audit_the_operating_system_user(cli, demo_url, fresh_demo, monkeypatch):
    import pwd

    user = pwd.getpwuid(os.geteuid()).pw_name
    monkeypatch.setenv("USER", "someone-else")
    monkeypatch.setenv("LOGNAME", "someone-else")
    pin_clock(monkeypatch, "2026-11-27T10:00:00+00:00")
    code, out, err = cli(
        ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin"], stdin="demo-owner\n"
    )
    assert code == 0, err
    assert cli(["admin", "restore", "--email", OWNER])[0] == 0
    assert (
        cli(
            ["account", "close", "--email", OWNER, "--confirm", "Acme Realty", "--password-stdin"], stdin="demo-owner\n"
        )[0]
        == 0
    )
    pin_clock(monkeypatch, "2027-06-01T10:00:00+00:00")
    assert cli(["admin", "purge"])[0] == 0
    with fresh_demo.begin() as conn:
        actors = dict(
            conn.execute(
                text("SELECT action, actor FROM audit_event WHERE action IN ('account.restore', 'account.purge')")
            ).all()
        )
    assert actors == {"account.restore": f"operator:{user}", "account.purge": f"operator:{user}"}
    assert cli(["admin", "audit"])[0] == 0


# --- smaller edges ------------------------------------------------------------------------------


def test_out_that_is_empty_is_refused(cli, demo_url, fresh_demo, tmp_path, monkeypatch):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    before = dump_database(fresh_demo)
    for argv in (["account", "export"], ["contacts", "export", "--all", "--format", "vcf"]):
        code, out, err = cli([*argv, "--email", OWNER, "--password-stdin", "--out", ""], stdin="demo-owner\n")
        assert code == 1 and one_line(err) == "crm-tui: --out names no folder (for the current folder, write --out .)"
    assert list(here.iterdir()) == []
    assert dump_database(fresh_demo) == before


def test_out_that_does_not_exist_is_made_private(cli, demo_url, tmp_path):
    target = tmp_path / "exports" / "2026" / "dec"
    code, out, err = cli(
        ["contacts", "export", "--email", OWNER, "--password-stdin", "--all", "--format", "csv", "--out", str(target)],
        stdin="demo-owner\n",
    )
    assert code == 0, err
    assert [p.name for p in target.iterdir()] == [Path(out.splitlines()[0]).name]
    for folder in (target, target.parent, target.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder


def test_a_refused_export_takes_away_the_folder_it_made(cli, demo_url, tmp_path):
    target = tmp_path / "new" / "folder"
    code, out, err = cli(
        [
            "contacts",
            "export",
            "--email",
            OWNER,
            "--password-stdin",
            "--ids",
            "99999",
            "--format",
            "csv",
            "--out",
            str(target),
        ],
        stdin="demo-owner\n",
    )
    assert code == 1 and "not in your account" in one_line(err)
    assert not (tmp_path / "new").exists()
    code, out, err = cli(
        ["contacts", "export", "--email", PLAYER, "--password-stdin", "--all", "--format", "csv", "--out", str(target)],
        stdin="demo-player\n",
    )
    assert code == 1 and "only the owner or an administrator" in one_line(err)
    assert not (tmp_path / "new").exists()


def _run_bytes(argv: list[bytes], env: dict, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable.encode(), b"-m", b"crm_tui", *argv], input=stdin, capture_output=True, env=env, timeout=120
    )


def test_an_argument_that_is_not_utf8_is_named_and_nothing_is_done(fresh_demo, tmp_path):
    env = {
        **os.environ,
        "CRM_TUI_DATABASE_URL": str(fresh_demo.url),
        "CRM_TUI_BACKUP_DIR": str(tmp_path / "b"),
        "PYTHONPATH": os.pathsep.join(sys.path),
        "LC_ALL": "C.UTF-8",
    }
    env.pop("CRM_TUI_DEBUG", None)
    before = dump_database(fresh_demo)
    cases = [
        (
            [
                b"account",
                b"close",
                b"--email",
                OWNER.encode(),
                b"--confirm",
                b"Acme Realty",
                b"--password-stdin",
                b"--reason",
                b"Other",
                b"--comment",
                b"\xff\xfe too expensive",
            ],
            "--comment",
        ),
        (
            [
                b"team",
                b"add",
                b"--email",
                OWNER.encode(),
                b"--password-stdin",
                b"--member",
                b"a@b.example",
                b"--name",
                b"Ren\xe9",
                b"--role",
                b"team-player",
            ],
            "--name",
        ),
        ([b"team", b"list", b"--email", b"dana\xff@acme-realty.example"], "--email"),
    ]
    for argv, option in cases:
        proc = _run_bytes(argv, env, b"demo-owner\n")
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.decode() == f"crm-tui: {option} is not valid text (UTF-8); nothing was done\n"
        assert proc.stdout == b""
    assert dump_database(fresh_demo) == before
    for locale in ("C.UTF-8", "C"):  # strict decoding, and the C locale's surrogate escapes
        proc = _run_bytes(
            [b"team", b"list", b"--email", OWNER.encode(), b"--password-stdin"],
            {**env, "LC_ALL": locale},
            b"demo-\xffowner\n",
        )
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr.decode() == "crm-tui: the password on standard input is not valid text (UTF-8)\n"
    assert dump_database(fresh_demo) == before  # not even a failed attempt counted


def test_a_survey_comment_that_is_not_text_refuses_the_close(cli, demo_url, fresh_demo):
    """Called in-process with the lone surrogate Python makes of a byte that is not UTF-8."""
    before = dump_database(fresh_demo)
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
            "Other",
            "--comment",
            "caf\udce9",
        ],
        stdin="demo-owner\n",
    )
    assert code == 2 and "--comment is not valid text" in one_line(err)
    assert dump_database(fresh_demo) == before
    from crm_tui.services import survey
    from crm_tui.services.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not valid text"):
        survey.checked("Other", "caf\udce9")


def test_a_database_url_naming_no_file_is_refused_and_nothing_is_made(cli, tmp_path, monkeypatch):
    path = tmp_path / "typo" / "crm.sqlite3"
    url = f"sqlite:///{path}"
    for argv in (
        ["admin", "closed"],
        ["team", "list", "--email", OWNER],
        ["login", "--email", OWNER, "--password-stdin"],
    ):
        code, out, err = cli([*argv, "--database-url", url], stdin="demo-owner\n")
        assert code == 1
        assert one_line(err) == f"crm-tui: there is no database at {path}; pass --create to make a new one there"
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", url)
    code, out, err = cli(["admin", "closed"])
    assert code == 1 and str(path) in one_line(err)
    assert not (tmp_path / "typo").exists()
    code, out, err = cli(["admin", "closed", "--create"])
    assert (code, out) == (0, "No closed accounts.\n"), err
    assert path.exists()


def test_an_empty_file_gets_no_schema_written_into_it(cli, tmp_path):
    path = tmp_path / "empty.sqlite3"
    path.touch()
    code, out, err = cli(["admin", "closed", "--database-url", f"sqlite:///{path}"])
    assert code == 1
    assert one_line(err) == (
        f"crm-tui: {path} is an empty file, not a crm-tui database; pass --create to make one in it"
    )
    assert path.read_bytes() == b""
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("empty")] == ["empty.sqlite3"]


def test_the_default_database_and_demo_may_be_made_without_create(cli, tmp_path, isolated_dirs):
    from crm_tui import paths

    code, out, err = cli(["admin", "closed"])
    assert code == 0, err
    assert paths.default_database_path().exists()
    made = tmp_path / "try" / "demo.sqlite3"
    code, out, err = cli(["demo", "--contacts", "3", "--database-url", f"sqlite:///{made}"])
    assert code == 0 and "Demo accounts ready" in out, err
    assert made.exists()


def test_the_app_is_not_started_on_a_database_url_naming_nothing(cli, tmp_path, monkeypatch):
    import crm_tui.tui.launch as launch

    started: list = []
    monkeypatch.setattr(launch, "run_app", lambda url: started.append(url) or 0)
    missing = tmp_path / "nope" / "crm.sqlite3"
    code, out, err = cli(["--database-url", f"sqlite:///{missing}"])
    assert code == 1 and str(missing) in one_line(err) and "--create" in err
    assert started == [] and not missing.parent.exists()
    code, out, err = cli(["--database-url", f"sqlite:///{missing}", "--create"])
    assert code == 0 and started == [f"sqlite:///{missing}"]


def test_paths_names_the_sessions_file(cli, isolated_dirs):
    code, out, err = cli(["paths"])
    assert code == 0
    assert f"sessions:  {isolated_dirs / 'config' / 'crm-tui' / 'sessions.json'}\n" in out
