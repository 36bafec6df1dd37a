"""The dashboard: counts, upcoming appointments and open to-dos of the signed-in account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from crm_tui import db
from crm_tui.models import Appointment, Contact, Todo
from crm_tui.services import clock
from crm_tui.services.auth import SignedIn, load_actor


@dataclass(frozen=True)
class Dashboard:
    contacts: int
    upcoming_appointments: int
    open_todos: int
    next_appointments: tuple[tuple[datetime, str], ...]
    next_todos: tuple[tuple[date | None, int, str], ...]


def dashboard(engine: Engine, who: SignedIn, limit: int = 5) -> Dashboard:
    now = clock.now()
    with db.read_session(engine) as s:
        load_actor(s, who)
        acc = who.account_id

        def count(model, *where) -> int:
            return s.execute(select(func.count()).select_from(model).where(model.account_id == acc, *where)).scalar_one()

        appts = s.execute(
            select(Appointment.start, Appointment.description)
            .where(Appointment.account_id == acc, Appointment.start >= now)
            .order_by(Appointment.start).limit(limit)
        ).all()
        # Dated to-dos first, then undated ones. Two queries, because one ORDER BY
        # "due IS NULL, due" cannot walk the (account, status, due) index and sorted every open
        # to-do of the account (1.3 s at 250,000 contacts; this takes milliseconds).
        open_todos = select(Todo.due, Todo.priority, Todo.summary).where(
            Todo.account_id == acc, Todo.status == "open")
        todos = s.execute(
            open_todos.where(Todo.due.is_not(None)).order_by(Todo.due, Todo.priority).limit(limit)
        ).all()
        if len(todos) < limit:
            todos += s.execute(
                open_todos.where(Todo.due.is_(None)).order_by(Todo.priority).limit(limit - len(todos))
            ).all()
        return Dashboard(
            contacts=count(Contact),
            upcoming_appointments=count(Appointment, Appointment.start >= now),
            open_todos=count(Todo, Todo.status == "open"),
            next_appointments=tuple((a, d) for a, d in appts),
            next_todos=tuple((d, p, t) for d, p, t in todos),
        )
