"""The close in phases: (a) marked closing, (b) backed up from one snapshot, (c) recorded as
closed, (d) rows deleted in batches. A failure at each boundary, and what the next start of a
process (:func:`closing.resume`) or a restore makes of it. On both backends."""

from __future__ import annotations

import pytest
from conftest import OWNER, PASSWORDS, PLAYER
from sqlalchemy import text
from test_close_deletes import ACME, counts

FINISHED = "Acme Realty (account {}): finished deleting the rows of its close"
UNDONE = "Acme Realty (account {}): an unfinished close was undone; the account is open again"


class Crash(Exception):
    pass


def _status(engine, account_id: int):
    with engine.connect() as conn:
        return conn.execute(text("SELECT status FROM account WHERE id = :a"), {"a": account_id}).scalar()


def _left(engine, account_id: int) -> int:
    from crm_tui.models import ACCOUNT_TABLES

    with engine.connect() as conn:
        return sum(
            conn.execute(
                text(f'SELECT count(*) FROM "{m.__tablename__}" WHERE account_id = :a'), {"a": account_id}
            ).scalar()
            for m in ACCOUNT_TABLES
        )


def _others(engine, account_id: int) -> dict[str, int]:
    """The rows of every other account, by table."""
    from crm_tui.models import ACCOUNT_TABLES

    with engine.connect() as conn:
        return {
            m.__tablename__: conn.execute(
                text(f'SELECT count(*) FROM "{m.__tablename__}" WHERE account_id != :a'), {"a": account_id}
            ).scalar()
            for m in ACCOUNT_TABLES
        }


def _fail_at(monkeypatch, boundary: str) -> None:
    from crm_tui.services import closing

    def hook(at: str) -> None:
        if at == boundary:
            raise Crash(at)

    monkeypatch.setattr(closing, "_phase_hook", hook)


@pytest.mark.parametrize("boundary", ["marked", "backed_up"])
def test_a_failure_before_the_close_is_recorded_leaves_the_account_as_it_was(
    fresh_demo, monkeypatch, tmp_path, boundary
):
    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    who = auth.as_member(fresh_demo, OWNER)
    before = counts(fresh_demo)
    _fail_at(monkeypatch, boundary)
    with pytest.raises(Crash):
        closing.close_account(fresh_demo, who, ACME, PASSWORDS[OWNER])
    assert counts(fresh_demo) == before  # no backup row, no tombstone, every row there
    assert _status(fresh_demo, who.account_id) == "active"
    assert auth.sign_in(fresh_demo, PLAYER, PASSWORDS[PLAYER]).account_name == ACME
    assert not [p for p in (tmp_path / "backups").rglob("*") if p.is_file() and p.name != "owner"]
    assert closing.resume(fresh_demo) == []


@pytest.mark.parametrize("boundary", ["recorded", "batch"])
def test_a_failure_while_deleting_is_finished_by_the_next_start(fresh_demo, monkeypatch, tmp_path, boundary):
    from crm_tui.services import auth, closing
    from crm_tui.services.errors import AccountClosed

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(5))
    who = auth.as_member(fresh_demo, OWNER)
    total = _left(fresh_demo, who.account_id)
    _fail_at(monkeypatch, boundary)
    with pytest.raises(Crash):
        closing.close_account(fresh_demo, who, ACME, PASSWORDS[OWNER])
    # closed and restorable from (c) on, its rows not (all) deleted yet
    assert _status(fresh_demo, who.account_id) == "closed"
    left = _left(fresh_demo, who.account_id)
    assert 0 < left <= total and (boundary == "recorded") == (left == total)
    with pytest.raises(AccountClosed, match="This account was closed on"):
        auth.sign_in(fresh_demo, PLAYER, PASSWORDS[PLAYER])
    assert [c.state for c in closing.list_closed(fresh_demo)] == ["closed"]

    monkeypatch.setattr(closing, "_phase_hook", lambda at: None)
    assert closing.resume(fresh_demo) == [FINISHED.format(who.account_id)]
    assert _status(fresh_demo, who.account_id) is None
    assert _left(fresh_demo, who.account_id) == 0
    assert closing.resume(fresh_demo) == []


