"""Encrypted backups: written before a close commits, read by restore, destroyed by purge.

Where a backup is kept
----------------------
* On a shared database (PostgreSQL) the encrypted bytes are rows of ``backup_chunk``
  (``backup_id, seq, data``, about 1 MiB each), inserted in the close's own transaction: every
  host that uses the database can restore it, and nothing exists outside the transaction until
  it commits (another process never sees a half-written backup, so no sweep can remove one;
  a close that fails takes its chunks with it). Purge deletes the chunks with the key. The
  row's ``file_name`` is empty (:data:`IN_DATABASE`).
* On SQLite (one file, on one host) the backup is a file in this database's folder, as below:
  written and fsynced before the close commits, the key first then the file (overwritten
  before it is unlinked) at purge. Backups a PostgreSQL database wrote to a folder before
  chunks existed are still read, swept and destroyed there.

docs/architecture.md, "Where the closing backup is kept", says why the two differ.

Which files a database may delete
---------------------------------
A database's backups live in ``<backups>/<database id>``. The id is stored inside the
database, so a copy of the database file (``cp``, a restored server backup, a second host
pointed at the same backup folder) carries the same id and would find the original's folder.
Nothing here deletes a backup because a database lacks a row for it:

* the folder holds an ``owner`` file naming the database file that uses it (its path, device
  and inode). A database that finds the folder claimed by another database file that still
  exists under that path is a copy: it takes a new id (and a folder of its own) for the
  backups it writes from then on, and only reads the backups it was copied with from the
  original's folder; it never deletes anything there. A folder that was copied along with
  its database (the whole data folder moved to another disk or machine, as the crash tests
  do) names a folder other than the one it is in, and simply passes to its new database.
  A server database (PostgreSQL) is named by its URL, which hosts may spell differently, so
  it cannot be told from its copy this way: it always uses the folder its id names, and the
  rules below are what protect a copy's files there;
* while a backup is written, and until its name is final, the writing process holds an
  exclusive ``flock`` on the ``.pending`` file. The sweep only touches a ``.pending`` file whose
  lock it can take, i.e. whose writer is gone: it finishes it when this database committed its
  row and key, and removes it when it did not (the writer's transaction never committed, so
  nothing refers to it);
* a finished ``.crmbak`` file is only removed by the restore or purge that destroyed its key
  (or, when that was interrupted, by the next purge: its row says the key was destroyed).
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine

from crm_tui import db, paths, tables
from crm_tui.services.errors import ArchiveError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from crm_tui.models import Backup

# The archive writer and the cipher (``cryptography``) load when a backup is written or read,
# and the ORM models when a backup's key is read: the sweep the app runs at start-up needs
# none of them (it reads the Core clauses of crm_tui.tables).

# ``backup.file_name`` of a backup kept in the database (``backup_chunk`` rows)
IN_DATABASE = ""
# the bytes of one ``backup_chunk`` row
DB_CHUNK = 1 << 20

SUFFIX = ".crmbak"
PENDING = ".pending"
OWNER_FILE = "owner"
SHRED_CHUNK = 1 << 20
DATABASE_ID = "database_id"
# ids this database had before it found itself a copy: folders it may read, never change
SHARED_IDS = "shared_backup_ids"
# the folders (absolute paths, one a line) this database has written backups in: a process of
# another user of the same machine (another HOME, so another backups folder) finds them there
WRITTEN_IN = "backup_folders"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- which database file this is, and which folder is its own --------------------------


def _identity(conn: Connection) -> dict:
    """What names this database from the outside: for a SQLite file its path, device and
    inode (a copy has another inode; a file moved on the same disk keeps it); otherwise its
    URL without the password."""
    url = conn.engine.url
    path = db.sqlite_path(url.render_as_string(hide_password=False))
    if path is not None:
        st = os.stat(path)
        return {"path": str(path.resolve()), "dev": st.st_dev, "ino": st.st_ino}
    return {"url": url.render_as_string(hide_password=True)}


def _same_database(a: dict, b: dict) -> bool:
    if "ino" in a and "ino" in b:
        return (a["dev"], a["ino"]) == (b["dev"], b["ino"])
    return a.get("url") is not None and a.get("url") == b.get("url")


def _claimant_present(claim: dict) -> bool:
    """Whether the database file named by a folder's owner file is still there."""
    if "ino" not in claim:
        return False  # a server database's claim: a file database may take the folder over
    try:
        st = os.stat(claim["path"])
    except (OSError, KeyError):
        return False
    return (st.st_dev, st.st_ino) == (claim.get("dev"), claim.get("ino"))


