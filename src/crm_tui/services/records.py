"""Read queries behind the lists: contacts (keyset-paged, searchable), a contact's details,
appointments, to-dos, email templates and autoresponders.

Every query is scoped to the signed-in member's account (``auth.load_actor`` re-reads the
member in the same transaction, so a removed member or a closed account reads nothing).

Contacts are paged in SQL with a keyset on ``(last_name, first_name, id)``, the column order
of the index ``ix_contact_account_name``: a page costs the same at row 10 as at row 250,000,
and no ``OFFSET`` walks over the rows before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from html.parser import HTMLParser
from typing import Any, cast

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import col

from crm_tui import db
from crm_tui.models import (
    Appointment,
    Autoresponder,
    AutoresponderStep,
    Contact,
    EmailTemplate,
    HistoryEntry,
    Member,
    Todo,
)
from crm_tui.services import clock
from crm_tui.services.auth import SignedIn, load_actor
from crm_tui.services.errors import InvalidInput, NotFound
from crm_tui.services.inputs import refuse_nul

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
LIST_LIMIT = 500  # appointments / to-dos shown at most in one list
MAX_QUERY = 200

# --- contacts: keyset pages -----------------------------------------------------------

Key = tuple[str, str, int]  # (last_name, first_name, id)


@dataclass(frozen=True)
class ContactRow:
    id: int
    first_name: str
    last_name: str
    company: str
    email: str
    phone: str

    @property
    def key(self) -> Key:
        return (self.last_name, self.first_name, self.id)

    @property
    def name(self) -> str:
        if self.last_name and self.first_name:
            return f"{self.last_name}, {self.first_name}"
        return self.last_name or self.first_name


@dataclass(frozen=True)
class ContactPage:
    rows: tuple[ContactRow, ...]
    total: int  # contacts matching the search (all of them without one)
    has_prev: bool
    has_next: bool
    query: str = ""

    @property
    def first_key(self) -> Key | None:
        return self.rows[0].key if self.rows else None

    @property
    def last_key(self) -> Key | None:
        return self.rows[-1].key if self.rows else None


_SEARCHED = ("last_name", "first_name", "email", "company")


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _terms(query: str) -> list[str]:
    refuse_nul(query, "a search", field="query")
    query = query.strip()
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"a search can be at most {MAX_QUERY} characters")
    return query.split()


def _search_sql(terms: list[str], params: dict, dialect: str) -> str:
    """Each whitespace-separated term must appear (case-insensitively, anywhere) in the last
    name, first name, email or company.

    SQLite's LIKE ignores case; PostgreSQL's does not, and its ILIKE is served by the trigram
    index on those four columns (migration 0005)."""
    like = "ILIKE" if dialect == "postgresql" else "LIKE"
    parts = []
    for i, term in enumerate(terms):
        params[f"t{i}"] = _like(term)
        parts.append("(" + " OR ".join(f"{col} {like} :t{i} ESCAPE '\\'" for col in _SEARCHED) + ")")
    return " AND ".join(parts)


# a search matching at most this many contacts finds them all, then sorts them (PostgreSQL);
# more than that, and walking the name index in order meets a page of them soon enough
_FEW_MATCHES = 5000


def _searched_table(dialect: str) -> str:
    """On SQLite, a search reads the table in one sequential pass (see :func:`contacts_page`);
    elsewhere the planner chooses (on PostgreSQL, the trigram index for a selective term)."""
    return "contact NOT INDEXED" if dialect == "sqlite" else "contact"


# untyped rows: ContactRow(*row) is given the stored ids, which the model types as optional
_CONTACT_COLUMNS: tuple[Any, ...] = (
    col(Contact.id),
    col(Contact.first_name),
    col(Contact.last_name),
    col(Contact.company),
    col(Contact.email),
    col(Contact.phone1),
)
_COLUMN_SQL = "id, first_name, last_name, company, email, phone1"
_KEY = (col(Contact.last_name), col(Contact.first_name), col(Contact.id))


def contacts_page(
    engine: Engine,
    who: SignedIn,
    *,
    after: Key | None = None,
    before: Key | None = None,
    last: bool = False,
    query: str = "",
    limit: int = PAGE_SIZE,
    total: int | None = None,
) -> ContactPage:
    """One page of the account's contacts in name order.

    ``after``: the page following that key; ``before``: the page preceding it; ``last``:
    the final page; none of them: the first page. ``query`` filters (see ``_search_sql``).
    ``total``: the count from an earlier page of the same search, so it is not counted again.

    Without a search a page is an index range scan. With one, the filter needs columns the
    index lacks, and walking the index in order would fetch every row at random; one
    sequential pass over the table (``NOT INDEXED``) and a top-N sort is several times faster.
    On PostgreSQL the search's trigram index finds the matching rows (migration 0005).
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f"a page holds 1 to {MAX_PAGE_SIZE} rows")
    if after is not None and before is not None:
        raise InvalidInput("ask for the page after a key or before it, not both")
    terms = _terms(query)
    shown_query = " ".join(terms)
    backwards = before is not None or (last and after is None)
    with db.read_session(engine) as s:
        load_actor(s, who)
        if not terms:
            where: list[Any] = [col(Contact.account_id) == who.account_id]
            if after is not None:
                where.append(tuple_(*_KEY) > tuple_(*after))
            if before is not None:
                where.append(tuple_(*_KEY) < tuple_(*before))
            order = [c.desc() for c in _KEY] if backwards else list(_KEY)
            got = s.execute(select(*_CONTACT_COLUMNS).where(*where).order_by(*order).limit(limit)).all()
            if backwards:
                got = got[::-1]
            rows = tuple(ContactRow(*r) for r in got)
            if total is None:
                total = s.execute(
                    select(func.count()).select_from(Contact).where(col(Contact.account_id) == who.account_id)
                ).scalar_one()
            if not rows:
                return ContactPage((), total, False, False)

            def exists(cond) -> bool:
                return (
                    s.execute(
                        select(col(Contact.id)).where(col(Contact.account_id) == who.account_id, cond).limit(1)
                    ).first()
                    is not None
                )

            return ContactPage(
                rows, total, exists(tuple_(*_KEY) < tuple_(*rows[0].key)), exists(tuple_(*_KEY) > tuple_(*rows[-1].key))
            )

        dialect = engine.dialect.name
        params: dict = {"acc": who.account_id, "n": limit + 1}
        where_sql = "account_id = :acc AND " + _search_sql(terms, params, dialect)
        table = _searched_table(dialect)
        cursor_sql = ""
        if after is not None or before is not None:
            cursor = after if after is not None else before
            assert cursor is not None
            params["k1"], params["k2"], params["k3"] = cursor
            op = ">" if after is not None else "<"
            cursor_sql = f" AND (last_name, first_name, id) {op} (:k1, :k2, :k3)"
        direction = " DESC" if backwards else ""
        matching = f"SELECT {_COLUMN_SQL} FROM {table} WHERE {where_sql}{cursor_sql}"
        order_sql = f"ORDER BY last_name{direction}, first_name{direction}, id{direction} LIMIT :n"
        if total is None:
            total = s.execute(text(f"SELECT count(*) FROM {table} WHERE {where_sql}"), params).scalar_one()
        if dialect == "postgresql" and total <= _FEW_MATCHES:
            # Few matches: find them first (as the count just did), then sort them. Left to
            # itself the planner, whose estimate for a pattern inside a word is rough, may walk
            # the name index in order and test every contact of the account, hoping to meet a
            # page of matches early; a rare term meets none.
            sql = f"WITH hit AS MATERIALIZED ({matching}) SELECT {_COLUMN_SQL} FROM hit {order_sql}"
        else:
            sql = f"{matching} {order_sql}"
        got = s.execute(text(sql), params).all()
        more = len(got) > limit
        got = got[:limit]
        if backwards:
            got = got[::-1]
        rows = tuple(ContactRow(*r) for r in got)
        if not rows:
            return ContactPage((), total, False, False, shown_query)
        # the cursor came from a row of this search, so that side has rows too
        if backwards:
            has_prev, has_next = more, before is not None
        else:
            has_prev, has_next = after is not None, more
        return ContactPage(rows, total, has_prev, has_next, shown_query)


