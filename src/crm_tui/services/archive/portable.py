"""The archive's database interface, and its portable implementation: SQLAlchemy Core
statements and typed values, for any database SQLAlchemy speaks (PostgreSQL, and SQLite).

An implementation reads a table's rows as CSV text (export, backup) and inserts a CSV
member's rows (restore, import). :mod:`.sqlite` is the same interface on SQLite's driver
(stored values, whole-column conversions, multi-row statements); :func:`.database_for`
picks one by the connection's dialect. Both give the same bytes and store the same values:
the tests run every round trip on both."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, String, Table, insert, select, type_coerce
from sqlalchemy.engine import Connection

from crm_tui.services.archive.format import BATCH, ProgressCounter, cell_converter, python_type, table_of
from crm_tui.services.archive.reader import MemberReader, csv_rows
from crm_tui.services.archive.sqlite_values import bool_text, date_text, datetime_text


class Tap:
    """Something else written from a data member's rows as they are read (see
    :meth:`PortableDatabase.csv_batches`): called with each batch as stored; ``joined(table)`` gives the FROM
    clause that adds ``columns`` after the table's own."""

    columns: tuple = ()
    joined: Callable[[Table], Any] | None = None

    def __call__(self, rows: list) -> None:
        raise NotImplementedError


class PortableDatabase:
    """Reads and inserts member rows through SQLAlchemy, one typed value per cell."""

    name = "portable"
    #: whether :meth:`csv_batches` feeds a :class:`Tap` (else the tap's member is written on its own)
    taps = False
    #: whether :meth:`insert_csv` takes ``remap`` (an import then chooses the new ids itself)
    assigns_ids = False

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
        """The CSV rows (lists of cell texts, ``None`` for "") of one table's rows in the
        account (and ``where``), in id order, a batch at a time; ``progress`` is told each
        batch's size. ``neutral``: every text cell escaped with :func:`.format.neutralise`.
        An implementation with :attr:`taps` also gives ``tap`` each batch as stored (with its
        ``joined`` columns after the table's), so another member is written from the same read."""
        query = self.account_rows(model, account_id, cols, where)
        exprs, convert = select_as_text(conn, cols, neutral)
        query = query.with_only_columns(*exprs)
        for partition in stream(conn, query):
            yield [[f(v) for f, v in zip(convert, row, strict=False)] for row in partition]
            progress(len(partition))

    @staticmethod
    def account_rows(model, account_id: int, cols: list, where=None):
        t = table_of(model)
        query = select(*cols).where(t.c.account_id == account_id)
        return (query if where is None else query.where(where)).order_by(t.c.id)

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
        """Insert a CSV member's rows under ``account_id`` inside the caller's transaction;
        returns how many. ``uncell`` undoes a cell's formula escape. ``remap`` (only with
        :attr:`assigns_ids`): column name -> a function given a batch's values of that column
        (in row order) returning the values to insert instead (an import's new ids)."""
        if remap:
            raise NotImplementedError("the portable path inserts remapped rows itself (see services.importer)")
        return insert_batches(conn, model, _counted(csv_rows(reader, model, account_id, uncell), tick))


def select_as_text(conn: Connection, cols: list, neutral: bool = False) -> tuple[list, list[Callable[[Any], str]]]:
    """Column expressions to SELECT and, for each, the function making its CSV text. SQLite
    keeps timestamps as naive UTC text, dates as text and booleans as 0/1: those are read as
    stored and written as the typed values are (see :mod:`.sqlite_values`)."""
    sqlite = conn.dialect.name == "sqlite"
    exprs: list = []
    convert: list = []
    for col in cols:
        ptype = python_type(col)
        if sqlite and ptype is datetime:
            exprs.append(type_coerce(col, String).label(col.name))
            convert.append(datetime_text)
        elif sqlite and ptype is date:
            exprs.append(type_coerce(col, String).label(col.name))
            convert.append(date_text)
        elif sqlite and ptype is bool:
            exprs.append(type_coerce(col, Integer).label(col.name))
            convert.append(bool_text)
        else:
            exprs.append(col)
            convert.append(cell_converter(col, neutral))
    return exprs, convert


def stream(conn: Connection, statement) -> Iterator[Sequence[Any]]:
    """Rows of a SELECT, fetched from a server-side cursor one batch at a time."""
    # per statement: Connection.execution_options() would change the caller's connection for good
    result = conn.execute(statement, execution_options={"stream_results": True, "yield_per": BATCH})
    yield from result.partitions(BATCH)


def insert_batches(conn: Connection, model, rows: Iterable[dict]) -> int:
    t = table_of(model)
    batch: list[dict] = []
    n = 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            conn.execute(insert(t), batch)
            n += len(batch)
            batch = []
    if batch:
        conn.execute(insert(t), batch)
        n += len(batch)
    return n


def _counted(rows: Iterator[dict], tick: ProgressCounter) -> Iterator[dict]:
    n = 0
    for row in rows:
        yield row
        n += 1
        if n % BATCH == 0:
            tick(BATCH)
    tick(n % BATCH)
