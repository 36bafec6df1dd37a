"""The emails of a closed account stay reserved until it is restored or purged.

Its tombstone keeps a hash of each member's email (``closed_member.email_hash``); nothing
that creates a member elsewhere (adding a team member, the demo, importing an archive) may
take one of them, so a restore never fails because of something another account did.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.engine import Connection

from crm_tui import tables
from crm_tui.services.auth import email_hash, normalise_email
from crm_tui.services.errors import EMAIL_RESERVED, InvalidInput


def reservation(
    conn: Connection, emails: Iterable[str], *, except_account: int | None = None
) -> tuple[str, date] | None:
    """The first of ``emails`` that a closed account (other than ``except_account``) keeps
    reserved, with that account's restore-until date; None when all are free."""
    by_hash = {email_hash(e): normalise_email(e) for e in emails}
    if not by_hash:
        return None
    cm, ca = tables.closed_member, tables.closed_account
    q = (
        select(cm.c.email_hash, ca.c.restore_until)
        .select_from(cm.join(ca, ca.c.id == cm.c.closed_account_id))
        .where(ca.c.state == "closed", cm.c.email_hash.in_(list(by_hash)))
        .order_by(ca.c.restore_until.desc())
    )
    if except_account is not None:
        q = q.where(ca.c.account_id != except_account)
    row = conn.execute(q).first()
    return (by_hash[row.email_hash], row.restore_until) if row else None


def refuse_reserved(conn: Connection, emails: Iterable[str], *, what: str, except_account: int | None = None) -> None:
    """Raise InvalidInput (one line) when one of ``emails`` is reserved by a closed account."""
    found = reservation(conn, emails, except_account=except_account)
    if found is None:
        return
    email, until = found
    raise InvalidInput(
        f"{email} belongs to a closed account until {until:%d %B %Y} (it can be restored until then; "
        f"the address is free once it is restored or purged); {what}",
        code=EMAIL_RESERVED,
        field="email",
    )
