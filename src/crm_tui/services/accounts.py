"""What closing an account would delete: counts per kind and who loses access."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import col

from crm_tui import db
from crm_tui.models import Account, Member, MessagesService, Plan
from crm_tui.services.archive import KIND_LABELS, count_rows
from crm_tui.services.auth import SUPPORT_EMAIL, SignedIn, load_actor
from crm_tui.text import noun

TWILIO_NOTE = "Your phone number itself is not cancelled here: cancel it separately in your Twilio account."
KEEP_EXPORT = "Keep your export: you can import it into a new account at any time."

# One of each kind, for counts in words ("1 team member"); the plurals are archive.KIND_LABELS.
KIND_NOUNS = {
    "contacts": "contact",
    "appointments": "appointment",
    "todos": "to-do",
    "email_templates": "email template",
    "autoresponders": "autoresponder",
    "history": "history entry",
    "text_messages": "text message",
    "team_members": "team member",
    "invoices": "invoice",
}


def count_lines(counts: dict[str, int]) -> list[tuple[str, int]]:
    """(the kind in words for that count, the count), in the order of ``counts``."""
    return [(noun(n, KIND_NOUNS[k], KIND_LABELS[k]), n) for k, n in counts.items()]


def count_table(lines: list[tuple[str, int]], column: int = 34) -> list[str]:
    """Counts in two columns ("       60  contacts     12  appointments"), down then across."""
    cells = [f"{n:>9,}  {label}" for label, n in lines]
    half = (len(cells) + 1) // 2
    return [f"{left:<{column}}{right}".rstrip() for left, right in zip(cells[:half], cells[half:] + [""], strict=False)]


@dataclass(frozen=True)
class TeamMemberInfo:
    id: int
    name: str
    email: str
    role: str


@dataclass(frozen=True)
class Impact:
    account_id: int
    account_name: str
    plan_name: str
    counts: dict[str, int]
    members_losing_access: tuple[TeamMemberInfo, ...]
    messages_active: bool
    messages_phone: str

    def lines(self) -> list[tuple[str, int]]:
        return count_lines(self.counts)

    def as_json(self) -> dict:
        return {
            "account": self.account_name,
            "plan": self.plan_name,
            "counts": self.counts,
            "members_losing_access": [m.__dict__ for m in self.members_losing_access],
            "messages_active": self.messages_active,
            "messages_phone": self.messages_phone,
            "support": SUPPORT_EMAIL,
        }


def impact(engine: Engine, who: SignedIn) -> Impact:
    with db.read_session(engine) as s:
        owner = load_actor(s, who, "account.impact")
        account = s.get(Account, owner.account_id)
        assert account is not None and account.id is not None  # the signed-in owner's own account
        plan = s.get(Plan, account.plan_id)
        assert plan is not None  # plan_id is a foreign key
        counts = count_rows(s.connection(), account.id)
        members = tuple(
            TeamMemberInfo(cast(int, m.id), m.name, m.email, m.role)  # stored rows have their ids
            for m in s.execute(
                select(Member)
                .where(col(Member.account_id) == account.id, col(Member.id) != owner.id)
                .order_by(Member.name)
            ).scalars()
        )
        svc = s.execute(select(MessagesService).where(col(MessagesService.account_id) == account.id)).scalar()
        return Impact(
            account_id=account.id,
            account_name=account.name,
            plan_name=plan.name,
            counts=counts,
            members_losing_access=members,
            messages_active=bool(svc and svc.status == "active"),
            messages_phone=svc.phone_number if svc else "",
        )
