"""The encrypted backup written at closing: every damaged backup is refused with one line and
changes nothing; it holds none of the account's text in clear. On SQLite the backup is a file;
on PostgreSQL it is the ``backup_chunk`` rows (:class:`Stored` reads and damages either)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from conftest import OWNER, PASSWORDS, sign_in
from sqlalchemy import select, text


class Stored:
    """The encrypted bytes of a backup, wherever they are kept, read and written as a file's."""

    def __init__(self, engine, backup_id: int, path) -> None:
        self.engine, self.backup_id, self.path = engine, backup_id, path

    def exists(self) -> bool:
        return self.path.exists() if self.path is not None else bool(self.read_bytes())

    def read_bytes(self) -> bytes:
        if self.path is not None:
            return self.path.read_bytes()
        with self.engine.connect() as c:
            rows = c.execute(
                text("SELECT data FROM backup_chunk WHERE backup_id = :b ORDER BY seq"), {"b": self.backup_id}
            )
            return b"".join(bytes(r[0]) for r in rows)

    def unlink(self) -> None:
        if self.path is not None:
            self.path.unlink()
            return
        with self.engine.begin() as c:
            c.execute(text("DELETE FROM backup_chunk WHERE backup_id = :b"), {"b": self.backup_id})

    def write_bytes(self, data: bytes) -> None:
        from crm_tui.services import backups

        if self.path is not None:
            self.path.write_bytes(data)
            return
        self.unlink()
        pieces = [data[i : i + backups.DB_CHUNK] for i in range(0, len(data), backups.DB_CHUNK)] or [b""]
        with self.engine.begin() as c:
            for seq, piece in enumerate(pieces):
                c.execute(
                    text("INSERT INTO backup_chunk (backup_id, seq, data) VALUES (:b, :s, :d)"),
                    {"b": self.backup_id, "s": seq, "d": piece},
                )


@pytest.fixture
def closed(archive_database, demo_engine):
    """The demo account closed; returns (engine, the backup's bytes (Stored), key, account id,
    contact strings)."""
    from crm_tui import db
    from crm_tui.models import Backup, BackupKey, ClosedAccount
    from crm_tui.services import backups, closing

    who = sign_in(demo_engine, OWNER)
    with demo_engine.connect() as conn:
        strings = [
            r
            for row in conn.execute(
                text("SELECT email, first_name || ' ' || last_name, street FROM contact WHERE account_id = :a"),
                {"a": who.account_id},
            )
            for r in row
            if r
        ]
    closing.close_account(demo_engine, who, "Acme Realty", PASSWORDS[OWNER])
    with db.read_session(demo_engine) as s:
        t = s.execute(select(ClosedAccount)).scalars().one()
        backup = s.get(Backup, t.backup_id)
        key = s.execute(select(BackupKey.key).where(BackupKey.backup_id == backup.id)).scalar_one()
        path = backups.locate(s.connection(), backup) if backup.file_name else None
    stored = Stored(demo_engine, backup.id, path)
    assert stored.exists()
    return demo_engine, stored, key, who.account_id, strings


def assert_nothing_changed(engine, account_id):
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM account WHERE id = :a"), {"a": account_id}).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM contact WHERE account_id = :a"), {"a": account_id}).scalar() == 0
        assert conn.execute(text("SELECT state FROM closed_account")).scalar_one() == "closed"
        assert conn.execute(text("SELECT count(*) FROM backup_key")).scalar_one() == 1


def refused(engine) -> str:
    from crm_tui.services import closing
    from crm_tui.services.errors import DomainError

    with pytest.raises(DomainError) as info:
        closing.restore(engine, OWNER)
    message = str(info.value)
    assert "\n" not in message and message
    return message


def rewrite(path, key, mutate):
    """Decrypt the backup, let ``mutate`` change the zip's members, encrypt it again."""
    from crm_tui.services import crypto

    plain = b"".join(crypto.decrypt_stream(io.BytesIO(path.read_bytes()), key))
    src = zipfile.ZipFile(io.BytesIO(plain))
    members = {name: src.read(name) for name in src.namelist()}
    mutate(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as dst:
        for name, data in members.items():
            dst.writestr(name, data)
    raw = io.BytesIO()
    enc = crypto.EncryptingWriter(raw, key)
    enc.write(buf.getvalue())
    enc.close()
    path.write_bytes(raw.getvalue())


def test_the_untouched_backup_restores(closed):
    from crm_tui.services import closing

    engine, _path, _key, account_id, _strings = closed
    assert closing.restore(engine, OWNER).account_id == account_id


def test_missing_file_is_refused(closed):
    engine, path, _key, account_id, _ = closed
    path.unlink()
    assert "missing" in refused(engine)
    assert_nothing_changed(engine, account_id)


@pytest.mark.parametrize("keep", [0, 5, 20, 0.5, -1], ids=["empty", "in-magic", "after-header", "half", "last-byte"])
def test_truncated_file_is_refused(closed, keep):
    engine, path, _key, account_id, _ = closed
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0 else keep)
    path.write_bytes(data[:cut])
    message = refused(engine)
    assert "truncated" in message or "altered" in message
    assert_nothing_changed(engine, account_id)


@pytest.mark.parametrize("where", [0.3, 0.6, -1])
def test_a_flipped_byte_fails_the_tag(closed, where):
    engine, path, _key, account_id, _ = closed
    data = bytearray(path.read_bytes())
    at = int(len(data) * where) if where > 0 else len(data) + where
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    assert "altered" in refused(engine)
    assert_nothing_changed(engine, account_id)


