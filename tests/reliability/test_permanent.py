"""Permanent means permanent: after closing, none of the account's strings is on disk.

The raw bytes of the database file, its -wal and -shm, and the backup file (without its key)
are searched for every personal string of the closed account that appears nowhere else in
the database. After purge: no file, no key, and restore refuses.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text

from . import harness as h
from . import permanent as p


def _open(place: h.Place, *, secure_delete_off_file: bool = False):
    from crm_tui import db

    h.use(place)
    place.root.mkdir(parents=True, exist_ok=True)
    if secure_delete_off_file:
        p.create_with_secure_delete_off(place.db)
    h.build_demo(place, contacts=40)
    p.add_markers(place)
    return db.get_engine(place.url)


def _busy_pool(engine, n: int = 3) -> list:
    """Several pooled connections, as the app holds them (workers in threads), left open."""
    conns = []
    lock = threading.Lock()

    def use():
        c = engine.connect()
        c.execute(text("SELECT count(*) FROM contact")).scalar()
        c.commit()
        with lock:
            conns.append(c)

    threads = [threading.Thread(target=use) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return conns


def _close_acme(engine) -> None:
    from crm_tui.services import closing, survey

    who = h.sign_in(engine, h.OWNER)
    receipt = closing.close_account(engine, who, "Acme Realty", h.PASSWORDS[h.OWNER])
    survey.submit(
        engine,
        "Too expensive",
        "Great tool, just too pricey for a team our size",
        plan_code=receipt.plan_code,
        tenure_months=receipt.tenure_months,
        team_size=receipt.team_size,
    )


@pytest.mark.parametrize("origin", ["made by crm-tui", "made with secure_delete off", "small batches"])
def test_closing_leaves_no_personal_string_on_disk(tmp_path: Path, origin: str, monkeypatch) -> None:
    from crm_tui.services import closing
    from crm_tui.services.errors import RestoreRefused

    if origin == "small batches":
        # the rows deleted in many short transactions (phase (d)): every batch's pages and WAL
        # frames must lose the names too
        monkeypatch.setattr(closing, "DELETE_BATCHES", closing.Batches.fixed(5))
    place = h.Place(tmp_path / "db")
    engine = _open(place, secure_delete_off_file=origin == "made with secure_delete off")
    strings = p.unique_strings(place.db)
    assert len(strings) > 150  # emails, phones, names, notes, template and message bodies
    assert p.leaks(strings, p.files_of(place.db))  # they are on disk before closing

    held = _busy_pool(engine)
    with engine.connect() as c:
        version = c.exec_driver_sql("PRAGMA schema_version").scalar()
    _close_acme(engine)
    with engine.connect() as c:  # the close changes rows only, never the schema
        assert c.exec_driver_sql("PRAGMA schema_version").scalar() == version
    # The app's own connections stay open (and idle) while the files are searched.
    found = p.leaks(strings, p.files_of(place.db))
    assert found == {}, {f: s[:5] for f, s in found.items()}
    backup_files = place.files()
    assert len(backup_files) == 1
    assert p.leaks(strings, backup_files) == {}
    print(
        f"\n{origin}: searched {len(strings)} strings in {len(p.files_of(place.db)) + 1} files, found none",
        file=sys.stderr,
    )

    # After the 3-month window, purge destroys key and file; restore refuses.
    for c in held:
        c.close()
    h.set_clock(h.AFTER_WINDOW)
    report = closing.purge(engine)
    assert (report.purged, report.files_removed) == (1, 1)
    assert place.files() == []
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM backup_key")).scalar() == 0
    with pytest.raises(RestoreRefused, match="permanently deleted"):
        closing.restore(engine, h.OWNER)
    assert p.leaks(strings, p.files_of(place.db)) == {}


def test_the_search_finds_strings_left_by_a_delete_without_secure_delete(tmp_path: Path) -> None:
    """The control: the same close with secure_delete forced off leaves the strings in the
    file's free pages, so the search above would have seen them."""
    place = h.Place(tmp_path / "db")
    engine = _open(place)
    strings = p.unique_strings(place.db)

    @event.listens_for(engine, "connect")
    def _off(dbapi_conn, _record):
        dbapi_conn.execute("PRAGMA secure_delete = OFF")

    engine.dispose()  # new connections get the listener
    _close_acme(engine)
    found = p.leaks(strings, p.files_of(place.db))
    assert sum(len(v) for v in found.values()) > len(strings) // 2


def test_a_reader_holding_a_snapshot_during_close_does_not_keep_the_strings(tmp_path: Path) -> None:
    """A member's read transaction open across the close: once it ends, the next thing the
    app does must not leave the account's strings in the files."""
    from crm_tui.services import dashboard

    place = h.Place(tmp_path / "db")
    engine = _open(place)
    strings = p.unique_strings(place.db)
    reader = engine.connect()
    reader.exec_driver_sql("SELECT count(*) FROM contact").scalar()  # BEGIN: a read snapshot

    done = threading.Event()

    def end_reader_soon():
        done.wait(0.5)
        reader.rollback()
        reader.close()

    t = threading.Thread(target=end_reader_soon)
    t.start()
    try:
        _close_acme(engine)
    finally:
        done.set()
        t.join()
    # Another member's session keeps using the app.
    dashboard.dashboard(engine, h.sign_in(engine, h.OTHER_OWNER))
    found = p.leaks(strings, p.files_of(place.db))
    assert found == {}, {f: s[:5] for f, s in found.items()}