def _read_claim(folder: Path) -> dict | None:
    try:
        return json.loads((folder / OWNER_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # unreadable: nobody's claim can be proven; treat as another's


CLAIM_TEMP = f".{OWNER_FILE}."


def _write_claim(folder: Path, me: dict) -> None:
    """Write the folder's owner file (through a temporary file, locked while it is written:
    a sweep removes one whose writer was killed)."""
    claim = {**me, "folder": str(folder.resolve())}
    tmp = folder / f"{CLAIM_TEMP}{uuid.uuid4().hex}"
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, json.dumps(claim).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, folder / OWNER_FILE)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(folder)


def _owns(folder: Path, me: dict) -> bool:
    """Whether this database may write and delete in ``folder`` (claiming it if nobody has).

    Only a database file can be told from its copy. A server database is named by its URL,
    and two hosts may spell the same database's URL differently: it always owns the folder
    its id names (as every host using it must), and the claim is only informative."""
    claim = _read_claim(folder)
    if "ino" not in me:
        if claim is None:
            _write_claim(folder, me)
        return True
    if claim is not None and claim:
        if _same_database(claim, me):
            if claim.get("path", claim.get("url")) != me.get("path", me.get("url")):
                _write_claim(folder, me)  # the same file, moved: keep the claim current
            return True
        if claim.get("folder") == str(folder.resolve()) and _claimant_present(claim):
            return False  # another database uses this very folder: this one is its copy
    elif claim is not None:
        return False
    _write_claim(folder, me)
    return True


def _ids(conn: Connection) -> tuple[str | None, list[str]]:
    t = tables.setting
    values = dict(conn.execute(select(t.c.key, t.c.value).where(t.c.key.in_([DATABASE_ID, SHARED_IDS]))).all())
    shared = [v for v in values.get(SHARED_IDS, "").split(",") if v]
    return values.get(DATABASE_ID), shared


def database_folder(conn: Connection) -> Path:
    """This database's own backup folder, ``<backups>/<database id>``, created and claimed
    (inside a write transaction). A copy of another database that still uses the folder its
    id names takes a new id here; see the module's notes."""
    t = tables.setting
    value, shared = _ids(conn)
    me = _identity(conn)
    paths.ensure_private_dir(paths.backup_dir())
    if value is None:
        value = uuid.uuid4().hex
        conn.execute(insert(t), [{"key": DATABASE_ID, "value": value}])
    folder = paths.ensure_private_dir(paths.backup_dir() / value)
    if _owns(folder, me):
        return folder
    # a copy: read the backups it came with from the original's folder; write its own apart
    new = uuid.uuid4().hex
    conn.execute(update(t).where(t.c.key == DATABASE_ID).values(value=new))
    shared.append(value)
    if conn.execute(select(t.c.key).where(t.c.key == SHARED_IDS)).first():
        conn.execute(update(t).where(t.c.key == SHARED_IDS).values(value=",".join(shared)))
    else:
        conn.execute(insert(t), [{"key": SHARED_IDS, "value": ",".join(shared)}])
    folder = paths.ensure_private_dir(paths.backup_dir() / new)
    _write_claim(folder, me)
    return folder


@dataclass(frozen=True)
class Located:
    path: Path
    own: bool  # in this database's own folder: it may delete it


def locate_name(conn: Connection, file_name: str, ids: tuple[str | None, list[str]] | None = None) -> Located:
    """Where a backup file is: this database's folder, else a folder it shares read-only
    with the database it was copied from. Writes nothing. ``ids``: :func:`_ids`, if read."""
    value, shared = ids or _ids(conn)
    own = paths.backup_dir() / (value or "-")
    if not (own / file_name).exists():
        for old in reversed(shared):
            other = paths.backup_dir() / old / file_name
            if other.exists():
                return Located(other, False)
        for folder in reversed(_written_in(conn)):
            other = folder / file_name
            if other.exists():  # this database's own only if the folder's owner file says so
                claim = _read_claim(folder)
                return Located(other, bool(claim) and _same_database(claim, _identity(conn)))  # type: ignore[arg-type]
    return Located(own / file_name, True)


def _written_in(conn: Connection) -> list[Path]:
    t = tables.setting
    value = conn.execute(select(t.c.value).where(t.c.key == WRITTEN_IN)).scalar()
    return [Path(line) for line in (value or "").splitlines() if line]


def _remember(conn: Connection, folder: Path) -> None:
    """Record, in the caller's write transaction, that a backup is written in ``folder``."""
    t = tables.setting
    known = _written_in(conn)
    where = folder.resolve()
    if where in known:
        return
    value = "\n".join(str(p) for p in [*known, where])
    if known:
        conn.execute(update(t).where(t.c.key == WRITTEN_IN).values(value=value))
    else:
        conn.execute(insert(t), [{"key": WRITTEN_IN, "value": value}])


def locate(conn: Connection, backup: Backup) -> Path:
    return locate_name(conn, backup.file_name).path


def in_database(conn: Connection) -> bool:
    """Whether this database keeps the backups it writes in itself (a shared, server
    database) rather than in a folder of the host that writes them (SQLite)."""
    return conn.dialect.name != "sqlite"


# --- writing ------------------------------------------------------------------------------


@dataclass
class Pending:
    """A backup being closed over: its ``backup`` row (inserted in the caller's transaction)
    and either its ``backup_chunk`` rows (``final`` is None) or a file written as
    ``<name>.crmbak.pending``, fsynced, its writer's lock held until :meth:`finish` (after the
    caller committed its key) or :meth:`abandon`."""

    backup_id: int
    final: Path | None
    key: bytes
    manifest: dict
    size: int
    _fd: int = field(repr=False, default=-1)
    row: dict = field(repr=False, default_factory=dict)  # its backup row, until record() inserts it

    @property
    def path(self) -> Path | None:
        return None if self.final is None else self.final.with_name(self.final.name + PENDING)

    def check(self) -> None:
        """Just before the caller commits: the backup this process wrote is still there. Its
        rows cannot have gone (nobody else sees them before the commit); its file could only
        have been removed by someone ignoring the lock, and a close must not commit then."""
        path = self.path
        if path is None:
            return
        try:
            same = os.stat(path).st_ino == os.fstat(self._fd).st_ino
        except (FileNotFoundError, OSError):
            same = False
        if not same:
            raise ArchiveError(
                f"the backup file {path.name} was removed while it was being written; nothing was deleted",
                undone="deleted",
            )

    def finish(self) -> None:
        if self.final is None:
            return
        try:
            finish(self.final)
        finally:
            self._release()

    def abandon(self) -> None:
        path = self.path
        if path is None:
            return  # its rows go with the caller's transaction
        try:
            path.unlink(missing_ok=True)
        finally:
            self._release()

    def _release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # the lock goes with it
            self._fd = -1


def _create_locked(folder: Path) -> tuple[Path, int]:
    """A new ``.pending`` file, exclusively locked by this process. The lock is taken after
    the file is created; a sweep that got in between (it would have found no writer) may have
    removed it, so the name is checked to still be this file, else another is made."""
    while True:
        final = folder / f"{uuid.uuid4().hex}{SUFFIX}"
        pending = final.with_name(final.name + PENDING)
        fd = os.open(pending, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(pending).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            return final, fd
        os.close(fd)


class _ChunkWriter:
    """A write-only file object whose bytes become ``backup_chunk`` rows when it is closed.

    Until then they go to an unnamed temporary file (ciphertext only: it is given the
    encrypted stream): the rows cannot be inserted as the bytes come, because the archive's
    rows are read on the same connection, through ``COPY … TO STDOUT`` on PostgreSQL, and no
    other statement can run on a connection while its COPY is under way (it waits for the COPY
    to be read, which waits for it: a close of an account whose backup passed one chunk hung)."""

    def __init__(self, conn: Connection, backup_id: int) -> None:
        self._conn = conn
        self._backup_id = backup_id
        self._spool = tempfile.TemporaryFile()
        self.size = 0

    def write(self, data) -> int:
        self._spool.write(data)
        return len(data)

    def close(self) -> None:
        """Insert the rows, one per :data:`DB_CHUNK` bytes (one empty row for no bytes)."""
        self._spool.seek(0)
        for seq in itertools.count():
            data = self._spool.read(DB_CHUNK)
            if seq and not data:
                break
            self._conn.execute(insert(tables.backup_chunk), [{"backup_id": self._backup_id, "seq": seq, "data": data}])
            self.size += len(data)

    def discard(self) -> None:
        self._spool.close()


def own_folder(conn: Connection) -> Path | None:
    """This database's own backup folder if it has one already (writes nothing)."""
    value = _ids(conn)[0]
    folder = paths.backup_dir() / value if value else None
    return folder if folder is not None and folder.is_dir() else None


def prepare_folder(conn: Connection) -> Path | None:
    """In a write transaction: this database's own backup folder, created, claimed and
    remembered, so that a :func:`write` in a read transaction after it writes nothing to the
    database but the file. None on a shared database (its backups are rows)."""
    if in_database(conn):
        return None
    folder = database_folder(conn)
    _remember(conn, folder)
    return folder


def write(
    conn: Connection,
    account_id: int,
    created_at: datetime,
    *,
    record: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Pending:
    """Insert the account's ``backup`` row and write its encrypted backup, inside the caller's
    transaction: on a shared database as ``backup_chunk`` rows; on SQLite as
    ``<name>.crmbak.pending``, fsynced, under this process's lock. The caller records the key
    and commits, calls :meth:`Pending.check` just before its commit and :meth:`Pending.finish`
    after it (which drops a file's ``.pending`` suffix), or :meth:`Pending.abandon`.

    ``record=False``, on SQLite, in a read transaction (after :func:`prepare_folder`): only the
    file is written; :func:`record` inserts its row later, in the transaction that records the
    key. A shared database's chunks need their row: it is inserted either way.
    ``progress(done, total)`` is called as the account's rows are written."""
    from crm_tui.services import crypto
    from crm_tui.services.archive import FORMAT_VERSION, write_backup_archive

    b = tables.backup
    database = in_database(conn)
    if database:
        final, fd = None, -1
    else:
        folder = database_folder(conn)
        _remember(conn, folder)
        final, fd = _create_locked(folder)
    row = {
        "account_id": account_id,
        "file_name": IN_DATABASE if final is None else final.name,
        "created_at": created_at,
        "size": 0,
        "sha256": "",
        "format_version": FORMAT_VERSION,
        "purged_at": None,
    }
    try:
        if record or final is None:
            backup_id = conn.execute(insert(b).values(**row).returning(b.c.id)).scalar_one()
        else:
            backup_id = 0  # see record()
    except BaseException:
        if final is not None:
            Pending(0, final, b"", {}, 0, fd).abandon()
        raise
    pending = Pending(backup_id, final, crypto.new_key(), {}, 0, fd)
    pending.row = row
    if final is None:
        chunks = _ChunkWriter(conn, backup_id)
        try:
            enc = crypto.EncryptingWriter(chunks, pending.key)  # type: ignore[arg-type]
            pending.manifest = write_backup_archive(conn, account_id, enc, progress)
            enc.close()
            chunks.close()
        finally:
            chunks.discard()
        pending.size = chunks.size
        conn.execute(update(b).where(b.c.id == backup_id).values(size=pending.size))
        return pending
    folder = final.parent
    try:
        with os.fdopen(os.dup(fd), "wb") as raw:
            enc = crypto.EncryptingWriter(raw, pending.key)
            pending.manifest = write_backup_archive(conn, account_id, enc, progress)
            enc.close()
            raw.flush()
            os.fsync(raw.fileno())
        _fsync_dir(folder)
        pending.size = os.fstat(fd).st_size
        if backup_id:
            conn.execute(update(b).where(b.c.id == backup_id).values(size=pending.size))
    except BaseException:
        pending.abandon()
        raise
    return pending


def record(conn: Connection, pending: Pending) -> int:
    """Insert the ``backup`` row of a backup :func:`write` wrote with ``record=False`` (a no-op
    when it has its row); returns its id."""
    if not pending.backup_id:
        b = tables.backup
        row = {**pending.row, "size": pending.size}
        pending.backup_id = conn.execute(insert(b).values(**row).returning(b.c.id)).scalar_one()
    return pending.backup_id


def finish(final: Path) -> None:
    pending = final.with_name(final.name + PENDING)
    try:
        os.replace(pending, final)
    except FileNotFoundError:
        if not final.exists():
            raise
        return  # finished already (by a sweep after this writer was gone)
    _fsync_dir(final.parent)


# --- reading ------------------------------------------------------------------------------


def decrypt_to_temp(path: Path, key: bytes) -> IO[bytes]:
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


class _ChunkReader:
    """A read-only file object over a backup's ``backup_chunk`` rows, one row in memory."""

    def __init__(self, conn: Connection, backup_id: int) -> None:
        self._conn = conn
        self._backup_id = backup_id
        self._seq = 0
        self._buf = b""
        self._pos = 0
        self._end = False

    def read(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            if self._pos >= len(self._buf):
                if self._end or not self._next():
                    break
            take = self._buf[self._pos : self._pos + n - len(out)]
            self._pos += len(take)
            out += take
        return bytes(out)

    def _next(self) -> bool:
        c = tables.backup_chunk
        data = self._conn.execute(
            select(c.c.data).where(c.c.backup_id == self._backup_id, c.c.seq == self._seq)
        ).scalar()
        if data is None:
            self._end = True
            return False
        self._buf, self._pos = bytes(data), 0
        self._seq += 1
        return True


def open_backup(conn: Connection, backup_id: int, file_name: str, key: bytes) -> tuple[IO[bytes], Located | None]:
    """The backup decrypted into a private temporary file (every chunk's tag checked), and
    where its file is (None for a backup kept in the database)."""
    from crm_tui.services import crypto

    if file_name != IN_DATABASE:
        where = locate_name(conn, file_name)
        return decrypt_to_temp(where.path, key), where
    c = tables.backup_chunk
    if conn.execute(select(c.c.seq).where(c.c.backup_id == backup_id).limit(1)).first() is None:
        raise ArchiveError(f"the backup {backup_id} is missing from the database")
    out = tempfile.TemporaryFile(dir=paths.ensure_private_dir(paths.backup_dir()))
    try:
        for chunk in crypto.decrypt_stream(_ChunkReader(conn, backup_id), key):  # type: ignore[arg-type]
            out.write(chunk)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out, None


def destroy(conn: Connection, backup_id: int) -> None:
    """Inside a restore's or purge's transaction: delete the backup's key, which makes it
    unreadable for good, and its chunks, if it is kept in the database."""
    conn.execute(delete(tables.backup_key).where(tables.backup_key.c.backup_id == backup_id))
    conn.execute(delete(tables.backup_chunk).where(tables.backup_chunk.c.backup_id == backup_id))


def key_for(s: Session, backup_id: int) -> bytes | None:
    from sqlmodel import col

    from crm_tui.models import BackupKey

    return s.execute(select(col(BackupKey.key)).where(col(BackupKey.backup_id) == backup_id)).scalar()


# --- destroying -----------------------------------------------------------------------------


def shred(path: Path) -> None:
    """Overwrite the file in place with zeros, its full length, fsync it, then unlink it.

    This defeats anyone who later reads the file system through its normal interface or a
    copy of it; on copy-on-write file systems and SSDs the old blocks may survive elsewhere
    (use full-disk encryption against that). The key was destroyed first in any case."""
    fd = os.open(path, os.O_WRONLY)
    try:
        length = os.fstat(fd).st_size
        zeros = bytes(min(SHRED_CHUNK, max(length, 1)))
        done = 0
        while done < length:
            done += os.pwrite(fd, zeros[: min(len(zeros), length - done)], done)
        os.fsync(fd)
    finally:
        os.close(fd)
    path.unlink()
    _fsync_dir(path.parent)


def _writer_gone(path: Path) -> int | None:
    """Open ``path`` and take its lock: the fd (the caller closes it) when its writer is
    gone, None while a writer still holds it (or the file vanished)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def sweep(engine: Engine) -> list[str]:
    """Tidy what a crash may have left in this database's own folder: a ``.pending`` file
    whose writer is gone is finished when this database committed its row and key, and
    removed when it did not. Finished files, files being written, and other databases'
    folders are never touched.

    It runs inside a write transaction, so no close of this database is half-way meanwhile."""
    done: list[str] = []
    with db.write_connection(engine) as conn:
        b = tables.backup
        rows = {row.file_name: row for row in conn.execute(select(b.c.id, b.c.file_name))}
        keyed = set(conn.execute(select(tables.backup_key.c.backup_id)).scalars())
        if _ids(conn)[0] is not None:
            _sweep_folder(database_folder(conn), rows, keyed, done)
        else:
            # No id: no backup of this database was ever committed, and none is made here (a
            # refused command changes nothing). A close that crashed before its commit took
            # its id with it, but its folder's owner file names this very database file.
            me = _identity(conn)
            if "ino" in me and paths.backup_dir().is_dir():
                for folder in sorted(paths.backup_dir().iterdir()):
                    claim = _read_claim(folder) if folder.is_dir() else None
                    if claim and _same_database(claim, me):
                        _sweep_folder(folder, rows, keyed, done)
    return done


def _sweep_folder(folder: Path, rows: dict, keyed: set, done: list[str]) -> None:
    for entry in sorted(folder.iterdir()):
        name = entry.name
        if name.startswith(CLAIM_TEMP):  # an owner file a killed process was writing
            fd = _writer_gone(entry)
            if fd is not None:
                try:
                    entry.unlink(missing_ok=True)
                    done.append(f"removed unfinished {name}")
                finally:
                    os.close(fd)
            continue
        if not name.endswith(SUFFIX + PENDING):
            continue
        fd = _writer_gone(entry)
        if fd is None:
            continue  # its writer is still at work
        try:
            final_name = name[: -len(PENDING)]
            row = rows.get(final_name)
            if row is not None and row.id in keyed:
                finish(folder / final_name)
                done.append(f"finished {final_name}")
            elif row is None:
                entry.unlink(missing_ok=True)
                done.append(f"removed unfinished {name}")
            else:  # committed, then its key destroyed (restore or purge) before the rename
                shred(entry)
                done.append(f"destroyed {name}")
        finally:
            os.close(fd)


def remove_destroyed(engine: Engine) -> tuple[list[str], list[str]]:
    """Overwrite and unlink the files, in this database's own folder, of backups whose key this
    database destroyed (a restore or purge whose removal was interrupted or failed).
    Returns (removed names, warnings)."""
    removed: list[str] = []
    warnings: list[str] = []
    b = tables.backup
    with db.write_connection(engine) as conn:
        if _ids(conn)[0] is None:  # it never wrote a backup
            return removed, warnings
        database_folder(conn)
        keyed = set(conn.execute(select(tables.backup_key.c.backup_id)).scalars())
        names = [
            r.file_name
            for r in conn.execute(select(b.c.id, b.c.file_name).where(b.c.purged_at.is_not(None)))
            if r.id not in keyed and r.file_name != IN_DATABASE
        ]
        ids = _ids(conn)
        for name in names:
            where = locate_name(conn, name, ids)
            if not where.own or not where.path.exists():
                continue
            try:
                shred(where.path)
            except FileNotFoundError:
                continue  # another purge got there first
            except OSError as exc:
                warnings.append(
                    f"could not remove the backup file {name} ({exc.strerror or exc}); the next purge tries again"
                )
            else:
                removed.append(name)
    return removed, warnings