def all_contact_ids(engine: Engine, who: SignedIn, query: str = "") -> list[int]:
    """The ids of every contact matching ``query``, in name order (for group actions)."""
    terms = _terms(query)
    with db.read_session(engine) as s:
        load_actor(s, who)
        if not terms:
            ids = s.execute(
                select(col(Contact.id)).where(col(Contact.account_id) == who.account_id).order_by(*_KEY)
            ).scalars()
            return cast("list[int]", list(ids))  # stored rows have their ids
        dialect = engine.dialect.name
        params: dict = {"acc": who.account_id}
        where_sql = "account_id = :acc AND " + _search_sql(terms, params, dialect)
        table = _searched_table(dialect)
        return list(
            s.execute(
                text(f"SELECT id FROM {table} WHERE {where_sql} ORDER BY last_name, first_name, id"), params
            ).scalars()
        )


# --- one contact, every field -----------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    number: str
    text_ok: bool


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    kind: str
    summary: str
    member: str


@dataclass(frozen=True)
class ContactDetail:
    id: int
    first_name: str
    last_name: str
    company: str
    email: str
    email2: str
    phones: tuple[Phone, ...]
    street: str
    city: str
    state: str
    postal_code: str
    country: str
    birthday: date | None
    categories: tuple[str, ...]
    notes: str
    owner: str
    created_at: datetime
    history: tuple[HistoryLine, ...]
    history_total: int

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


