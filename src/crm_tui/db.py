"""Engine, per-connection pragmas, sessions and schema migrations.

SQLite pragmas that are per connection (``foreign_keys``, ``busy_timeout``, ``secure_delete``)
are set in a ``connect`` event, so every pooled connection has them. Write transactions begin
with ``BEGIN IMMEDIATE`` (see :func:`write_session`), so two writers queue on the busy timeout
instead of failing half-way with "database is locked".
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from crm_tui import paths
from crm_tui.text import first_line

if TYPE_CHECKING:  # the ORM loads on first use: signing in and the dashboard need only Core
    from sqlalchemy.orm import Session

T = TypeVar("T")

# The newest migration; checked without importing Alembic on the common path.
SCHEMA_REVISION = "0006"
# A writer waits this long for SQLite's write lock before it fails (a close holds it for one
# short transaction at a time, but a restore of a very large account for its whole import).
BUSY_TIMEOUT_MS = 60_000
_WRITE = "crm_tui_write"


class DatabaseError(Exception):
    """The database cannot be opened or used; the message is one line for the user.
    ``code`` and ``undone`` as a domain error's (see :mod:`crm_tui.services.errors`)."""

    code = "database.unusable"

    def __init__(self, message: str, *, undone: str | None = None) -> None:
        super().__init__(message)
        self.field = None
        self.undone = undone


_engines: dict[str, Engine] = {}


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    if u.query.get("uri") and u.database.startswith("file:"):
        return None  # a "file:...?mode=ro" URI: SQLite opens it; never create files from its text
    return Path(u.database)


def _prepare_sqlite_file(path: Path) -> None:
    if path.exists():
        if path.is_dir():
            raise DatabaseError(f"{path} is a folder, not a database file")
        if not os.access(path, os.R_OK):
            raise DatabaseError(f"cannot read the database file {path}")
        return
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise DatabaseError(f"{parent} is not a folder")
    try:
        paths.ensure_private_dir(parent)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, stat.S_IRUSR | stat.S_IWUSR)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseError(f"cannot create the database file {path}: {exc.strerror}") from None


def _read_only_url(path: Path) -> str | None:
    """For a database file this process cannot write (a read-only mount, a file without write
    permission): a URL that opens it read-only, so it can still be read. None if writable.

    SQLite reads a WAL database read-only through its ``-shm`` file; where that cannot be made
    (the folder is read-only too) the file is opened as immutable, which a read-only mount is."""
    from urllib.parse import quote

    if os.access(path, os.W_OK):
        return None
    shm = path.with_name(path.name + "-shm")
    immutable = not shm.exists() and not os.access(path.parent, os.W_OK)
    return f"sqlite:///file:{quote(str(path))}?mode=ro{'&immutable=1' if immutable else ''}&uri=true"


def _install_sqlite_events(engine: Engine, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no branch - trivial
        # Let SQLAlchemy's "begin" event issue BEGIN itself (deferred or immediate).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA secure_delete = ON")
        mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
        if mode != "wal" and not read_only:
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


# PostgreSQL: no statement runs longer, and none waits longer for a lock, than this; the
# user sees one line ("the database is busy or unavailable") instead of a frozen screen.
PG_STATEMENT_TIMEOUT_MS = 30_000
PG_LOCK_TIMEOUT_MS = 10_000
PG_APPLICATION_NAME = "crm-tui"


def _postgresql_engine_args(url: str) -> dict:
    """What every PostgreSQL connection gets: a ping before a pooled connection is used (the
    first query after a server restart reconnects instead of failing), the application's
    name (it shows in ``pg_stat_activity``), and the statement and lock timeouts. Whatever
    the URL sets itself (``?application_name=...``, ``?options=...``) wins."""
    query = make_url(url).query
    connect_args: dict = {}
    if "application_name" not in query:
        connect_args["application_name"] = PG_APPLICATION_NAME
    if "options" not in query:
        connect_args["options"] = f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS} -c lock_timeout={PG_LOCK_TIMEOUT_MS}"
    if "connect_timeout" not in query:
        connect_args["connect_timeout"] = 10
    return {"pool_pre_ping": True, "connect_args": connect_args}


