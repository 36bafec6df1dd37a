"""The archive's database interface on PostgreSQL (see :mod:`.portable`): rows move with COPY.

Reading, the database itself turns every column into the archive's text (timestamps in UTC as
``isoformat()`` writes them, dates, ``true``/``false``, a text cell's formula escape), and
``COPY (SELECT …) TO STDOUT (FORMAT csv)`` hands back CSV rows: PostgreSQL quotes a field
exactly when Python's ``csv`` module does (a comma, a double quote, a carriage return or a line
feed in it; quotes doubled), and an empty text cell is sent as NULL so it is written unquoted,
as ``csv.writer`` writes it. Each row arrives on its own (the protocol sends one row per
message), so its line end becomes ``\\r\\n`` without parsing it: the member's bytes are the
ones the other implementations write (the tests compare them).

Restoring, a CSV member's cells are checked and converted a column of a batch at a time, as on
SQLite (:mod:`.sqlite_values`: every value validated as :func:`.format.from_text` validates
it), and go to ``COPY t (…) FROM STDIN`` with psycopg's ``write_row``, inside the caller's
transaction. Timestamps in the usual layout are handed over as the archive's own text (with
their offset) for PostgreSQL to parse; other layouts as UTC text."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date, datetime
from itertools import count, islice, repeat
from typing import Any

from sqlalchemy import String, case, cast, func, literal, select
from sqlalchemy.engine import Connection

from crm_tui.services.archive.feed import Feed
from crm_tui.services.archive.format import BATCH, FORMULA_START, ProgressCounter, python_type, table_of
from crm_tui.services.archive.portable import PortableDatabase, Tap
from crm_tui.services.archive.reader import MemberReader, csv_header
from crm_tui.services.archive.sqlite_values import stored_cell_converter, stored_column_converter, stored_datetime
from crm_tui.services.errors import ArchiveError

#: the Python types whose text PostgreSQL makes itself (anything else: the portable path)
_TEXT_TYPES = (str, int, bool, datetime, date)


class PostgreSQLDatabase(PortableDatabase):
    """Member rows through psycopg's COPY, inside the connection's transaction."""

    name = "postgresql"

    def usable(self, conn: Connection, cols: list) -> bool:
        """COPY's bytes are the member's only when the client encoding is UTF-8 and every
        column's text can be made by the database."""
        driver: Any = conn.connection.driver_connection
        encoding = str(driver.info.encoding).lower().replace("-", "").replace("_", "")
        return encoding == "utf8" and all(python_type(c) in _TEXT_TYPES for c in cols)

    def text_query(self, model, account_id: int, cols: list, neutral: bool, where=None) -> str:
        """The SELECT giving each column's archive text (NULL for an empty cell), in id order,
        with its values written into it (an account id, contact ids: integers only)."""
        t = table_of(model)
        query = select(*(_as_text(c, neutral) for c in cols)).where(t.c.account_id == account_id)
        if where is not None:
            query = query.where(where)
        from sqlalchemy.dialects import postgresql

        compiled = query.order_by(t.c.id).compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True, "render_postcompile": True}
        )
        return str(compiled)

    def csv_blocks(
        self,
        conn: Connection,
        model,
        account_id: int,
        cols: list,
        progress: Callable[[int], None],
        neutral: bool = False,
        where=None,
    ) -> Iterator[tuple[bytes, int]]:
        """The member's CSV rows (no header) as UTF-8 bytes with ``\\r\\n`` line ends, a block of
        up to :data:`.format.BATCH` rows at a time, each with its number of rows."""
        sql = f"COPY ({self.text_query(model, account_id, cols, neutral, where)}) TO STDOUT (FORMAT csv)"
        cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(sql) as copy:
                rows: list = []
                for row in copy:
                    rows.append(row[:-1])  # one row per message, its line feed last
                    if len(rows) >= BATCH:
                        yield b"\r\n".join(rows) + b"\r\n", len(rows)
                        progress(len(rows))
                        rows = []
                if rows:
                    yield b"\r\n".join(rows) + b"\r\n", len(rows)
                    progress(len(rows))
        finally:
            cursor.close()

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
        if not self.usable(conn, cols):
            yield from super().csv_batches(conn, model, account_id, cols, progress, neutral, where)
            return
        sql = self.text_query(model, account_id, cols, neutral, where)
        # psycopg's own server-side cursor (see driver_batches)
        cursor: Any = conn.connection.driver_connection.cursor(name=f"crm_tui_rows_{next(_cursors)}")  # type: ignore[union-attr]
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(BATCH):
                yield rows
                progress(len(rows))
        finally:
            cursor.close()

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
        if remap:
            raise NotImplementedError("an import inserts remapped rows itself (see services.importer)")
        return _copy_csv(conn, reader, model, account_id, uncell, tick)


_cursors = count(1)


def driver_batches(conn: Connection, statement, size: int = BATCH) -> Iterator[list[tuple]]:
    """PostgreSQL: the rows of a SELECT as psycopg's own tuples (the values SQLAlchemy would
    give for these column types: text, integers, booleans, dates, aware datetimes), ``size``
    at a time from a server-side cursor of psycopg's, inside the connection's transaction.
    Skips SQLAlchemy's row objects, and leaves the connection as it was (SQLAlchemy's
    ``stream_results`` option would stay on it).

    The next batch is fetched on a thread while the caller works on this one (:class:`.feed.Feed`):
    the server makes it meanwhile, where otherwise each waited for the other."""
    compiled = statement.compile(conn, compile_kwargs={"render_postcompile": True})
    driver: Any = conn.connection.driver_connection

    def fetch() -> Iterator[list[tuple]]:
        cursor = driver.cursor(name=f"crm_tui_rows_{next(_cursors)}")
        try:
            cursor.execute(compiled.string, compiled.params)
            while rows := cursor.fetchmany(size):
                yield rows
        finally:
            cursor.close()

    ahead = Feed(fetch(), depth=1, name="crm-tui-read-ahead")
    try:
        yield from ahead
    finally:
        ahead.close()


