"""``crm-tui serve`` for a team, through the real OpenSSH client: who a session is, the PTY
(size, resize, hang-up), the child's environment, SFTP, the host key and the log."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from .kit import (
    SSH_OPTIONS,
    Served,
    environ_of,
    group_members,
    process_state,
    start_server,
    wait_until,
)
from .seed import OWNER, PLAYER, Team, public_line, seed_team

DAY = 24 * 3600


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> Team:
    return seed_team(tmp_path_factory.mktemp("team-db"))


@pytest.fixture(scope="module")
def served(team: Team, tmp_path_factory):
    home = tmp_path_factory.mktemp("team-home")
    exports = home / "data" / "crm-tui" / "served-exports"
    dana = exports / str(team.members[OWNER])
    dana.mkdir(parents=True)
    old = dana / "export-old.zip"  # older than 7 days: removed when the server starts
    old.write_bytes(b"old")
    os.utime(old, (time.time() - 8 * DAY, time.time() - 8 * DAY))
    server = start_server(home, "--database-url", team.url, "--per-ip-limit", "100")
    yield server
    server.stop()


def dashboard_of(initials: str):
    return lambda term: term.screen.display[0].rstrip().endswith(f"{initials} ▾")


def test_a_members_key_opens_their_dashboard(served: Served, team: Team, terminals):
    mark = len(served.log())
    term = terminals(served, team.keys["dana"])
    # the dashboard, painted whole, and nothing was typed to get there
    term.wait_for(lambda: dashboard_of("DW")(term) and "Password" not in term.text())
    assert term.screen.display[0].startswith(" Acme Realty")
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", str(team.keys["dana"].with_suffix(".pub"))], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    line = served.wait_log(r"session from=.*", after=mark).group(0)
    assert f"key={fingerprint}" in line and f"member={team.members[OWNER]}" in line and "size=80x24" in line


def test_an_rsa_key_is_recognised_too(served: Served, team: Team, terminals):
    term = terminals(served, team.keys["marcus_rsa"])
    term.wait_for(lambda: dashboard_of("ML")(term) and "Password" not in term.text())


def test_an_unknown_key_gets_the_sign_in_screen(served: Served, team: Team, terminals):
    mark = len(served.log())
    term = terminals(served, team.keys["stranger"])
    term.wait_for("Password")
    assert "sign in" in term.text()
    line = served.wait_log(r"session from=.*", after=mark).group(0)
    assert "member=- " in line and "key=SHA256:" in line  # the key is named, it is no one's


def test_a_client_without_a_key_gets_the_sign_in_screen(served: Served, terminals):
    mark = len(served.log())
    term = terminals(served, None)
    term.wait_for("Password")
    assert "key=- member=- " in served.wait_log(r"session from=.*", after=mark).group(0)


def test_keys_typed_while_the_app_starts_reach_it_and_a_password_is_never_shown(served: Served, terminals):
    term = terminals(served, None)
    # as soon as the client is in its session (its own terminal raw: no local echo), well
    # before the app has drawn anything
    assert term.child.waitnoecho(timeout=10)
    term.send("dana@acme-realty.example\r", "demo-owner\r")
    shown: list[str] = []

    def signed_in() -> bool:
        shown.append(term.text())
        return dashboard_of("DW")(term)

    term.wait_for(signed_in)
    # the password is on the screen only where the demo's sign-in screen lists it, with its user
    echoed = [
        line
        for screen in shown
        for line in screen.splitlines()
        if "demo-owner" in line and not re.search(r"dana@acme-realty\.example\s+demo-owner\s+owner", line)
    ]
    assert not echoed
    assert b"demo-owner\r\n" not in term.received  # what a terminal's echo of it would be
    served.wait_log(r"session from=.* key=- member=- ")
    assert "demo-owner" not in served.log()  # nor is it in the log


def test_the_log_names_keys_by_fingerprint_only(served: Served, team: Team, terminals):
    term = terminals(served, team.keys["priya"])
    term.wait_for(lambda: dashboard_of("PS")(term))
    log = served.log()
    assert "key=SHA256:" in log
    for key in team.keys.values():
        blob = public_line(key).split()[1]
        assert blob[:40] not in log and blob[-40:] not in log


def test_the_session_is_the_key_that_signed_not_a_key_only_offered(served: Served, team: Team, terminals, tmp_path):
    """Dana's locked key is offered first (the server accepts it: its owner is a member) but the
    client cannot sign with it; Priya's key then signs: the session is Priya's."""
    debug = tmp_path / "ssh-debug.log"
    options = ("-o", "BatchMode=yes", "-i", str(team.keys["priya"]), "-v", "-E", str(debug))
    mark = len(served.log())
    term = terminals(served, team.keys["dana_locked"], options=options)
    term.wait_for(lambda: dashboard_of("PS")(term))
    client = debug.read_text()
    assert re.search(r"Server accepts key: .*dana_locked", client), client
    assert re.search(r"Authenticated to 127\.0\.0\.1 .* using \"publickey\"", client), client
    line = served.wait_log(r"session from=.*", after=mark).group(0)
    assert f"member={team.members[PLAYER]}" in line


def test_resizing_the_window_reflows_the_app(served: Served, team: Team, terminals):
    term = terminals(served, team.keys["marcus"])
    term.wait_for(lambda: dashboard_of("ML")(term))
    assert len(term.screen.display[0].rstrip()) <= 80
    term.resize(120, 40)
    # the header's menu moves to the new right edge, the footer to the new last row
    term.wait_for(
        lambda: term.screen.display[0].rstrip().endswith("ML ▾") and len(term.screen.display[0].rstrip()) > 100
    )
    term.wait_for(lambda: "palette" in term.screen.display[39])
    term.resize(80, 24)
    term.wait_for(lambda: dashboard_of("ML")(term) and len(term.screen.display[0].rstrip()) <= 80)


def test_the_apps_environment_is_the_whitelist_and_a_hang_up_ends_it(served: Served, team: Team, terminals):
    mark = len(served.log())
    term = terminals(
        served,
        team.keys["dana"],
        options=("-o", "SendEnv=FOO", "-o", "SendEnv=LANG", "-o", "SendEnv=LC_TIME", "-o", "SetEnv=BAR=set-by-client"),
        env={"FOO": "from-the-client", "LANG": "C.UTF-8", "LC_TIME": "C.UTF-8"},
    )
    term.wait_for(lambda: dashboard_of("DW")(term))
    pid = served.session_pid(after=mark)
    env = environ_of(pid)
    assert "FOO" not in env and "BAR" not in env  # sent, and not passed on
    assert env["LANG"] == "C.UTF-8" and env["LC_TIME"] == "C.UTF-8"  # the locale is
    assert env["TERM"] == "xterm-256color"
    assert env["CRM_TUI_DATABASE_URL"] == team.url
    assert env["CRM_TUI_SERVE_MEMBER_ID"] == str(team.members[OWNER])
    assert env["CRM_TUI_SERVE_KEY"] == public_line(team.keys["dana"])
    assert env["CRM_TUI_SERVE_EXPORTS"] == str(served.data / "served-exports")
    assert env["CRM_TUI_SERVE_HOST"] == "127.0.0.1" and env["CRM_TUI_SERVE_PORT"] == str(served.port)
    assert env["CRM_TUI_SERVE_DEMO"] == ""
    assert not [name for name in env if name.startswith("SSH_")]
    assert set(env) <= {
        "TERM", "LANG", "LC_TIME", "PATH", "HOME", "TZ", "PYTHONPATH",
        "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "CRM_TUI_BACKUP_DIR",
        "CRM_TUI_DATABASE_URL", "CRM_TUI_SERVE_MEMBER_ID", "CRM_TUI_SERVE_KEY", "CRM_TUI_SERVE_EXPORTS",
        "CRM_TUI_SERVE_HOST", "CRM_TUI_SERVE_PORT", "CRM_TUI_SERVE_DEMO",
    }  # fmt: skip
    # its own session, on the PTY as its controlling terminal
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert int(fields[3]) == pid and int(fields[2]) == pid  # session and group leader
    assert os.readlink(f"/proc/{pid}/fd/0").startswith("/dev/pts/") and int(fields[4]) != 0  # tty_nr

    # the client goes away: the app is hung up, killed if need be, and reaped within 5 s
    term.child.kill(9)
    started = time.monotonic()
    wait_until(lambda: process_state(pid) is None, 5, f"pid {pid} to be gone (state {process_state(pid)})")
    assert not group_members(pid)  # nothing of its group is left either
    assert time.monotonic() - started < 5
    line = served.wait_log(rf"session-end from=.* pid={pid} .*", after=mark).group(0)
    assert "end=" in line and "duration=" in line


def test_a_session_without_a_terminal_or_with_a_command_gets_one_line(served: Served, team: Team):
    def ssh(tty: str, *command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ssh", tty, *SSH_OPTIONS, "-o", "IdentitiesOnly=yes", "-i", str(team.keys["dana"]),
             "-p", str(served.port), "127.0.0.1", *command],
            capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    no_terminal = ssh("-T")
    assert no_terminal.returncode == 1
    assert no_terminal.stdout.strip() == "crm-tui: a terminal is required; connect with ssh -t."
    command = ssh("-tt", "cat", "/etc/passwd")
    assert command.returncode == 1
    assert command.stdout.strip() == "crm-tui: this server runs the app only; connect without a command."


def sftp(served: Served, key: Path | None, commands: str, cwd: Path) -> subprocess.CompletedProcess:
    batch = cwd / "batch"
    batch.write_text(commands)
    identity = ["-o", "IdentitiesOnly=yes", "-i", str(key)] if key else ["-o", "PubkeyAuthentication=no"]
    return subprocess.run(
        ["sftp", *SSH_OPTIONS, *identity, "-P", str(served.port), "-b", str(batch), "127.0.0.1"],
        capture_output=True, text=True, timeout=30, cwd=cwd, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_sftp_shows_a_member_only_their_own_exports_read_only(served: Served, team: Team, tmp_path: Path):
    exports = served.data / "served-exports"
    dana, priya = exports / str(team.members[OWNER]), exports / str(team.members[PLAYER])
    priya.mkdir(exist_ok=True)
    (dana / "acme-export.zip").write_bytes(b"dana's export")
    (priya / "priya-export.zip").write_bytes(b"priya's export")
    (exports.parent / "outside.txt").write_text("not an export")
    (dana / "escape").symlink_to("/etc/passwd")
    (dana / "to-priya").symlink_to(priya, target_is_directory=True)
    local = tmp_path / "here"
    local.mkdir()
    (local / "upload.txt").write_text("from the client")
    before = sorted(p.name for p in dana.iterdir())

    assert not (dana / "export-old.zip").exists()  # removed when the server started: 8 days old

    commands = "\n".join(
        [
            "ls -1",
            "get acme-export.zip",
            f"-get ../{team.members[PLAYER]}/priya-export.zip",
            "-get ../outside.txt",
            "-get /etc/passwd",
            "-get escape",
            "-ls to-priya",
            "-get to-priya/priya-export.zip",
            "-put upload.txt",
            "-rm acme-export.zip",
            "-rename acme-export.zip renamed.zip",
            "-mkdir new-folder",
            "-chmod 777 acme-export.zip",
            "-symlink acme-export.zip link",
        ]
    )
    result = sftp(served, team.keys["dana"], commands + "\n", local)
    assert result.returncode == 0, result.stderr + served.log()
    listing = result.stdout.split("sftp> ls -1", 1)[1].split("sftp>", 1)[0].split()
    assert listing == ["acme-export.zip"]  # the symbolic links are not even listed
    assert (local / "acme-export.zip").read_bytes() == b"dana's export"
    assert sorted(p.name for p in local.iterdir()) == ["acme-export.zip", "batch", "upload.txt"]
    assert sorted(p.name for p in dana.iterdir()) == before  # nothing written, removed or renamed
    assert stat.S_IMODE((dana / "acme-export.zip").stat().st_mode) != 0o777
    assert (dana / "acme-export.zip").read_bytes() == b"dana's export"
    assert "Permission denied" in result.stderr


def test_sftp_is_refused_without_a_members_key(served: Served, team: Team, tmp_path: Path):
    unknown = sftp(served, team.keys["stranger"], "ls\n", tmp_path)
    assert unknown.returncode != 0
    assert "this key is not linked to a member: there are no exports to fetch" in unknown.stderr
    keyless = sftp(served, None, "ls\n", tmp_path)  # sftp -b is batch mode: no keyboard-interactive either
    assert keyless.returncode != 0 and not keyless.stdout.strip()


def test_the_host_key_is_made_once_private_and_its_fingerprint_printed(served: Served):
    key = served.data / "ssh_host_ed25519_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    printed = re.search(r"host key: (SHA256:\S+)", served.out.read_text()).group(1)
    fingerprint = subprocess.run(
        ["ssh-keygen", "-lf", str(key)], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    assert printed == fingerprint