def get_engine(url: str | None = None, *, migrate: bool = True) -> Engine:
    """The engine for ``url`` (resolved as the CLI does), created once per process."""
    from sqlalchemy import create_engine

    resolved = paths.resolve_database_url(url)
    engine = _engines.get(resolved)
    if engine is not None:
        return engine
    try:
        backend = make_url(resolved).get_backend_name()
    except Exception:
        raise DatabaseError(f"not a database URL: {resolved!r}") from None
    file_path = sqlite_path(resolved)
    target, read_only = resolved, False
    if file_path is not None:
        _prepare_sqlite_file(file_path)
        ro_url = _read_only_url(file_path)
        if ro_url is not None:
            target, read_only = ro_url, True
    kwargs: dict = {}
    if backend == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    elif backend == "postgresql":
        kwargs.update(_postgresql_engine_args(resolved))
    try:
        engine = create_engine(target, **kwargs)
    except Exception as exc:  # missing driver, malformed URL
        raise DatabaseError(f"cannot use database URL {resolved!r}: {first_line(exc)}") from None
    if engine.dialect.name == "sqlite":
        _install_sqlite_events(engine, read_only)
    if migrate:
        try:
            if read_only:
                _check_schema_read_only(engine, file_path)
            else:
                ensure_schema(engine)
        except DatabaseError:
            engine.dispose()
            raise
        except Exception as exc:
            engine.dispose()
            raise DatabaseError(f"cannot open the database: {first_line(exc)}") from None
    _engines[resolved] = engine
    return engine


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy import inspect, text

    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def ensure_schema(engine: Engine) -> None:
    """Bring the schema to :data:`SCHEMA_REVISION`; Alembic is imported only when needed."""
    from sqlalchemy.exc import DatabaseError as SADatabaseError
    from sqlalchemy.exc import OperationalError

    try:
        rev = current_revision(engine)
    except OperationalError as exc:
        if is_sqlite(engine):
            raise DatabaseError(f"not a usable database: {first_line(exc)}") from None
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseError(f"cannot reach the database server: {first_line(exc)} ({where})") from None
    except SADatabaseError as exc:
        raise DatabaseError(f"not a usable database: {first_line(exc)}") from None
    if rev == SCHEMA_REVISION:
        return
    run_migrations(engine)


def _check_schema_read_only(engine: Engine, path: Path | None) -> None:
    """A database opened read-only can be read if its schema is current; it cannot be
    brought up to date."""
    from sqlalchemy.exc import DatabaseError as SADatabaseError

    try:
        rev = current_revision(engine)
    except SADatabaseError as exc:
        raise DatabaseError(f"not a usable database: {first_line(exc)}") from None
    if rev != SCHEMA_REVISION:
        raise DatabaseError(
            f"the database {path} is read-only and needs an upgrade (schema {rev or 'none'} "
            f"to {SCHEMA_REVISION}); open it once where it can be written"
        )


# Indexes that only a PostgreSQL migration makes, which the models do not declare (their
# operator classes are PostgreSQL's): autogenerate leaves them alone.
POSTGRESQL_ONLY_INDEXES = frozenset({"ix_contact_search_trgm"})


