"""Authorization through the command line: every action × every role × own/other account.

Only the combinations of the product's role table succeed (exit 0). A refused one exits 1 with
one line on stderr and leaves every row of the database as it was. The CLI's own entry point
(``crm_tui.cli.main``, what the ``crm-tui`` script runs) is called in-process for speed; one
case also runs the installed script.

Each case authenticates as a user would: with the password (``--password-stdin``), and, for
the commands that are not destructive, again with a ``crm-tui login`` session instead. A
session of one member never acts as another, and never stands in for the password of a
destructive step.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import harness as h

ROLES = {"owner": h.OWNER, "administrator": h.ADMIN, "team player": h.PLAYER}
ACME, BIRCH = "Acme Realty", "Birch & Co Bookkeeping"
BIRCH_OWNER = h.OTHER_OWNER

# action: (arguments on the own account, arguments aimed at the other account or None,
#          roles allowed, whether success changes the database, destructive: asks for the
#          password whatever the session)
ACTIONS = {
    "account impact": (["account", "impact"], None, {"owner"}, False, False),
    "account close": (
        ["account", "close", "--confirm", ACME],
        ["account", "close", "--confirm", BIRCH],
        {"owner"},
        True,
        True,
    ),
    "account export": (["account", "export", "--out", "{out}"], None, {"owner", "administrator"}, True, True),
    "contacts export": (
        ["contacts", "export", "--all", "--format", "vcf", "--out", "{out}"],
        None,
        {"owner", "administrator"},
        True,
        True,
    ),
    "team list": (["team", "list"], None, {"owner", "administrator", "team player"}, False, False),
    "team add": (
        ["team", "add", "--member", "new.person@acme-realty.example", "--name", "New Person", "--role", "team-player"],
        ["team", "add", "--member", BIRCH_OWNER, "--name", "Sam", "--role", "team-player"],
        {"owner", "administrator"},
        True,
        False,
    ),
    "team remove": (
        ["team", "remove", "--member", "{peer}"],
        ["team", "remove", "--member", BIRCH_OWNER],
        {"owner", "administrator"},
        True,
        False,
    ),
    "team transfer": (
        ["team", "transfer", "--to", "{peer}"],
        ["team", "transfer", "--to", BIRCH_OWNER],
        {"owner"},
        True,
        True,
    ),
    "team leave": (["team", "leave"], None, {"administrator", "team player"}, True, True),
    "messages show": (["messages", "show"], None, {"owner", "administrator"}, False, False),
    "messages cancel": (["messages", "cancel"], None, {"owner"}, True, True),
    "billing show": (["billing", "show"], None, {"owner"}, False, False),
    "billing plan": (["billing", "plan", "--plan", "starter"], None, {"owner"}, True, False),
}


def _peer(role: str) -> str:
    """Someone in the same account the actor may act on (never themselves)."""
    return h.PLAYER if role != "team player" else h.ADMIN


def _cases():
    for action, (own, other, allowed, _mut, destructive) in ACTIONS.items():
        for auth in ("password",) if destructive else ("password", "session"):
            for role in ROLES:
                yield pytest.param(action, role, "own", auth, role in allowed, id=f"{action}-{role}-own-{auth}")
                if other is not None:
                    yield pytest.param(action, role, "other", auth, False, id=f"{action}-{role}-other-{auth}")
            # The owner of the other account, aimed at this one.
            if own and any(a in ("{peer}",) for a in own):
                yield pytest.param(action, "other owner", "own", auth, False, id=f"{action}-other-owner-on-acme-{auth}")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> h.Place:
    saved = dict(os.environ)
    place = h.Place(tmp_path_factory.mktemp("authz") / "template")
    h.build_demo(place, contacts=20)
    os.environ.clear()
    os.environ.update(saved)
    return place


def run_cli(argv: list[str], password: str | None, capsys, monkeypatch) -> tuple[int, str, str]:
    from crm_tui import cli

    monkeypatch.setattr(sys, "stdin", io.StringIO((password or "") + "\n"))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def login(place: h.Place, email: str, capsys, monkeypatch) -> None:
    code, _out, err = run_cli(
        ["login", "--database-url", place.url, "--email", email, "--password-stdin"],
        h.PASSWORDS[email],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    h.forget_engines()


def _argv(action: str, role: str, scope: str, out_dir: Path, email: str, place: h.Place) -> list[str]:
    own, other, *_ = ACTIONS[action]
    args = own if scope == "own" else other
    peer = h.PLAYER if role == "other owner" else _peer(role)
    args = [a.format(out=out_dir, peer=peer) for a in args]
    return [*args[:2], "--database-url", place.url, "--email", email, *args[2:]]


def assert_refused_and_unchanged(code, out, err, before, place, out_dir) -> None:
    h.forget_engines()
    after = h.dump(place.db)
    assert code == 1, (code, out, err)
    assert err.startswith("crm-tui: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert after == before, h.diff_tables(after, before)
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize("action,role,scope,auth,allowed", list(_cases()))
def test_cli_action_by_role(action, role, scope, auth, allowed, template, tmp_path, capsys, monkeypatch) -> None:
    _own, _other, _allowed, mutates, _destructive = ACTIONS[action]
    place = h.copy_place(template, h.Place(tmp_path / "db"))
    h.use(place)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    email = BIRCH_OWNER if role == "other owner" else ROLES[role]
    argv = _argv(action, role, scope, out_dir, email, place)
    if auth == "password":
        argv.append("--password-stdin")
    else:
        login(place, email, capsys, monkeypatch)
    before = h.dump(place.db)

    code, out, err = run_cli(argv, h.PASSWORDS[email] if auth == "password" else None, capsys, monkeypatch)
    h.forget_engines()
    after = h.dump(place.db)

    if allowed:
        assert code == 0, err
        assert err == ""
        if mutates:
            assert after != before
        else:
            assert after == before
    else:
        assert_refused_and_unchanged(code, out, err, before, place, out_dir)


def _session_cases():
    for action, (_own, _other, allowed, _mut, _destructive) in ACTIONS.items():
        for role in ROLES:
            if role in allowed:
                yield pytest.param(action, role, id=f"{action}-{role}")


@pytest.mark.parametrize("action,role", list(_session_cases()))
def test_a_session_of_one_member_never_acts_as_another(action, role, template, tmp_path, capsys, monkeypatch) -> None:
    """The team player (and, for the player's own actions, the administrator) signed in with
    ``crm-tui login`` names a member who could do it: refused, nothing changes. With that
    member's own email but no password, a destructive step is refused as well."""
    place = h.copy_place(template, h.Place(tmp_path / "db"))
    h.set_env(place.env())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    signed_in = h.PLAYER if role != "team player" else h.ADMIN
    login(place, signed_in, capsys, monkeypatch)
    before = h.dump(place.db)
    argv = _argv(action, role, "own", out_dir, ROLES[role], place)
    code, out, err = run_cli(argv, None, capsys, monkeypatch)
    assert_refused_and_unchanged(code, out, err, before, place, out_dir)
    assert f"not signed in as {ROLES[role]}" in err or "needs the password" in err, err


@pytest.mark.parametrize("action", [a for a, spec in ACTIONS.items() if spec[4]])
def test_a_session_does_not_stand_in_for_the_password_of_a_destructive_step(
    action, template, tmp_path, capsys, monkeypatch
) -> None:
    place = h.copy_place(template, h.Place(tmp_path / "db"))
    h.set_env(place.env())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    role = "administrator" if action == "team leave" else "owner"
    login(place, ROLES[role], capsys, monkeypatch)
    before = h.dump(place.db)
    code, out, err = run_cli(_argv(action, role, "own", out_dir, ROLES[role], place), None, capsys, monkeypatch)
    assert_refused_and_unchanged(code, out, err, before, place, out_dir)
    assert "this step needs the password" in err


def test_the_installed_script_refuses_in_one_line(template, tmp_path) -> None:
    place = h.copy_place(template, h.Place(tmp_path / "db"))
    before = h.dump(place.db)
    script = Path(sys.executable).with_name("crm-tui")
    env = {**os.environ, **place.env()}
    argv = [str(script), "team", "remove", "--email", h.PLAYER, "--member", h.ADMIN]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1
    assert proc.stderr == (
        f"crm-tui: not signed in as {h.PLAYER}: run 'crm-tui login --email {h.PLAYER}' "
        "first, or pass --password-stdin\n"
    )
    proc = subprocess.run(
        [*argv, "--password-stdin"],
        input=h.PASSWORDS[h.PLAYER] + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stderr == "crm-tui: only the owner or an administrator can remove team members\n"
    assert h.dump(place.db) == before