def contact_detail(engine: Engine, who: SignedIn, contact_id: int, history: int = 20) -> ContactDetail:
    with db.read_session(engine) as s:
        load_actor(s, who)
        c = s.get(Contact, contact_id)
        if c is None or c.account_id != who.account_id:
            raise NotFound(f"no contact with id {contact_id} in this account")
        owner = s.get(Member, c.owner_id)
        lines = s.execute(
            select(col(HistoryEntry.at), col(HistoryEntry.kind), col(HistoryEntry.summary), col(Member.name))
            .join(Member, col(Member.id) == col(HistoryEntry.member_id), isouter=True)
            .where(col(HistoryEntry.account_id) == who.account_id, col(HistoryEntry.contact_id) == c.id)
            .order_by(col(HistoryEntry.at).desc(), col(HistoryEntry.id).desc())
            .limit(history)
        ).all()
        total = s.execute(
            select(func.count())
            .select_from(HistoryEntry)
            .where(col(HistoryEntry.account_id) == who.account_id, col(HistoryEntry.contact_id) == c.id)
        ).scalar_one()
        phones = tuple(
            Phone(getattr(c, f"phone{i}"), bool(getattr(c, f"phone{i}_text_ok")))
            for i in range(1, 5)
            if getattr(c, f"phone{i}")
        )
        return ContactDetail(
            cast(int, c.id),
            c.first_name,
            c.last_name,
            c.company,
            c.email,
            c.email2,
            phones,
            c.street,
            c.city,
            c.state,
            c.postal_code,
            c.country,
            c.birthday,
            tuple(x for x in (c.category1, c.category2) if x),
            c.notes,
            owner.name if owner else "",
            c.created_at,
            tuple(HistoryLine(at, kind, summary, name or "") for at, kind, summary, name in lines),
            total,
        )


# --- appointments and to-dos --------------------------------------------------------------


@dataclass(frozen=True)
class AppointmentRow:
    id: int
    start: datetime
    end: datetime
    description: str
    contact: str
    owner: str
    upcoming: bool


@dataclass(frozen=True)
class AppointmentList:
    rows: tuple[AppointmentRow, ...]
    total: int
    upcoming: int


def _contact_name():
    return func.trim(col(Contact.first_name) + " " + col(Contact.last_name))


def appointments(engine: Engine, who: SignedIn, limit: int = LIST_LIMIT) -> AppointmentList:
    """Upcoming appointments first (soonest first), then past ones (latest first)."""
    now = clock.now()
    with db.read_session(engine) as s:
        load_actor(s, who)
        acc = who.account_id
        base = (
            select(
                col(Appointment.id),
                col(Appointment.start),
                col(Appointment.end),
                col(Appointment.description),
                _contact_name(),
                col(Member.name),
            )
            .join(Contact, col(Contact.id) == col(Appointment.contact_id), isouter=True)
            .join(Member, col(Member.id) == col(Appointment.owner_id), isouter=True)
        )
        ahead = s.execute(
            base.where(col(Appointment.account_id) == acc, col(Appointment.start) >= now)
            .order_by(col(Appointment.start), col(Appointment.id))
            .limit(limit)
        ).all()
        behind = (
            s.execute(
                base.where(col(Appointment.account_id) == acc, col(Appointment.start) < now)
                .order_by(col(Appointment.start).desc(), col(Appointment.id).desc())
                .limit(max(0, limit - len(ahead)))
            ).all()
            if len(ahead) < limit
            else []
        )
        total = s.execute(
            select(func.count()).select_from(Appointment).where(col(Appointment.account_id) == acc)
        ).scalar_one()
        upcoming = s.execute(
            select(func.count())
            .select_from(Appointment)
            .where(col(Appointment.account_id) == acc, col(Appointment.start) >= now)
        ).scalar_one()
        rows = tuple(AppointmentRow(i, st, en, d, cn or "", on or "", True) for i, st, en, d, cn, on in ahead)
        rows += tuple(AppointmentRow(i, st, en, d, cn or "", on or "", False) for i, st, en, d, cn, on in behind)
        return AppointmentList(rows, total, upcoming)


@dataclass(frozen=True)
class TodoRow:
    id: int
    summary: str
    priority: int
    due: date | None
    category: str
    status: str
    contact: str
    assignee: str


@dataclass(frozen=True)
class TodoList:
    rows: tuple[TodoRow, ...]
    status: str
    total: int  # with this status
    open: int
    closed: int


