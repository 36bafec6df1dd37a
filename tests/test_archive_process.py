"""The archive is library code: exporting, closing (the backup) and restoring, on either
implementation of its database interface, change nothing process-wide (the garbage collector,
the thread switch interval), since the app runs them in a worker thread beside the UI and a
server process runs several sessions. Only the command line's own one-shot process tunes
itself, around a command that is not the app."""

from __future__ import annotations

import gc
import sys

from conftest import OWNER, PASSWORDS, sign_in


def _process_state() -> tuple:
    return gc.isenabled(), gc.get_threshold(), sys.getswitchinterval()


def test_export_close_and_restore_leave_the_process_as_they_found_it(
    archive_database, fresh_demo, isolated_dirs, tmp_path, monkeypatch
):
    from crm_tui import db
    from crm_tui.services import closing, export

    calls: list = []
    for name in ("disable", "enable", "freeze", "set_threshold"):
        monkeypatch.setattr(gc, name, lambda *a, name=name: calls.append(f"gc.{name}"))
    monkeypatch.setattr(sys, "setswitchinterval", lambda *a: calls.append("sys.setswitchinterval"))
    before = _process_state()
    seen = set()

    def watch(done: int, total: int) -> None:
        seen.add(_process_state())

    result = export.export_account(fresh_demo, sign_in(fresh_demo, OWNER), out_dir=tmp_path, progress=watch)
    fresh = db.get_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    export.restore_from_archive(fresh, result.path, progress=watch)
    closing.close_account(fresh_demo, sign_in(fresh_demo, OWNER), "Acme Realty", PASSWORDS[OWNER])
    closing.restore(fresh_demo, OWNER)
    assert calls == [] and seen == {before} and _process_state() == before


def test_the_command_line_tunes_its_own_process_only_around_a_command():
    from crm_tui import cli

    before = _process_state()
    with cli.one_shot_command_tuning(True):
        assert not gc.isenabled() and sys.getswitchinterval() == cli.ONE_SHOT_SWITCH_INTERVAL
    assert _process_state() == before
    with cli.one_shot_command_tuning(False):  # the app: nothing changes
        assert _process_state() == before
    assert cli.main(["paths"]) == 0 and _process_state() == before