def test_appended_data_is_refused(closed):
    engine, path, _key, account_id, _ = closed
    path.write_bytes(path.read_bytes() + b"x")
    assert "after its end" in refused(engine)
    assert_nothing_changed(engine, account_id)


def test_unknown_encryption_format_version_is_refused(closed):
    from crm_tui.services import crypto

    engine, path, _key, account_id, _ = closed
    data = bytearray(path.read_bytes())
    data[len(crypto.MAGIC)] = crypto.VERSION + 1
    path.write_bytes(bytes(data))
    assert "unknown format version" in refused(engine)
    assert_nothing_changed(engine, account_id)


def test_unknown_archive_format_version_is_refused(closed):
    engine, path, key, account_id, _ = closed

    def bump(members):
        manifest = json.loads(members["manifest.json"])
        manifest["format_version"] = 99
        members["manifest.json"] = json.dumps(manifest).encode()

    rewrite(path, key, bump)
    message = refused(engine)
    assert "unknown archive format version 99" in message
    assert_nothing_changed(engine, account_id)


def test_a_member_that_does_not_match_its_checksum_is_refused(closed):
    engine, path, key, account_id, _ = closed

    def edit(members):
        members["contacts.csv"] = members["contacts.csv"].replace(b"Austin", b"Boston", 1)

    rewrite(path, key, edit)
    assert "checksum" in refused(engine)
    assert_nothing_changed(engine, account_id)


def test_a_missing_member_is_refused(closed):
    engine, path, key, account_id, _ = closed
    rewrite(path, key, lambda members: members.pop("todos.csv"))
    assert "lacks todos.csv" in refused(engine)
    assert_nothing_changed(engine, account_id)


def test_a_wrong_key_is_refused(closed):
    from crm_tui import db
    from crm_tui.models import BackupKey

    engine, _path, _key, account_id, _ = closed
    with db.write_session(engine) as s:
        s.execute(BackupKey.__table__.update().values(key=b"\x00" * 32))
    assert "altered or the key does not match" in refused(engine)
    assert_nothing_changed(engine, account_id)


def test_the_backup_holds_nothing_in_clear(closed):
    engine, path, _key, _account_id, strings = closed
    raw = path.read_bytes()
    assert len(strings) > 100
    for needle in strings + ["Acme Realty", OWNER, "Dana Whitfield", "contacts.csv", "manifest.json"]:
        assert needle.encode("utf-8") not in raw, needle
    assert b"PK\x03\x04" not in raw  # not even the zip's structure shows


def test_backups_keep_cells_as_they_are(archive_database, demo_engine):
    """Backups are never opened in a spreadsheet: no apostrophes are added there, and the
    manifest says so (restore reads that list)."""
    from crm_tui.services import archive

    who = sign_in(demo_engine, OWNER)
    buf = io.BytesIO()
    with demo_engine.connect() as conn:
        manifest = archive.write_backup_archive(conn, who.account_id, buf)
    assert manifest["formula_escaped"] == []
    zf = zipfile.ZipFile(buf)
    assert b",'+1 (" not in zf.read("contacts.csv")
    assert b",+1 (" in zf.read("contacts.csv")
    assert "password_hash" in zf.read("team.json").decode()
    assert archive.verify_archive(zf)["kind"] == "backup"


def test_a_backup_of_many_chunks_is_written_restored_and_read_back_whole(fresh_demo, monkeypatch, tmp_path):
    """A backup larger than one ``backup_chunk`` row (here chunks of 1,000 bytes) is written
    while the account's rows are still being read on the same connection (PostgreSQL: through
    COPY, which holds it: a chunk inserted then would wait forever; the close of any account
    whose backup passed 1 MiB hung). It is stored in order and restores the account exactly."""
    import os
    import threading
    from datetime import datetime, timezone

    from conftest import dump_account
    from sqlalchemy import insert

    from crm_tui.models import Contact
    from crm_tui.services import auth, backups, closing

    NOW = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)

    monkeypatch.setenv("CRM_TUI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setattr(backups, "DB_CHUNK", 1000)
    who = auth.as_member(fresh_demo, OWNER)
    # enough contacts, with notes that compress to half, that the encrypted stream seals more
    # than one of its 1 MiB chunks while the contacts are read (the demo's 60 fit in one)
    with fresh_demo.begin() as c:
        c.execute(
            insert(Contact.__table__),
            [
                {"account_id": who.account_id, "owner_id": who.member_id, "first_name": "Bulk", "last_name": f"Row {i}",
                 "notes": os.urandom(128).hex(), "created_at": NOW}
                for i in range(10_000)
            ],
        )  # fmt: skip
    before = dump_account(fresh_demo, who.account_id)
    outcome: list = []
    closer = threading.Thread(
        target=lambda: outcome.append(closing.close_account(fresh_demo, who, "Acme Realty", PASSWORDS[OWNER])),
        daemon=True,  # a hung close must not keep the test run alive
    )
    closer.start()
    closer.join(120)
    assert outcome, "the close did not finish"
    with fresh_demo.connect() as c:
        sizes = [len(bytes(r[0])) for r in c.execute(text("SELECT data FROM backup_chunk ORDER BY backup_id, seq"))]
    if fresh_demo.dialect.name == "postgresql":  # SQLite keeps its backups in files
        assert len(sizes) > 10 and set(sizes[:-1]) == {1000} and 0 < sizes[-1] <= 1000
    closing.restore(fresh_demo, OWNER)
    assert dump_account(fresh_demo, who.account_id) == before