def test_two_deletions_of_one_interrupted_close_at_once_finish_it_together(fresh_demo, monkeypatch, tmp_path):
    """Two processes' starts finish the same interrupted close at the same moment (here two
    threads, each with its own connections; on PostgreSQL each runs its own deleters, which
    share the account's lock): the rows are all deleted, once, with no error; one of the two
    deletes the account row, the other then finds nothing left to do. The other account's rows
    are all there."""
    import threading

    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(5))
    who = auth.as_member(fresh_demo, OWNER)
    others = _others(fresh_demo, who.account_id)
    acme_rows = _left(fresh_demo, who.account_id)
    _fail_at(monkeypatch, "batch")
    with pytest.raises(Crash):
        closing.close_account(fresh_demo, who, ACME, PASSWORDS[OWNER])
    monkeypatch.setattr(closing, "_phase_hook", lambda at: None)
    assert 0 < _left(fresh_demo, who.account_id) < acme_rows
    start = threading.Barrier(2)
    outcomes: list = []

    def finish() -> None:
        start.wait(30)
        try:
            outcomes.append(closing.finish_deletion(fresh_demo, who.account_id))
        except BaseException as exc:  # reported below
            outcomes.append(exc)

    runs = [threading.Thread(target=finish) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(120)
    assert sorted(outcomes, key=repr) == [False, True], outcomes
    assert _status(fresh_demo, who.account_id) is None and _left(fresh_demo, who.account_id) == 0
    assert _others(fresh_demo, who.account_id) == others
    assert closing.resume(fresh_demo) == []


def test_restore_while_the_deletion_is_unfinished_finishes_it_then_imports(fresh_demo, monkeypatch, tmp_path):
    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(5))
    who = auth.as_member(fresh_demo, OWNER)
    before = counts(fresh_demo)
    _fail_at(monkeypatch, "batch")
    with pytest.raises(Crash):
        closing.close_account(fresh_demo, who, ACME, PASSWORDS[OWNER])
    monkeypatch.setattr(closing, "_phase_hook", lambda at: None)
    restored = closing.restore(fresh_demo, OWNER)
    assert restored.account_name == ACME
    after = counts(fresh_demo)
    assert {k: v for k, v in after.items() if k not in ("backup", "closed_account")} == {
        k: v for k, v in before.items() if k not in ("backup", "closed_account")
    }
    assert _status(fresh_demo, who.account_id) == "active"


def test_the_close_reports_its_progress_table_by_table(fresh_demo, monkeypatch, tmp_path):
    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(4))
    who = auth.as_member(fresh_demo, OWNER)
    with fresh_demo.connect() as conn:
        contacts = conn.execute(
            text("SELECT count(*) FROM contact WHERE account_id = :a"), {"a": who.account_id}
        ).scalar()
    seen: list[tuple[str, int, int]] = []
    closing.close_account(fresh_demo, who, ACME, PASSWORDS[OWNER], progress=lambda *a: seen.append(a))
    mine = [(done, total) for table, done, total in seen if table == "contact"]
    assert mine[0] == (0, contacts) and mine[-1] == (contacts, contacts)
    assert [d for d, _ in mine] == sorted(d for d, _ in mine) and len(mine) > 2
    assert [t for t, _, _ in seen].index("contact") > [t for t, _, _ in seen].index("todo")  # children first


def test_admin_resume_finishes_an_interrupted_deletion_and_says_so(fresh_demo, monkeypatch, tmp_path, capsys):
    from crm_tui import cli
    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setenv("CRM_TUI_DATABASE_URL", fresh_demo.url.render_as_string(hide_password=False))
    monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(5))
    who = auth.as_member(fresh_demo, OWNER)
    _fail_at(monkeypatch, "batch")
    with pytest.raises(Crash):
        closing.close_account(fresh_demo, who, ACME, PASSWORDS[OWNER])
    monkeypatch.setattr(closing, "_phase_hook", lambda at: None)
    capsys.readouterr()
    assert cli.main(["admin", "resume"]) == 0
    assert capsys.readouterr().out == FINISHED.format(who.account_id) + ".\n"
    assert _left(fresh_demo, who.account_id) == 0
    assert cli.main(["admin", "resume"]) == 0
    assert capsys.readouterr().out == "No interrupted close to resume.\n"


def test_from_the_mark_on_members_are_signed_out_and_cannot_sign_in(fresh_demo, monkeypatch, tmp_path):
    from crm_tui.services import auth, closing, profile
    from crm_tui.services.errors import AccountClosed, AccountIsClosed, AuthenticationFailed

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    who = auth.as_member(fresh_demo, OWNER)
    player = auth.sign_in(fresh_demo, PLAYER, PASSWORDS[PLAYER])
    assert auth.session_problem(fresh_demo, player) is None
    seen: dict[str, object] = {}

    def at_boundary(at: str) -> None:
        if at != "marked":
            return
        seen["session"] = auth.session_problem(fresh_demo, player)
        with pytest.raises(AccountClosed) as refused:
            auth.sign_in(fresh_demo, PLAYER, PASSWORDS[PLAYER])
        seen["sign-in"] = str(refused.value)
        with pytest.raises(AuthenticationFailed) as wrong:  # a wrong password learns nothing
            auth.sign_in(fresh_demo, PLAYER, "not-the-password")
        seen["wrong"] = str(wrong.value)
        with pytest.raises(AccountIsClosed):
            profile.set_time_zone(fresh_demo, player, "Europe/Paris")

    monkeypatch.setattr(closing, "_phase_hook", at_boundary)
    closing.close_account(fresh_demo, who, ACME, PASSWORDS[OWNER])
    assert seen == {
        "session": "This account is being closed by its owner. Your access has ended.",
        "sign-in": "This account is being closed by its owner. Signing in is no longer possible.",
        "wrong": "wrong email or password",
    }
    assert (
        auth.session_problem(fresh_demo, player) == "This account has been closed by its owner. Your access has ended."
    )