def include_in_autogenerate(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's ``include_object``: everything but :data:`POSTGRESQL_ONLY_INDEXES`."""
    return not (type_ == "index" and name in POSTGRESQL_ONLY_INDEXES)


def alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def run_migrations(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction starts with BEGIN IMMEDIATE and commits on success."""
    from sqlalchemy.orm import Session

    with Session(engine.execution_options(**{_WRITE: True}), expire_on_commit=False) as s:
        with s.begin():
            yield s


def write_engine(engine: Engine) -> Engine:
    """``engine`` whose connections begin their transactions as writes (SQLite: BEGIN
    IMMEDIATE), for a caller that runs several write transactions on one connection."""
    return engine.execution_options(**{_WRITE: True})


def in_write_transaction(conn: Connection) -> bool:
    """Whether ``conn`` is inside a transaction :func:`write_session` or
    :func:`write_connection` began (on SQLite: with BEGIN IMMEDIATE)."""
    return conn.in_transaction() and bool(conn.get_execution_options().get(_WRITE))


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    from sqlalchemy.orm import Session

    with Session(engine, expire_on_commit=False) as s:
        yield s


def another_connection(engine: Engine) -> Connection | None:
    """One more connection, for work done beside the caller's on a thread (PostgreSQL), or None
    when there is none to be had (the server's or the role's connection limit reached, the
    pool exhausted): the caller then does that work on the connection it has."""
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    try:
        return engine.connect()
    except (DBAPIError, PoolTimeout):
        return None


_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(?:-[0-9]+)?")


class Beside(Generic[T]):
    """``work(connection)`` on PostgreSQL, on a second connection and a thread of its own, in the
    snapshot of ``conn``'s transaction (exported to it, as ``pg_dump --jobs`` shares one): the
    server answers both connections at once, and the caller's thread works while the thread
    waits. Start it with :meth:`start`; :meth:`result` waits for it and returns what ``work``
    returned or raises what it raised; :meth:`stop` cancels it. Either returns once the thread
    has ended and its connection is back in the pool; either may follow the other.

    ``conn``'s transaction should be REPEATABLE READ (or SERIALIZABLE): then both connections
    see exactly the same rows, whatever commits meanwhile."""

    @classmethod
    def start(cls, engine: Engine, conn: Connection, work: Callable[[Connection], T], name: str) -> Beside[T] | None:
        """The work under way beside ``conn``; None when no second connection is to be had (the
        caller then does the work on ``conn`` itself)."""
        beside = another_connection(engine)
        if beside is None:
            return None
        try:
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            if not _SNAPSHOT_ID.fullmatch(snapshot):  # it is written into a statement
                raise DatabaseError(f"the database exported an unexpected snapshot id {snapshot!r}")
            beside.execution_options(isolation_level="REPEATABLE READ")
        except BaseException:
            beside.close()
            raise
        return cls(beside, snapshot, work, name)

    def __init__(self, beside: Connection, snapshot: str, work: Callable[[Connection], T], name: str) -> None:
        self._error: BaseException | None = None
        self._value: T | None = None
        self._conn = beside
        self._thread = threading.Thread(target=self._run, args=(snapshot, work), name=name, daemon=True)
        self._thread.start()

    def _run(self, snapshot: str, work: Callable[[Connection], T]) -> None:
        try:
            with self._conn.begin():
                self._conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                self._value = work(self._conn)
        except BaseException as exc:  # raised by result()
            self._error = exc

    def _end(self) -> None:
        self._thread.join()
        self._conn.close()

    def result(self) -> T:
        self._end()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)

    def stop(self) -> None:
        if self._thread.is_alive():
            try:
                self._conn.connection.driver_connection.cancel_safe()  # type: ignore[union-attr]
            except Exception:
                pass  # it ends by itself then, at worst after its statement's timeout
        self._end()


@contextmanager
def snapshot_connection(engine: Engine) -> Iterator[Connection]:
    """A Core connection inside one read transaction that sees one snapshot of the database from
    its first statement to its end, on every backend: SQLite's (deferred) read transaction does;
    on PostgreSQL it is REPEATABLE READ, READ ONLY (at the default READ COMMITTED each statement
    would see what committed before it). Rolled back at the end. For a reader whose statements
    must agree with each other: an export's members, its counts and its rows."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin() as trans:
            yield conn
            trans.rollback()


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A Core connection for reading: its transaction begins (deferred) with the first
    statement and is rolled back at the end, as a read session's is."""
    with engine.connect() as conn:
        yield conn


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """A Core connection whose transaction starts with BEGIN IMMEDIATE and commits on
    success: :func:`write_session` without the ORM."""
    with engine.execution_options(**{_WRITE: True}).connect() as conn:
        with conn.begin():
            yield conn


CHECKPOINT_PENDING = "checkpoint_pending"
# How long, in all, a checkpoint after a close or purge keeps trying to fold the WAL back while
# a reader holds an older snapshot; and the longest one try waits. A TRUNCATE checkpoint that
# waits for readers holds off every writer meanwhile (SQLite: "blocks new database writers while
# it is pending"), so it waits in short tries with a pause between them, in which writers go.
CHECKPOINT_WAIT_MS = 10_000
CHECKPOINT_TRY_MS = 200

SQLITE_DONE = "checkpointed and truncated the write-ahead log"
SQLITE_HELD = (
    "another connection is still reading, so the write-ahead log could not be truncated yet; "
    "it is done when the app next opens the database or at the next purge"
)


@dataclass(frozen=True)
class Scrub:
    """What :func:`checkpoint` did to take deleted rows off the database's files, in words a
    receipt or the command line prints. True when it did all it can."""

    done: bool
    text: str

    def __bool__(self) -> bool:
        return self.done


def checkpoint(engine: Engine, touched: Iterable[str] | None = None, wait_ms: int = CHECKPOINT_WAIT_MS) -> Scrub:
    """After rows were deleted, take them off the database's files as far as the backend allows.

    SQLite: fold the WAL back into the database file and truncate it, so deleted rows leave the
    disk (``secure_delete`` zeroes them in the pages the checkpoint copies back). A reader still
    inside an older snapshot stops the checkpoint from finishing; after ``wait_ms`` it is left
    pending in the ``setting`` table and :func:`finish_checkpoint` (run when the app opens the
    database and by purge) completes it.

    PostgreSQL has neither: it runs ``VACUUM`` on the ``touched`` tables (every table if None),
    which frees the deleted rows' space for reuse; their bytes stay in the table files until
    that space is reused, and in the WAL (see README, "What permanent deletion means on each
    backend"). Rows an open transaction can still see cannot be vacuumed: the tables are then
    left pending, as on SQLite."""
    if not is_sqlite(engine):
        return _vacuum(engine, touched)
    raw = engine.raw_connection()
    try:
        # isolation_level is None on our connections: no implicit BEGIN around the pragmas.
        conn = raw.driver_connection
        assert conn is not None  # a checked-out connection always has its driver's
        busy = _truncate_wal(conn, wait_ms)
        pending = conn.execute("SELECT 1 FROM setting WHERE key = ?", (CHECKPOINT_PENDING,)).fetchone()
        if busy:
            if not pending:
                conn.execute("INSERT INTO setting (key, value) VALUES (?, '1')", (CHECKPOINT_PENDING,))
            return Scrub(False, SQLITE_HELD)
        if pending:  # clear the mark, and fold that small write back in too
            conn.execute("DELETE FROM setting WHERE key = ?", (CHECKPOINT_PENDING,))
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return Scrub(True, SQLITE_DONE)
    finally:
        raw.close()


def _truncate_wal(conn, wait_ms: int) -> bool:
    """``wal_checkpoint(TRUNCATE)`` tried for up to ``wait_ms`` in all, each try waiting at most
    :data:`CHECKPOINT_TRY_MS` for readers, with as long a pause after a try that could not
    finish; returns whether a reader still held it back at the end."""
    deadline = time.monotonic() + wait_ms / 1000
    try:
        while True:
            left = max(0, int((deadline - time.monotonic()) * 1000))
            conn.execute(f"PRAGMA busy_timeout = {min(CHECKPOINT_TRY_MS, left)}")
            if not conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
                return False
            if time.monotonic() + CHECKPOINT_TRY_MS / 1000 >= deadline:
                return True
            time.sleep(CHECKPOINT_TRY_MS / 1000)  # writers held off by the try go now
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


_NOT_REMOVABLE = re.compile(r"(\d+) are dead but not yet removable")


# PostgreSQL: how many connections vacuum at once after a close or purge. A close's largest
# table (its contacts, whose indexes the server vacuums with parallel workers) takes most of
# the time; the other tables go on a second connection meanwhile (docs/performance.md).
VACUUM_WAYS = 2


def _vacuum_groups(conn: Connection, names: list[str]) -> list[list[str]]:
    """``names`` split into up to :data:`VACUUM_WAYS` groups of about equal size on disk, the
    largest table first in the first (read on ``conn``, its transaction rolled back)."""
    from sqlalchemy import text

    if len(names) < 2:
        return [names]
    size: dict[str, int] = dict(
        conn.execute(
            text("SELECT relname, pg_total_relation_size(oid) FROM pg_class WHERE relname = ANY(:names)"),
            {"names": names},
        ).all()
    )
    conn.rollback()
    groups: list[list[str]] = [[] for _ in range(min(VACUUM_WAYS, len(names)))]
    load = [0] * len(groups)
    for name in sorted(names, key=lambda n: (-size.get(n, 0), n)):
        lightest = load.index(min(load))
        groups[lightest].append(name)
        load[lightest] += size.get(name, 0)
    return [g for g in groups if g]


def _vacuum_on(conn: Connection, names: list[str], heard: Callable) -> None:
    """``VACUUM (VERBOSE)`` of ``names`` on ``conn`` (made autocommit), its notices to ``heard``.
    Without parallel workers: starting them took about 0.3 s for each large table, even one with
    nothing to vacuum (a large neighbour's, beside a small closed account), and they did not make
    the contacts' table, the largest job, any faster (docs/performance.md)."""
    conn.execution_options(isolation_level="AUTOCOMMIT")
    driver = conn.connection.driver_connection
    driver.add_notice_handler(heard)  # type: ignore[union-attr]
    try:
        if names:
            conn.exec_driver_sql("VACUUM (VERBOSE, PARALLEL 0) " + ", ".join('"' + n + '"' for n in names))
        conn.commit()  # ends what SQLAlchemy began around it (nothing, on the server)
    finally:
        driver.remove_notice_handler(heard)  # type: ignore[union-attr]


def _vacuum_beside(engine: Engine, names: list[str], heard: Callable) -> bool:
    """:func:`_vacuum_on` a further connection; False (nothing done) when none is to be had."""
    conn = another_connection(engine)
    if conn is None:
        return False
    with conn:
        _vacuum_on(conn, names, heard)
    return True


def _vacuum(engine: Engine, touched: Iterable[str] | None) -> Scrub:
    """``VACUUM`` the tables (it cannot run inside a transaction: on an autocommit connection),
    then record or clear the pending mark. Its VERBOSE report says how many deleted rows an open
    transaction still sees (PostgreSQL's messages in English; otherwise none are counted)."""
    from sqlalchemy import text

    from crm_tui import schema_core

    known = {t.name for t in schema_core.ALL}
    messages: list[str] = []
    warnings: list[str] = []  # a table it may not vacuum (not its owner) is skipped with a warning

    def heard(diag) -> None:
        (warnings if diag.severity_nonlocalized == "WARNING" else messages).append(diag.message_primary or "")

    # one connection for the pending mark, the sizes, the first group and the mark again; taken
    # before any helper's, so that at a connection limit the helpers go without, never this one
    with engine.connect() as main:
        pending = main.execute(text("SELECT value FROM setting WHERE key = :k"), {"k": CHECKPOINT_PENDING}).scalar()
        main.rollback()
        names = sorted(({*known} if touched is None else {*touched}) | {n for n in (pending or "").split(",") if n})
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"not tables of this schema: {unknown}")
        groups = _vacuum_groups(main, names)
        with ThreadPoolExecutor(len(groups) - 1 or 1, "crm-tui-vacuum") as helpers:
            others = [(group, helpers.submit(_vacuum_beside, engine, group, heard)) for group in groups[1:]]
            try:
                _vacuum_on(main, groups[0], heard)
            finally:
                left = [group for group, other in others if not other.result()]
        for group in left:  # no further connection was to be had: vacuumed after the first group
            _vacuum_on(main, group, heard)
        held = sum(int(m) for msg in messages for m in _NOT_REMOVABLE.findall(msg))
        main.execution_options(isolation_level="READ COMMITTED")
        main.execute(text("DELETE FROM setting WHERE key = :k"), {"k": CHECKPOINT_PENDING})
        if held:
            main.execute(
                text("INSERT INTO setting (key, value) VALUES (:k, :v)"),
                {"k": CHECKPOINT_PENDING, "v": ",".join(names)},
            )
        main.commit()
    vacuumed = len(names) - len(warnings)
    done = f"vacuumed {vacuumed} {'table' if vacuumed == 1 else 'tables'}"
    if warnings:  # vacuuming again would not help: say so, and leave it to the operator
        done += f"; could not vacuum {len(warnings)} ({min(warnings)})"  # the first by name
    if held:
        return Scrub(
            False,
            f"{done}; {held} deleted {'row is' if held == 1 else 'rows are'} still seen by an open "
            "transaction and cannot be vacuumed yet: the next purge or start of the app vacuums again",
        )
    return Scrub(not warnings, done)


def finish_checkpoint(engine: Engine) -> Scrub:
    """Complete a checkpoint (SQLite) or vacuum (PostgreSQL) an earlier close or purge had to
    leave pending."""
    from sqlalchemy import text

    with engine.connect() as conn:
        pending = conn.execute(text("SELECT 1 FROM setting WHERE key = :k"), {"k": CHECKPOINT_PENDING}).first()
    if not pending:
        return Scrub(True, "nothing was pending")
    return checkpoint(engine) if is_sqlite(engine) else _vacuum(engine, ())


def advance_id_sequences(conn: Connection, tables) -> None:
    """After rows were inserted under explicit ids (restore, import under original ids): move
    each table's id sequence past the largest id, so the next row inserted without an id does
    not collide with one of them. A sequence already further on stays where it is (ids are
    never handed out twice). SQLite needs nothing: its next id follows the largest one.
    ``tables``: SQLAlchemy tables (or models) having an integer ``id`` primary key."""
    if conn.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    for table in tables:
        t = getattr(table, "__table__", table)
        if "id" not in t.c or not t.c.id.primary_key:
            continue
        name = conn.dialect.identifier_preparer.format_table(t)
        conn.execute(
            text(
                "SELECT setval(seq, GREATEST(m, COALESCE(pg_sequence_last_value(seq), 0))) "
                f"FROM (SELECT CAST(pg_get_serial_sequence(:t, 'id') AS regclass) AS seq, "
                f"(SELECT max(id) FROM {name}) AS m) AS s WHERE seq IS NOT NULL AND m IS NOT NULL"
            ),
            {"t": name},
        )
