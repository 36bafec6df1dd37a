"""Billing & Plan: plan, seats, add-ons, monthly total, next billing date, card, invoices."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import col

from crm_tui import db
from crm_tui.models import ROLE_OWNER, Account, Invoice, Member, MessagesService, Plan
from crm_tui.services import audit, clock, zones
from crm_tui.services.auth import SignedIn, load_actor
from crm_tui.services.errors import InvalidInput, NotFound

SEAT_PRICE_CENTS = 1500

PLANS = (
    # code, name, monthly price (cents), contacts limit (0: none)
    ("starter", "Starter", 2900, 2_500),
    ("professional", "Professional", 5900, 25_000),
    ("enterprise", "Enterprise", 9900, 0),
)


def ensure_plans(conn: Connection) -> None:
    t = Plan.__table__
    have = set(conn.execute(select(t.c.code)).scalars())
    missing = [
        {
            "code": c,
            "name": n,
            "monthly_price_cents": p,
            "seat_price_cents": SEAT_PRICE_CENTS,
            "included_seats": 1,
            "max_contacts": m,
        }
        for c, n, p, m in PLANS
        if c not in have
    ]
    if missing:
        conn.execute(insert(t), missing)


def plan_id_for(conn: Connection, code: str) -> int:
    ensure_plans(conn)
    t = Plan.__table__
    pid = conn.execute(select(t.c.id).where(t.c.code == code)).scalar()
    if pid is None:
        raise NotFound(f"no plan with the code {code!r}")
    return pid


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def next_billing_date(billing_day: int, today: date) -> date:
    def on(year: int, month: int) -> date:
        return date(year, month, min(billing_day, calendar.monthrange(year, month)[1]))

    this = on(today.year, today.month)
    if this > today:
        return this
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return on(year, month)


@dataclass(frozen=True)
class InvoiceLine:
    number: str
    issued_on: date
    description: str
    amount_cents: int
    status: str


@dataclass(frozen=True)
class BillingSummary:
    account_name: str
    plan_code: str
    plan_name: str
    plan_price_cents: int
    seats: int  # team members besides the owner, each billed as a seat
    seat_price_cents: int
    messages_active: bool
    messages_fee_cents: int
    monthly_total_cents: int
    next_billing: date
    card: str
    invoices: tuple[InvoiceLine, ...]
    plans: tuple[tuple[str, str, int], ...]


def summary(engine: Engine, who: SignedIn, invoices: int = 6) -> BillingSummary:
    with db.read_session(engine) as s:
        member = load_actor(s, who, "billing.view")
        account = s.get(Account, member.account_id)
        assert account is not None  # the signed-in member's own account
        plan = s.get(Plan, account.plan_id)
        assert plan is not None  # plan_id is a foreign key
        seats = s.execute(
            select(func.count())
            .select_from(Member)
            .where(col(Member.account_id) == account.id, col(Member.role) != ROLE_OWNER)
        ).scalar_one()
        svc = s.execute(select(MessagesService).where(col(MessagesService.account_id) == account.id)).scalar()
        messages_active = bool(svc and svc.status == "active")
        fee = svc.monthly_fee_cents if svc and messages_active else 0
        rows = s.execute(
            select(Invoice)
            .where(col(Invoice.account_id) == account.id)
            .order_by(col(Invoice.issued_on).desc(), col(Invoice.id).desc())
            .limit(invoices)
        ).scalars()
        lines = tuple(InvoiceLine(i.number, i.issued_on, i.description, i.amount_cents, i.status) for i in rows)
        plans = tuple(
            (p.code, p.name, p.monthly_price_cents)
            for p in s.execute(select(Plan).order_by(col(Plan.monthly_price_cents))).scalars()
        )
        card = (
            f"{account.card_brand} ending {account.card_last4} (expires {account.card_expiry})"
            if account.card_last4
            else "none on file"
        )
        return BillingSummary(
            account_name=account.name,
            plan_code=plan.code,
            plan_name=plan.name,
            plan_price_cents=plan.monthly_price_cents,
            seats=seats,
            seat_price_cents=plan.seat_price_cents,
            messages_active=messages_active,
            messages_fee_cents=fee,
            monthly_total_cents=plan.monthly_price_cents + seats * plan.seat_price_cents + fee,
            # the next billing day from the owner's today (billing days are days where they are)
            next_billing=next_billing_date(
                account.billing_day, zones.date_of(clock.now(), zones.zone_for(member.time_zone))
            ),
            card=card,
            invoices=lines,
            plans=plans,
        )


def change_plan(engine: Engine, who: SignedIn, code: str) -> str:
    """Switch the account to another plan; returns the new plan's name."""
    with db.write_session(engine) as s:
        member = load_actor(s, who, "billing.change_plan")
        plan = s.execute(select(Plan).where(col(Plan.code) == code)).scalar()
        if plan is None:
            raise InvalidInput(f"no plan with the code {code!r}; choose one of: {', '.join(p[0] for p in PLANS)}")
        account = s.get(Account, member.account_id)
        assert account is not None  # the signed-in member's own account
        current = s.get(Plan, account.plan_id)
        assert current is not None  # plan_id is a foreign key
        old = current.code
        if plan.code == old:
            raise InvalidInput(f"the account is on the {plan.name} plan already; nothing changed")
        assert plan.id is not None  # a stored plan
        account.plan_id = plan.id
        audit.append(
            s,
            "plan.change",
            actor=audit.actor_of(member.id),
            account_id=account.id,
            details={"from": old, "to": plan.code},
        )
        return plan.name
