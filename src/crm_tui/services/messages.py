"""The Messages (SMS) add-on: settings and permanent cancellation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func, select
from sqlalchemy.engine import CursorResult, Engine
from sqlmodel import col

from crm_tui import db
from crm_tui.models import MessagesService, TextMessage
from crm_tui.services import audit, clock
from crm_tui.services.accounts import TWILIO_NOTE
from crm_tui.services.auth import SignedIn, confirm_with_password, load_actor
from crm_tui.services.errors import InvalidInput, NotFound


@dataclass(frozen=True)
class MessagesSettings:
    status: str  # active | cancelled | none
    phone_number: str
    monthly_fee_cents: int
    sent: int
    received: int
    activated_at: datetime | None
    cancelled_at: datetime | None
    twilio_note: str = TWILIO_NOTE


@dataclass(frozen=True)
class Cancellation:
    messages_deleted: int
    fee_removed_cents: int
    phone_number: str
    twilio_note: str = TWILIO_NOTE


def settings(engine: Engine, who: SignedIn) -> MessagesSettings:
    with db.read_session(engine) as s:
        actor = load_actor(s, who, "messages.view")
        svc = s.execute(select(MessagesService).where(col(MessagesService.account_id) == actor.account_id)).scalar()

        def n(direction: str) -> int:
            return s.execute(
                select(func.count())
                .select_from(TextMessage)
                .where(col(TextMessage.account_id) == actor.account_id, col(TextMessage.direction) == direction)
            ).scalar_one()

        if svc is None:
            return MessagesSettings("none", "", 0, n("out"), n("in"), None, None)
        return MessagesSettings(
            svc.status, svc.phone_number, svc.monthly_fee_cents, n("out"), n("in"), svc.activated_at, svc.cancelled_at
        )


def cancel(engine: Engine, who: SignedIn, password: str) -> Cancellation:
    """Permanently cancel Messages: text history deleted, add-on removed from billing."""
    confirm_with_password(engine, who, "messages.cancel", password)
    with db.write_session(engine) as s:
        actor = load_actor(s, who, "messages.cancel")
        svc = s.execute(select(MessagesService).where(col(MessagesService.account_id) == actor.account_id)).scalar()
        if svc is None:
            raise NotFound("this account has no Messages service")
        if svc.status != "active":
            raise InvalidInput("Messages is already cancelled")
        # a DML statement gives a CursorResult; Session.execute is typed as giving a Result
        deleted = cast(
            "CursorResult[Any]", s.execute(delete(TextMessage).where(col(TextMessage.account_id) == actor.account_id))
        ).rowcount
        fee = svc.monthly_fee_cents
        svc.status = "cancelled"
        svc.cancelled_at = clock.now()
        svc.monthly_fee_cents = 0
        audit.append(
            s,
            "messages.cancel",
            actor=audit.actor_of(actor.id),
            account_id=actor.account_id,
            details={"messages_deleted": deleted},
        )
        result = Cancellation(deleted, fee, svc.phone_number)
    db.checkpoint(engine, (TextMessage.__tablename__, MessagesService.__tablename__))  # PostgreSQL: vacuums these
    return result