@pytest.mark.parametrize("boundary", ["marked", "backed_up", "recorded", "batch"])
def test_a_close_killed_at_each_phase_boundary_is_put_right_by_the_next_start(
    fresh_demo, monkeypatch, tmp_path, boundary
):
    """A child process closing the account is SIGKILLed at a phase boundary (its connections,
    locks and lease die with it, nothing is cleaned up); the next start's resume leaves the
    account either as it was (killed before (c)) or closed with every row deleted and
    restorable to exactly what it held."""
    import os
    import signal

    from crm_tui import db
    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    url = fresh_demo.url.render_as_string(hide_password=False)
    who = auth.as_member(fresh_demo, OWNER)
    before = counts(fresh_demo)
    db.dispose_all()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: killed where the test says
        try:
            closing.DELETE_BATCHES = closing.Batches.fixed(5)
            closing._phase_hook = lambda at: os.kill(os.getpid(), signal.SIGKILL) if at == boundary else None
            child = db.get_engine(url)
            closing.close_account(child, auth.as_member(child, OWNER), ACME, PASSWORDS[OWNER])
        finally:
            os._exit(3)  # never reached when the kill landed
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    engine = db.get_engine(url)
    done = closing.resume(engine)
    if boundary in ("marked", "backed_up"):
        assert done == [UNDONE.format(who.account_id)]
        assert counts(engine) == before
        assert _status(engine, who.account_id) == "active"
        assert not [p for p in (tmp_path / "backups").rglob("*") if p.is_file() and p.name != "owner"]
        return
    assert done == [FINISHED.format(who.account_id)]
    assert _status(engine, who.account_id) is None and _left(engine, who.account_id) == 0
    restored = closing.restore(engine, OWNER)
    after = counts(engine)
    assert restored.account_name == ACME
    assert {k: v for k, v in after.items() if k not in ("backup", "closed_account")} == {
        k: v for k, v in before.items() if k not in ("backup", "closed_account")
    }


def test_a_close_killed_while_deleting_is_finished_by_the_next_command_of_any_kind(fresh_demo, monkeypatch, tmp_path):
    """SIGKILLed in phase (d), the close is finished by the next crm-tui process, whatever it
    was started for (here Birch's owner listing her team), which says so on stderr and then does
    its own work; the one after it has nothing left to do."""
    import os
    import signal
    import subprocess
    import sys

    from conftest import OTHER_OWNER

    from crm_tui import db
    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    url = fresh_demo.url.render_as_string(hide_password=False)
    acme = auth.as_member(fresh_demo, OWNER).account_id
    db.dispose_all()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: killed after its third batch
        try:
            batches = []
            closing.DELETE_BATCHES = closing.Batches.fixed(5)
            closing._phase_hook = lambda at: (
                (batches.append(at), len(batches) == 3 and os.kill(os.getpid(), signal.SIGKILL))
                if at == "batch"
                else None
            )
            child = db.get_engine(url)
            closing.close_account(child, auth.as_member(child, OWNER), ACME, PASSWORDS[OWNER])
        finally:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    engine = db.get_engine(url)
    assert _status(engine, acme) == "closed" and _left(engine, acme) > 0

    def team_list() -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "crm_tui", "team", "list", "--email", OTHER_OWNER, "--password-stdin",
             "--database-url", url],
            input=PASSWORDS[OTHER_OWNER] + "\n", capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    first = team_list()
    assert first.returncode == 0, first.stderr
    assert first.stderr == "crm-tui: " + FINISHED.format(acme) + "\n"
    assert OTHER_OWNER in first.stdout
    assert _status(engine, acme) is None and _left(engine, acme) == 0
    second = team_list()
    assert second.returncode == 0 and second.stderr == "" and second.stdout == first.stdout
    assert closing.restore(engine, OWNER).account_name == ACME


def test_resume_leaves_a_close_whose_closer_is_still_deleting_alone(fresh_demo, monkeypatch, tmp_path):
    """While the closer is in phase (d) (its lease held), another process's start does not join
    in: resume does nothing, and the closer finishes the deletion itself."""
    import threading

    from crm_tui.services import auth, closing

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(5))
    who = auth.as_member(fresh_demo, OWNER)
    deleting, go = threading.Event(), threading.Event()

    def hook(at: str) -> None:
        if at == "batch" and not deleting.is_set():
            deleting.set()
            assert go.wait(60)

    monkeypatch.setattr(closing, "_phase_hook", hook)
    outcome: list = []
    closer = threading.Thread(
        target=lambda: outcome.append(closing.close_account(fresh_demo, who, ACME, PASSWORDS[OWNER]))
    )
    closer.start()
    try:
        assert deleting.wait(60)
        left = _left(fresh_demo, who.account_id)
        assert _status(fresh_demo, who.account_id) == "closed" and left > 0
        assert closing.resume(fresh_demo) == []
        assert _left(fresh_demo, who.account_id) == left  # not one more row deleted by resume
    finally:
        go.set()
        closer.join(60)
    assert outcome and outcome[0].account_name == ACME
    assert _status(fresh_demo, who.account_id) is None and _left(fresh_demo, who.account_id) == 0
    assert closing.resume(fresh_demo) == []
