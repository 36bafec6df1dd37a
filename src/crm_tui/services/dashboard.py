"""The dashboard: counts, upcoming appointments and open to-dos of the signed-in account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from crm_tui import db, tables
from crm_tui.services import clock
from crm_tui.services.auth import SignedIn, still_member
from crm_tui.services.errors import NotFound


@dataclass(frozen=True)
class Dashboard:
    contacts: int
    upcoming_appointments: int
    open_todos: int
    next_appointments: tuple[tuple[datetime, str], ...]
    next_todos: tuple[tuple[date | None, int, str], ...]


def dashboard(engine: Engine, who: SignedIn, limit: int = 5) -> Dashboard:
    """Three counts in one statement and two short lists, read in one transaction. Written
    against the Core clauses of :mod:`crm_tui.tables` rather than the ORM classes: the
    dashboard is the first screen after signing in, drawn before the app loads its models."""
    now = clock.now()
    c, a, t = tables.contact.c, tables.appointment.c, tables.todo.c
    with db.read_connection(engine) as conn:
        if not still_member(conn, who):
            raise NotFound("your access to this account has ended")
        acc = who.account_id
        contacts, upcoming, open_count = conn.execute(
            select(
                select(func.count()).where(c.account_id == acc).scalar_subquery(),
                select(func.count()).where(a.account_id == acc, a.start >= now).scalar_subquery(),
                select(func.count()).where(t.account_id == acc, t.status == "open").scalar_subquery(),
            )
        ).one()
        appts = conn.execute(
            select(a.start, a.description).where(a.account_id == acc, a.start >= now).order_by(a.start).limit(limit)
        ).all()
        # Dated to-dos first, then undated ones. Two queries, because one ORDER BY
        # "due IS NULL, due" cannot walk the (account, status, due) index and sorted every open
        # to-do of the account (see docs/performance.md).
        open_todos = select(t.due, t.priority, t.summary).where(t.account_id == acc, t.status == "open")
        todos = list(conn.execute(open_todos.where(t.due.is_not(None)).order_by(t.due, t.priority).limit(limit)).all())
        if len(todos) < limit:
            todos += conn.execute(
                open_todos.where(t.due.is_(None)).order_by(t.priority).limit(limit - len(todos))
            ).all()
        return Dashboard(
            contacts=contacts,
            upcoming_appointments=upcoming,
            open_todos=open_count,
            next_appointments=tuple((when, text) for when, text in appts),
            next_todos=tuple((due, prio, text) for due, prio, text in todos),
        )
