"""What closing an account would delete: counts per kind and who loses access."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine

from crm_tui import db
from crm_tui.models import Account, Member, MessagesService, Plan
from crm_tui.services.archive import KIND_LABELS, count_rows
from crm_tui.services.auth import SUPPORT_EMAIL, SignedIn, load_actor

TWILIO_NOTE = (
    "Your phone number itself is not cancelled here: cancel it separately in your Twilio account."
)


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
        return [(KIND_LABELS[k], n) for k, n in self.counts.items()]

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
        plan = s.get(Plan, account.plan_id)
        counts = count_rows(s.connection(), account.id)
        members = tuple(
            TeamMemberInfo(m.id, m.name, m.email, m.role)
            for m in s.execute(
                select(Member).where(Member.account_id == account.id, Member.id != owner.id).order_by(Member.name)
            ).scalars()
        )
        svc = s.execute(select(MessagesService).where(MessagesService.account_id == account.id)).scalar()
        return Impact(
            account_id=account.id,
            account_name=account.name,
            plan_name=plan.name,
            counts=counts,
            members_losing_access=members,
            messages_active=bool(svc and svc.status == "active"),
            messages_phone=svc.phone_number if svc else "",
        )