def todos(engine: Engine, who: SignedIn, status: str = "open", limit: int = LIST_LIMIT) -> TodoList:
    """Open to-dos by due date (undated last), or closed ones, most recently due first."""
    if status not in ("open", "closed"):
        raise InvalidInput("status must be open or closed")
    with db.read_session(engine) as s:
        load_actor(s, who)
        acc = who.account_id
        order = (
            (col(Todo.due).is_(None), col(Todo.due), col(Todo.priority), col(Todo.id))
            if status == "open"
            else (col(Todo.due).is_(None), col(Todo.due).desc(), col(Todo.id).desc())
        )
        got = s.execute(
            select(
                col(Todo.id),
                col(Todo.summary),
                col(Todo.priority),
                col(Todo.due),
                col(Todo.category),
                col(Todo.status),
                _contact_name(),
                col(Member.name),
            )
            .join(Contact, col(Contact.id) == col(Todo.contact_id), isouter=True)
            .join(Member, col(Member.id) == col(Todo.assignee_id), isouter=True)
            .where(col(Todo.account_id) == acc, col(Todo.status) == status)
            .order_by(*order)
            .limit(limit)
        ).all()
        counts = dict(
            s.execute(
                select(col(Todo.status), func.count()).where(col(Todo.account_id) == acc).group_by(col(Todo.status))
            ).all()
        )
        rows = tuple(TodoRow(i, sm, p, d, cat, st, cn or "", an or "") for i, sm, p, d, cat, st, cn, an in got)
        return TodoList(rows, status, counts.get(status, 0), counts.get("open", 0), counts.get("closed", 0))


# --- email templates and autoresponders ---------------------------------------------------


class _TextOfHtml(HTMLParser):
    BREAKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_data(self, data) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """The readable text of an HTML email body: tags dropped, paragraphs on their own lines."""
    parser = _TextOfHtml()
    parser.feed(html or "")
    parser.close()
    text = "".join(parser.parts)
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@dataclass(frozen=True)
class TemplateRow:
    id: int
    name: str
    subject: str
    body: str
    used_in: int  # autoresponder steps that send it

    @property
    def text(self) -> str:
        return html_to_text(self.body)


def templates(engine: Engine, who: SignedIn) -> tuple[TemplateRow, ...]:
    with db.read_session(engine) as s:
        load_actor(s, who)
        used = (
            select(func.count())
            .select_from(AutoresponderStep)
            .where(col(AutoresponderStep.template_id) == col(EmailTemplate.id))
            .scalar_subquery()
        )
        got = s.execute(
            select(
                col(EmailTemplate.id),
                col(EmailTemplate.name),
                col(EmailTemplate.subject),
                col(EmailTemplate.body),
                used,
            )
            .where(col(EmailTemplate.account_id) == who.account_id)
            .order_by(func.lower(col(EmailTemplate.name)), col(EmailTemplate.id))
        ).all()
        return tuple(TemplateRow(*r) for r in got)


@dataclass(frozen=True)
class StepRow:
    position: int
    delay: int
    unit: str
    template: str


@dataclass(frozen=True)
class AutoresponderRow:
    id: int
    name: str
    active: bool
    steps: tuple[StepRow, ...]


def autoresponders(engine: Engine, who: SignedIn) -> tuple[AutoresponderRow, ...]:
    with db.read_session(engine) as s:
        load_actor(s, who)
        acc = who.account_id
        tpl: Any = aliased(EmailTemplate)  # its attributes are column expressions, not values
        heads = s.execute(
            select(col(Autoresponder.id), col(Autoresponder.name), col(Autoresponder.active))
            .where(col(Autoresponder.account_id) == acc)
            .order_by(func.lower(col(Autoresponder.name)), col(Autoresponder.id))
        ).all()
        steps: dict[int, list[StepRow]] = {}
        for rid, pos, delay, unit, name in s.execute(
            select(
                col(AutoresponderStep.autoresponder_id),
                col(AutoresponderStep.position),
                col(AutoresponderStep.delay),
                col(AutoresponderStep.unit),
                tpl.name,
            )
            .join(tpl, tpl.id == col(AutoresponderStep.template_id), isouter=True)
            .where(col(AutoresponderStep.account_id) == acc)
            .order_by(
                col(AutoresponderStep.autoresponder_id), col(AutoresponderStep.position), col(AutoresponderStep.id)
            )
        ):
            steps.setdefault(rid, []).append(StepRow(pos, delay, unit, name or ""))
        return tuple(
            AutoresponderRow(cast(int, i), n, bool(a), tuple(steps.get(cast(int, i), ()))) for i, n, a in heads
        )
