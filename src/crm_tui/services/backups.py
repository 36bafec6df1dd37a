"""Encrypted backups on disk: written and fsynced before a close commits, read by restore,
destroyed by purge (the key first, then the file)."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from crm_tui import db, paths, tables
from crm_tui.services.errors import ArchiveError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crm_tui.models import Backup

# The archive writer and the cipher (``cryptography``) load when a backup is written or read,
# and the ORM models when a backup's key is read: the sweep the app runs at start-up needs
# none of them (it reads the Core clauses of crm_tui.tables).

SUFFIX = ".crmbak"
PENDING = ".pending"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


DATABASE_ID = "database_id"


def database_folder(conn: Connection, *, create: bool = True) -> Path | None:
    """This database's own backup folder: ``<backups>/<database id>``. Other databases'
    backups (a second ``--database-url``) live beside it and are never touched.

    The id is made (a ``setting`` row) the first time a backup is written; with
    ``create=False`` a database without one has no folder (None) and nothing is written."""
    from sqlalchemy import insert

    t = tables.setting
    value = conn.execute(select(t.c.value).where(t.c.key == DATABASE_ID)).scalar()
    if value is None:
        if not create:
            return None
        value = uuid.uuid4().hex
        conn.execute(insert(t), [{"key": DATABASE_ID, "value": value}])
    return paths.backup_dir() / value


def write(conn: Connection, account_id: int, folder: Path | None = None) -> tuple[Path, bytes, dict, int]:
    """Write the account's encrypted backup as ``<name>.crmbak.pending``, fsynced.

    Returns (final path, key, manifest, size). The caller records the key in the database
    and, once that commits, calls :func:`finish` to drop the ``.pending`` suffix."""
    from crm_tui.services import crypto
    from crm_tui.services.archive import write_backup_archive

    paths.ensure_private_dir(paths.backup_dir())
    folder = paths.ensure_private_dir(folder or database_folder(conn))  # type: ignore[arg-type]
    final = folder / f"{uuid.uuid4().hex}{SUFFIX}"
    pending = final.with_name(final.name + PENDING)
    key = crypto.new_key()
    fd = os.open(pending, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            enc = crypto.EncryptingWriter(raw, key)
            manifest = write_backup_archive(conn, account_id, enc)
            enc.close()
            raw.flush()
            os.fsync(raw.fileno())
        _fsync_dir(folder)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise
    return final, key, manifest, pending.stat().st_size


def finish(final: Path) -> None:
    pending = final.with_name(final.name + PENDING)
    if pending.exists():
        os.replace(pending, final)
        _fsync_dir(final.parent)


def locate(conn: Connection, backup: Backup) -> Path:
    folder = database_folder(conn, create=False)
    if folder is None:
        raise ArchiveError(f"the backup file {backup.file_name} is missing (this database has no backup folder)")
    return folder / backup.file_name


def decrypt_to_temp(path: Path, key: bytes) -> tempfile.SpooledTemporaryFile:
    """Decrypt a backup into a private temporary file (every chunk's tag checked)."""
    from crm_tui.services import crypto

    if not path.exists():
        raise ArchiveError(f"the backup file {path.name} is missing")
    out = tempfile.TemporaryFile(dir=path.parent)
    try:
        with open(path, "rb") as src:
            for chunk in crypto.decrypt_stream(src, key):
                out.write(chunk)
    except OSError as exc:
        out.close()
        raise ArchiveError(f"cannot read the backup file: {exc.strerror}") from None
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def key_for(s: Session, backup_id: int) -> bytes | None:
    from crm_tui.models import BackupKey

    return s.execute(select(BackupKey.key).where(BackupKey.backup_id == backup_id)).scalar()


def sweep(engine: Engine) -> list[str]:
    """Tidy what a crash may have left: finish committed backups still marked pending,
    delete pending files no backup row names, delete files whose key is gone.

    It runs inside a write transaction, so no close can be half-way through meanwhile."""
    done: list[str] = []
    with db.write_connection(engine) as conn:
        folder = database_folder(conn, create=False)  # no id yet: no backup was ever written
        if folder is None or not folder.is_dir():
            return done
        b = tables.backup
        rows = {row.file_name: row for row in conn.execute(select(b.c.id, b.c.file_name))}
        keyed = set(conn.execute(select(tables.backup_key.c.backup_id)).scalars())
        for entry in sorted(folder.iterdir()):
            name = entry.name
            if name.endswith(SUFFIX + PENDING):
                final_name = name[: -len(PENDING)]
                row = rows.get(final_name)
                if row is not None and row.id in keyed:
                    finish(folder / final_name)
                    done.append(f"finished {final_name}")
                else:
                    entry.unlink(missing_ok=True)
                    done.append(f"removed unfinished {name}")
            elif name.endswith(SUFFIX):
                row = rows.get(name)
                if row is None or row.id not in keyed:
                    entry.unlink(missing_ok=True)
                    done.append(f"removed keyless {name}")
    return done