def _as_text(col, neutral: bool):
    """``col`` as its archive text, NULL where the CSV cell is empty."""
    ptype = python_type(col)
    if ptype is str:
        if not neutral:
            return func.nullif(col, "").label(col.name)
        starts = [literal(c, String) for c in sorted(FORMULA_START)]
        escaped = case((func.left(col, 1).in_(starts), literal("'", String) + col), else_=col)
        return func.nullif(escaped, "").label(col.name)
    if ptype is bool:
        return case((col.is_(True), "true"), (col.is_(False), "false")).label(col.name)
    if ptype is datetime:  # UTC, and no fraction when it is zero, as isoformat() writes it
        utc = func.timezone("UTC", col)
        stamp = func.replace(func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US'), ".000000", "")
        return (stamp + literal("+00:00", String)).label(col.name)
    if ptype is date:
        return func.to_char(col, "YYYY-MM-DD").label(col.name)
    if ptype is int:
        return cast(col, String).label(col.name)
    raise ValueError(f"no archive text for {col.name}")  # pragma: no cover - usable() said so


# --- restore ------------------------------------------------------------------------------------

_ISO_DT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{6})?\+00:00"
_DT_COLUMN = re.compile(f"(?:{_ISO_DT}\n)*{_ISO_DT}")


def _pg_datetime(text: str) -> str:
    """A CSV timestamp as text PostgreSQL reads as the same instant, validated as
    :func:`.format.from_text` validates it."""
    return stored_datetime(text) + "+00"


def _pg_datetimes(values: list[str]) -> list[str]:
    if _DT_COLUMN.fullmatch("\n".join(values)):
        deque(map(datetime.fromisoformat, values), maxlen=0)  # ranges (month 13, 30 February)
        return values  # PostgreSQL reads the ISO text itself, offset included
    return [_pg_datetime(v) for v in values]


def _column_converter(col) -> Callable[[list[str]], list] | None:
    """A batch's column of CSV cells -> what COPY is given; None for text. Raises ValueError or
    KeyError on a bad cell (the caller then finds it cell by cell)."""
    if python_type(col) is not datetime:
        return stored_column_converter(col)  # integers, booleans as 0/1, dates as ISO text
    nullable = col.nullable

    def column(values: list[str]) -> list:
        if "" not in values:
            return _pg_datetimes(values)
        if not nullable:
            raise ValueError("empty value")
        return [None if v == "" else _pg_datetime(v) for v in values]

    return column


def _cell_converter(col) -> Callable[[str], Any] | None:
    if python_type(col) is not datetime:
        return stored_cell_converter(col)
    name, nullable = col.name, col.nullable

    def cell(text: str) -> Any:
        if text == "":
            if nullable:
                return None
            raise ValueError(f"empty value for {name}")
        return _pg_datetime(text)

    return cell


def _copy_csv(
    conn: Connection,
    reader: MemberReader,
    model,
    account_id: int,
    uncell: Callable[[str], str] | None,
    tick: ProgressCounter,
) -> int:
    rows, header, cols = csv_header(reader, model)
    width = len(header)
    by_column = [(i, f) for i, f in enumerate(_column_converter(cols[h]) for h in header) if f is not None]
    by_cell = [(i, f) for i, f in enumerate(_cell_converter(cols[h]) for h in header) if f is not None]
    table = table_of(model)
    names = ", ".join(f'"{n}"' for n in [*header, "account_id"])
    sql = f'COPY "{table.name}" ({names}) FROM STDIN'
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    import psycopg

    n = 0
    line = 2
    try:
        with cursor.copy(sql) as copy:
            write = copy.write_row
            while batch := list(islice(rows, BATCH)):
                if len(set(map(len, batch))) != 1 or len(batch[0]) != width:
                    bad = next(k for k, row in enumerate(batch) if len(row) != width)
                    raise ArchiveError(
                        f"{reader.name} line {line + bad}: expected {width} fields, got {len(batch[bad])}"
                    )
                if uncell is not None:
                    batch = [[v[1:] if v[:1] == "'" else v for v in row] for row in batch]
                by_col: list[Any] = list(zip(*batch, strict=False))
                try:
                    for i, f in by_column:
                        by_col[i] = f(by_col[i])
                    out: Any = zip(*by_col, repeat(account_id, len(batch)), strict=False)
                except (ValueError, KeyError):
                    out = _cell_by_cell(reader.name, batch, line, by_cell, account_id)
                for row in out:
                    write(row)
                n += len(batch)
                line += len(batch)
                tick(len(batch))
    except psycopg.Error as exc:
        detail = (exc.diag.message_primary or str(exc)).splitlines()[0]
        raise ArchiveError(f"{reader.name}: the database refused a row ({detail}); nothing was restored") from None
    finally:
        cursor.close()
    return n


def _cell_by_cell(name: str, batch: list[list[str]], first_line: int, by_cell: list, account_id: int) -> list:
    """The slow way, which names the line of the first bad cell."""
    out = []
    for lineno, row in enumerate(batch, start=first_line):
        cells: list[Any] = list(row)
        try:
            for i, f in by_cell:
                cells[i] = f(cells[i])
        except ValueError as exc:
            raise ArchiveError(f"{name} line {lineno}: {exc}") from None
        cells.append(account_id)
        out.append(cells)
    return out
