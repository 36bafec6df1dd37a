"""The archive's database interface on SQLite's own driver (see :mod:`.portable`).

Reading, rows come as the driver's tuples of stored values, and the few columns that need it
become CSV text a whole column of a batch at a time (:mod:`.sqlite_values`). Restoring, a CSV
row becomes one tuple of exactly what SQLAlchemy would store, and rows go to SQLite as multi-row
INSERT statements, while a helper thread reads and converts the next rows of the member."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from itertools import chain, islice, repeat
from typing import Any

from sqlalchemy.engine import Connection

from crm_tui.services.archive.feed import Feed
from crm_tui.services.archive.format import BATCH, ProgressCounter, table_of
from crm_tui.services.archive.portable import PortableDatabase, Tap
from crm_tui.services.archive.reader import MemberReader, csv_header
from crm_tui.services.archive.sqlite_values import column_texts, stored_cell_converter, stored_column_converter
from crm_tui.services.errors import ArchiveError


class SQLiteDatabase(PortableDatabase):
    """Member rows through SQLite's driver, inside the connection's transaction."""

    name = "sqlite"
    taps = True
    assigns_ids = True

    def csv_batches(
        self,
        conn: Connection,
        model,
        account_id: int,
        cols: list,
        progress: Callable[[int], None],
        neutral: bool = False,
        where=None,
        tap: Tap | None = None,
    ) -> Iterator[list]:
        query = self.account_rows(model, account_id, cols, where)
        joined = tap is not None and tap.joined is not None
        if tap is not None and tap.joined is not None:  # as ``joined``, said so the checker sees it
            query = query.add_columns(*tap.columns).select_from(tap.joined(table_of(model)))
        convert = [(i, f) for i, f in enumerate(column_texts(c, neutral) for c in cols) if f is not None]
        for rows in raw_batches(conn, query):
            if tap is not None:
                tap(rows)
            if convert or joined:  # the joined columns are the tap's, not the member's
                by_col: list[Any] = list(zip(*rows, strict=False))[: len(cols)]
                for i, f in convert:
                    by_col[i] = f(by_col[i])
                rows = list(zip(*by_col, strict=False))
            yield rows
            progress(len(rows))

    def insert_csv(
        self,
        conn: Connection,
        reader: MemberReader,
        model,
        account_id: int,
        uncell: Callable[[str], str] | None,
        tick: ProgressCounter,
        remap: dict[str, Callable[[tuple], list]] | None = None,
    ) -> int:
        return _insert_csv(conn, reader, model, account_id, uncell, tick, remap)


def raw_batches(conn: Connection, statement, size: int = BATCH) -> Iterator[list[tuple]]:
    """SQLite: the rows of a SELECT as the driver's own tuples, ``size`` at a time, inside the
    connection's transaction. Skips SQLAlchemy's row objects (a fifth to a third of the time of
    reading a large account) and its result processing, so columns come as SQLite stores them:
    timestamps and dates as text, booleans as 0/1."""
    compiled = statement.compile(conn, compile_kwargs={"render_postcompile": True})
    params = [compiled.params[k] for k in compiled.positiontup or ()]
    cursor: Any = conn.connection.cursor()  # the driver's: fetchmany gives its own lists of tuples
    try:
        cursor.execute(compiled.string, params)
        while rows := cursor.fetchmany(size):
            yield rows
    finally:
        cursor.close()


ROWS_PER_STATEMENT = 1000


def _variable_limit(dbapi_conn) -> int:
    getlimit = getattr(dbapi_conn, "getlimit", None)  # Python 3.11+
    if sys.version_info < (3, 11) or getlimit is None:
        return 999  # the smallest limit SQLite has shipped with
    return getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _values_sql(table: str, names: list[str], rows: int) -> str:
    one = f"({', '.join('?' * len(names))})"
    quoted = ", ".join(f'"{n}"' for n in names)
    return f'INSERT INTO "{table}" ({quoted}) VALUES {", ".join([one] * rows)}'


def _insert_csv(
    conn: Connection,
    reader: MemberReader,
    model,
    account_id: int,
    uncell: Callable[[str], str] | None,
    tick: ProgressCounter,
    remap: dict[str, Callable[[tuple], list]] | None = None,
) -> int:
    """See :meth:`SQLiteDatabase.insert_csv`; ``remap``'s functions get stored values."""
    rows, header, cols = csv_header(reader, model)
    remapped = [(header.index(name), f) for name, f in (remap or {}).items() if name in header]
    if remap and len(remapped) != len(remap):
        missing = sorted(set(remap) - set(header))
        raise ArchiveError(f"{reader.name} lacks the column {missing[0]}")
    width = len(header)
    by_column = [(i, f) for i, f in enumerate(stored_column_converter(cols[h]) for h in header) if f is not None]
    by_cell = [(i, f) for i, f in enumerate(stored_cell_converter(cols[h]) for h in header) if f is not None]
    dbapi = conn.connection.dbapi_connection
    per = max(1, min(ROWS_PER_STATEMENT, _variable_limit(dbapi) // (width + 1)))

    def cell_by_cell(batch: list[list[str]], first_line: int) -> list:
        """The slow way, which names the line of the first bad cell."""
        out = []
        for lineno, row in enumerate(batch, start=first_line):
            cells: list[Any] = list(row)
            try:
                for i, f in by_cell:
                    cells[i] = f(cells[i])
            except ValueError as exc:
                raise ArchiveError(f"{reader.name} line {lineno}: {exc}") from None
            cells.append(account_id)
            out.append(cells)
        return out

    def batches() -> Iterator[list]:
        """Lists of rows as SQLite stores them (``per`` rows each but the last)."""
        line = 2
        while batch := list(islice(rows, per * 5)):
            if len(set(map(len, batch))) != 1 or len(batch[0]) != width:
                bad = next(k for k, row in enumerate(batch) if len(row) != width)
                raise ArchiveError(f"{reader.name} line {line + bad}: expected {width} fields, got {len(batch[bad])}")
            if uncell is not None:
                batch = [[v[1:] if v[:1] == "'" else v for v in row] for row in batch]
            by_col: list[Any] = list(zip(*batch, strict=False))
            try:
                for i, f in by_column:
                    by_col[i] = f(by_col[i])
            except (ValueError, KeyError):
                stored = cell_by_cell(batch, line)
                if not remapped:
                    yield stored
                    line += len(batch)
                    continue
                by_col = list(zip(*stored, strict=False))[:width]
            for i, g in remapped:
                by_col[i] = g(by_col[i])
            yield list(zip(*by_col, repeat(account_id, len(batch)), strict=False))
            line += len(batch)

    table = table_of(model).name
    names = [*header, "account_id"]
    full = _values_sql(table, names, per)
    cursor = conn.connection.cursor()  # the driver's, inside the caller's transaction
    feed = Feed(batches(), depth=4, name="crm-tui-restore-reader")
    n = 0
    try:
        for batch in feed:
            for at in range(0, len(batch), per):
                part = batch[at : at + per]
                sql = full if len(part) == per else _values_sql(table, names, len(part))
                cursor.execute(sql, list(chain.from_iterable(part)))
            n += len(batch)
            tick(len(batch))
    except sqlite3.Error as exc:
        raise ArchiveError(f"{reader.name}: the database refused a row ({exc}); nothing was restored") from None
    finally:
        feed.close()
        cursor.close()
    return n
