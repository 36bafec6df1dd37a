"""Demo accounts with realistic, deterministic data (the same seed gives the same rows).

"Acme Realty" has an owner, an administrator, a team player and an active Messages add-on;
"Birch & Co Bookkeeping" is a second, smaller account that proves isolation.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from itertools import chain
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, CursorResult, Engine

from crm_tui import db
from crm_tui.models import (
    ROLE_ADMIN,
    ROLE_OWNER,
    ROLE_TEAM_PLAYER,
    TODO_CATEGORIES,
    TODO_PRIORITIES,
    Account,
    Appointment,
    Autoresponder,
    AutoresponderStep,
    Contact,
    EmailTemplate,
    HistoryEntry,
    Invoice,
    Member,
    MessagesService,
    TextMessage,
    Todo,
)
from crm_tui.services import audit, billing, clock, reserved
from crm_tui.services.auth import hash_password
from crm_tui.services.errors import InvalidInput

BATCH = 10_000


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: str
    password: str
    account: str


ACME = "Acme Realty"
BIRCH = "Birch & Co Bookkeeping"
DEMO_USERS = (
    DemoUser("dana@acme-realty.example", "Dana Whitfield", ROLE_OWNER, "demo-owner", ACME),
    DemoUser("marcus@acme-realty.example", "Marcus Lee", ROLE_ADMIN, "demo-admin", ACME),
    DemoUser("priya@acme-realty.example", "Priya Shah", ROLE_TEAM_PLAYER, "demo-player", ACME),
    DemoUser("sam@birch-books.example", "Sam Birch", ROLE_OWNER, "demo-birch", BIRCH),
)

FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Carlos Karen Wei Nancy Ahmed Lisa Daniel Betty "
    "Matthew Sandra Anthony Ashley Mark Kimberly Zoë Emily José Donna Andrew Michelle Olusegun "
    "Carol Kenji Amanda Joshua Dorothy Kevin Melissa Brian Deborah George Stephanie Sven Rebecca "
    "Aisha Laura Chloé Helen Björn Sharon Mateo Cynthia"
).split()
LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts O'Brien Müller "
    "Kowalski Okafor Tanaka Johansson Dubois Rossi Novak"
).split()
STREETS = (
    "Maple Oak Pine Cedar Elm Birch Walnut Lakeview Hillcrest Sunset Park River Meadow "
    "Highland Willow Spruce Chestnut Magnolia"
).split()
STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct", "Way")
CITIES = (
    ("Austin", "TX", "787"),
    ("Denver", "CO", "802"),
    ("Portland", "OR", "972"),
    ("Raleigh", "NC", "276"),
    ("Phoenix", "AZ", "850"),
    ("Columbus", "OH", "432"),
    ("Tampa", "FL", "336"),
    ("Boise", "ID", "837"),
    ("Madison", "WI", "537"),
    ("Sacramento", "CA", "958"),
)
COMPANIES = (
    "Harbor Homes",
    "Summit Mortgage",
    "Blue Door Staging",
    "Keystone Title",
    "Oakline Builders",
    "Bright Path Insurance",
    "Cornerstone Lending",
    "Urban Nest",
    "",
    "",
    "",
    "",
)
CATEGORIES = ("Buyer", "Seller", "Past Client", "Lead", "Referral Partner", "Investor", "Renter", "")
COLOURS = ("blue", "green", "orange", "purple", "red", "teal")
APPOINTMENTS = (
    "Showing at {street}",
    "Listing presentation",
    "Coffee with {first}",
    "Closing walkthrough",
    "Open house prep",
    "Inspection at {street}",
    "Call about financing",
    "Market update meeting",
)
TODOS = (
    "Send comps to {first}",
    "Follow up on offer",
    "Mail anniversary card",
    "Call {first} about pre-approval",
    "Schedule photographer",
    "Update listing price",
    "Email market report",
    "Prepare CMA for {street}",
)
HISTORY = (
    ("call", "Talked with {first} about timing; wants to list in spring."),
    ("note", "{first} prefers texts after 5pm."),
    ("email", "Sent 'New listings this week' to {first}."),
    ("call", "Left voicemail for {first}."),
    ("note", "Referred by a past client; budget around $450k."),
    ("email", "Sent closing checklist."),
)
TEXTS = (
    ("out", "Hi {first}, just checking in — any questions about the listing?"),
    ("in", "Thanks! Can we see it Saturday?"),
    ("out", "Saturday 10am works. See you there."),
    ("in", "Running 5 min late."),
    ("out", "Reminder: inspection tomorrow at 9."),
)
TEMPLATES = (
    (
        "New listing alert",
        "New listing: {street}",
        "<p>Hi {{first_name}},</p><p>A new home just hit the market that fits what you told me.</p>",
    ),
    (
        "Market update",
        "Your monthly market update",
        "<p>Hi {{first_name}},</p><p>Prices in your area moved 2% this month.</p>",
    ),
    (
        "Closing congratulations",
        "Congratulations on your new home!",
        "<p>Congratulations, {{first_name}}!</p><p>It was a pleasure working with you.</p>",
    ),
    ("Open house invitation", "You're invited: open house this Sunday", "<p>Join us Sunday 1–4pm.</p>"),
    ("Anniversary check-in", "Happy home anniversary", "<p>One year ago today you got your keys!</p>"),
    ("Referral thank-you", "Thank you for the referral", "<p>Thank you for thinking of me.</p>"),
    ("Price reduction", "Price improved on {street}", "<p>Good news: the price has been reduced.</p>"),
    ("Welcome", "Welcome aboard", "<p>Thanks for reaching out — here is how I work.</p>"),
)
AUTORESPONDERS = (
    ("New buyer lead", (0, 2, 7)),
    ("Past client nurture", (30, 90, 180, 365)),
    ("Open house follow-up", (1, 3, 10)),
)


def _utc(d: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=timezone.utc)


def _batched(rows: Iterator[dict]) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(conn: Connection, model, rows: Iterator[dict]) -> int:
    if conn.dialect.name == "sqlite":
        return _insert_plain(conn, model, rows)
    if conn.dialect.name == "postgresql":
        return _insert_copy(conn, model, rows)
    n = 0
    for batch in _batched(rows):
        conn.execute(insert(model.__table__), batch)
        n += len(batch)
    return n


def _insert_plain(conn: Connection, model, rows: Iterator[dict]) -> int:
    """The same rows as ``insert()``, converted by each column's own bind processor once and
    handed to the driver's ``executemany`` as tuples: SQLAlchemy's per-row parameter
    handling is most of the time of a 250,000-contact demo otherwise."""
    table = model.__table__
    dialect = conn.dialect
    n = 0
    sql: str | None = None
    names: list[str] = []
    converters: list[tuple[int, Any]] = []
    for batch in _batched(rows):
        if sql is None:
            names = list(batch[0])
            cols = [table.c[name] for name in names]
            converters = [(i, c.type.dialect_impl(dialect).bind_processor(dialect)) for i, c in enumerate(cols)]
            converters = [(i, f) for i, f in converters if f is not None]
            placeholders = ", ".join("?" for _ in names)
            quoted = ", ".join(f'"{x}"' for x in names)
            sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})'
        params = []
        for row in batch:
            values = [row[name] for name in names]
            for i, convert in converters:
                values[i] = convert(values[i])
            params.append(tuple(values))
        conn.exec_driver_sql(sql, params)
        n += len(batch)
    return n


def _insert_copy(conn: Connection, model, rows: Iterator[dict]) -> int:
    """PostgreSQL: the same rows through ``COPY … FROM STDIN`` inside the connection's
    transaction, each value as its column's bind processor makes it (psycopg writes it as
    text the column's type reads)."""
    table = model.__table__
    dialect = conn.dialect
    first = next(rows, None)
    if first is None:
        return 0
    names = list(first)
    converters = [(i, table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for i, name in enumerate(names)]
    converters = [(i, f) for i, f in converters if f is not None]
    quoted = ", ".join(f'"{x}"' for x in names)
    cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    n = 0
    try:
        with cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            write = copy.write_row
            for row in chain((first,), rows):
                values = [row[name] for name in names]
                for i, convert in converters:
                    values[i] = convert(values[i])
                write(values)
                n += 1
    finally:
        cursor.close()
    return n


def _pk(result: CursorResult[Any]) -> int:
    """The id a single-row INSERT was given."""
    key = result.inserted_primary_key
    assert key is not None
    return key[0]


def _ids(conn: Connection, model, account_id: int) -> list[int]:
    t = model.__table__
    return list(conn.execute(select(t.c.id).where(t.c.account_id == account_id).order_by(t.c.id)).scalars())


def _other(rng: random.Random, category: str) -> str:
    """A second category, never the same as the first."""
    return rng.choice([c for c in CATEGORIES if c and c != category])


def _after(rng: random.Random, since: datetime, today: date) -> datetime:
    """A moment between ``since`` and the end of today."""
    days = max(0, (today - since.date()).days)
    moment = since + timedelta(days=rng.randint(0, days), minutes=rng.randint(0, 1439))
    return min(moment, _utc(today, 23, 59))


def _phone(rng: random.Random) -> str:
    return f"+1 ({rng.randint(201, 989)}) 555-{rng.randint(100, 9999):04d}"


def build_account(
    conn: Connection,
    name: str,
    users: list[tuple[DemoUser, str]],
    contacts: int,
    seed: int,
    *,
    messages: bool,
    plan: str,
    today: date,
    years: int = 3,
) -> int:
    rng = random.Random(f"{seed}:{name}")
    created = _utc(today - timedelta(days=365 * years + rng.randint(0, 200)))
    acc = _pk(
        conn.execute(
            insert(Account.__table__).values(
                name=name,
                slug="-".join(name.lower().replace("&", "and").split()),
                plan_id=billing.plan_id_for(conn, plan),
                status="active",
                created_at=created,
                card_brand=rng.choice(("Visa", "Mastercard", "Amex")),
                card_last4=f"{rng.randint(0, 9999):04d}",
                card_expiry=f"{rng.randint(1, 12):02d}/{today.year % 100 + 2}",
                billing_day=rng.randint(1, 28),
            )
        )
    )
    member_ids: list[int] = []
    for user, hashed in users:
        mid = _pk(
            conn.execute(
                insert(Member.__table__).values(
                    account_id=acc,
                    email=user.email,
                    name=user.name,
                    role=user.role,
                    password_hash=hashed,
                    created_at=created + timedelta(days=30 * len(member_ids)),
                    failed_logins=0,
                )
            )
        )
        member_ids.append(mid)
    span = max(1, (today - created.date()).days)

    # in id order, so history and texts name the right person and come after they were added
    first_names: list[str] = []
    added: list[datetime] = []

    def contact_rows() -> Iterator[dict]:
        for i in range(contacts):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            first_names.append(first)
            added.append(created + timedelta(days=rng.randint(0, span), minutes=rng.randint(0, 1439)))
            city, state, zip3 = rng.choice(CITIES)
            street = f"{rng.randint(10, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}"
            domain = rng.choice(("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me"))
            local = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
            yield {
                "account_id": acc,
                "owner_id": member_ids[i % len(member_ids)],
                "first_name": first,
                "last_name": last,
                "company": rng.choice(COMPANIES),
                "email": f"{local}{i}@{domain}",
                "email2": f"{local}@work.example" if i % 7 == 0 else "",
                "phone1": _phone(rng),
                "phone1_text_ok": i % 3 != 0,
                "phone2": _phone(rng) if i % 4 == 0 else "",
                "phone2_text_ok": False,
                "phone3": "",
                "phone3_text_ok": False,
                "phone4": "",
                "phone4_text_ok": False,
                "street": street,
                "city": city,
                "state": state,
                "postal_code": f"{zip3}{rng.randint(0, 99):02d}",
                "country": "USA",
                "birthday": date(rng.randint(1950, 2000), rng.randint(1, 12), rng.randint(1, 28))
                if i % 3 == 0
                else None,
                "category1": (category1 := rng.choice(CATEGORIES)),
                "category2": _other(rng, category1) if i % 5 == 0 and category1 else "",
                "notes": f"Met at {rng.choice(('an open house', 'a referral', 'the website', 'a networking event'))}."
                if i % 2 == 0
                else "",
                "created_at": added[-1],
            }

    _insert(conn, Contact, contact_rows())
    cids = _ids(conn, Contact, acc)

    def pick():
        c = rng.randrange(len(cids)) if cids else None
        return (cids[c], first_names[c], added[c]) if c is not None else (None, "them", created)

    def appointment_rows() -> Iterator[dict]:
        for i in range(max(3, contacts * 2 // 5)):
            cid, first, since = pick()
            day = today + timedelta(days=rng.randint(-span // 2 if i % 4 else 0, 45))
            start = _utc(day, rng.randint(8, 17), rng.choice((0, 15, 30, 45)))
            text = rng.choice(APPOINTMENTS).format(
                first=first, street=f"{rng.randint(10, 999)} {rng.choice(STREETS)} St"
            )
            yield {
                "account_id": acc,
                "owner_id": member_ids[i % len(member_ids)],
                "contact_id": cid,
                "description": text,
                "start": start,
                "end": start + timedelta(minutes=rng.choice((30, 45, 60, 90))),
                "colour": rng.choice(COLOURS),
            }

    def todo_rows() -> Iterator[dict]:
        for i in range(max(3, contacts * 2 // 5)):
            cid, first, since = pick()
            closed = i % 3 == 0
            due = today + timedelta(days=rng.randint(-60, 30))
            yield {
                "account_id": acc,
                "assignee_id": member_ids[i % len(member_ids)],
                "contact_id": cid,
                "summary": rng.choice(TODOS).format(
                    first=first, street=f"{rng.randint(10, 999)} {rng.choice(STREETS)} Ave"
                ),
                "details": "" if i % 2 else "See notes in the contact's history.",
                "priority": rng.choice(TODO_PRIORITIES),
                "due": due,
                "category": rng.choice(TODO_CATEGORIES),
                "status": "closed" if closed else "open",
                "completed_at": _utc(due, 16) if closed else None,
            }

    def history_rows() -> Iterator[dict]:
        for i in range(contacts):
            cid, first, since = pick()
            kind, text = rng.choice(HISTORY)
            yield {
                "account_id": acc,
                "contact_id": cid,
                "member_id": member_ids[i % len(member_ids)],
                "kind": kind,
                "at": _after(rng, since, today),
                "summary": text.format(first=first),
            }

    _insert(conn, Appointment, appointment_rows())
    _insert(conn, Todo, todo_rows())
    _insert(conn, HistoryEntry, history_rows())

    template_ids = []
    for tname, subject, body in TEMPLATES:
        template_ids.append(
            _pk(
                conn.execute(
                    insert(EmailTemplate.__table__).values(
                        account_id=acc,
                        name=tname,
                        subject=subject.format(street="412 Maple St"),
                        body=body,
                    )
                )
            )
        )
    for k, (rname, delays) in enumerate(AUTORESPONDERS):
        rid = _pk(conn.execute(insert(Autoresponder.__table__).values(account_id=acc, name=rname, active=k != 2)))
        conn.execute(
            insert(AutoresponderStep.__table__),
            [
                {
                    "account_id": acc,
                    "autoresponder_id": rid,
                    "position": pos + 1,
                    "delay": d,
                    "unit": "days",
                    "template_id": template_ids[(k * 3 + pos) % len(template_ids)],
                }
                for pos, d in enumerate(delays)
            ],
        )

    if messages:
        conn.execute(
            insert(MessagesService.__table__).values(
                account_id=acc,
                phone_number=f"+1 (512) 555-{rng.randint(1000, 9999)}",
                status="active",
                monthly_fee_cents=2500,
                activated_at=created + timedelta(days=60),
            )
        )

        def text_rows() -> Iterator[dict]:
            for i in range(max(5, contacts // 2)):
                cid, first, since = pick()
                direction, body = TEXTS[i % len(TEXTS)]
                yield {
                    "account_id": acc,
                    "contact_id": cid,
                    "direction": direction,
                    "phone": _phone(rng),
                    "body": body.format(first=first),
                    "sent_at": _after(rng, max(since, created + timedelta(days=60)), today),
                }

        _insert(conn, TextMessage, text_rows())

    plan_price = dict((c, p) for c, _n, p, _m in billing.PLANS)[plan]
    seats = len(users) - 1
    amount = plan_price + seats * billing.SEAT_PRICE_CENTS + (2500 if messages else 0)

    billing_day = conn.execute(
        select(Account.__table__.c.billing_day).where(Account.__table__.c.id == acc)
    ).scalar_one()
    # the last twelve billing dates on or before today, oldest first
    billed = [
        billing.next_billing_date(billing_day, clock.add_months(today, -k) - timedelta(days=1)) for k in range(13)
    ]
    billed = sorted(d for d in billed if d <= today)[-12:]

    def invoice_rows() -> Iterator[dict]:
        for issued in billed:
            yield {
                "account_id": acc,
                "number": f"INV-{acc:04d}-{issued:%Y%m}",
                "issued_on": issued,
                "description": f"{plan.title()} plan, {seats} seat{'s' if seats != 1 else ''}"
                f"{', Messages' if messages else ''} — {issued:%B %Y}",
                "amount_cents": amount,
                "status": "paid",
            }

    _insert(conn, Invoice, invoice_rows())
    return acc


def present_demo_users(engine: Engine) -> list[DemoUser]:
    """The demo users that still have an account here (a closed account's users are gone),
    each with the role it holds now (a transfer of ownership changes two of them)."""
    m = Member.__table__
    with db.read_connection(engine) as conn:
        roles = dict(
            conn.execute(select(m.c.email, m.c.role).where(m.c.email.in_([u.email for u in DEMO_USERS]))).all()
        )
    return [replace(u, role=roles[u.email]) for u in DEMO_USERS if u.email in roles]


def create(engine: Engine, *, contacts: int = 250, seed: int = 1, reset: bool = False) -> list[DemoUser]:
    """Create both demo accounts; with ``reset``, delete the existing ones first."""
    if contacts < 0 or contacts > 5_000_000:
        raise InvalidInput("--contacts must be between 0 and 5000000")
    hashed = {u.email: hash_password(u.password) for u in DEMO_USERS}
    today = clock.now().date()
    with db.write_session(engine) as s:
        conn = s.connection()
        existing = list(
            conn.execute(
                select(Member.__table__.c.account_id).where(Member.__table__.c.email.in_([u.email for u in DEMO_USERS]))
            ).scalars()
        )
        if existing and not reset:
            raise InvalidInput("the demo accounts exist already; use 'crm-tui demo --reset' to recreate them")
        reserved.refuse_reserved(conn, [u.email for u in DEMO_USERS], what="the demo accounts were not created")
        if existing:
            conn.execute(delete(Account.__table__).where(Account.__table__.c.id.in_(set(existing))))
        billing.ensure_plans(conn)
        for account, plan, n, messages in (
            (ACME, "professional", contacts, True),
            (BIRCH, "starter", max(1, contacts // 10), False),
        ):
            users = [(u, hashed[u.email]) for u in DEMO_USERS if u.account == account]
            acc = build_account(conn, account, users, n, seed, messages=messages, plan=plan, today=today)
            audit.append(s, "demo.create", actor="system", account_id=acc, details={"contacts": n})
    db.checkpoint(engine)
    return list(DEMO_USERS)
