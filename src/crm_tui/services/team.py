"""Team management: list, add, remove, transfer ownership, leave.

Removing a member (or a member leaving) follows AllClients' own dialog: the member's
contacts and to-dos move to the owner, their calendar appointments are permanently deleted.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.orm import Session
from sqlmodel import col

from crm_tui import db
from crm_tui.models import (
    ROLE_ADMIN,
    ROLE_OWNER,
    ROLE_TEAM_PLAYER,
    Appointment,
    Contact,
    HistoryEntry,
    Member,
    Todo,
)
from crm_tui.services import audit, clock, reserved
from crm_tui.services.auth import (
    SignedIn,
    confirm_with_password,
    hash_password,
    load_actor,
    normalise_email,
    reauthenticate,
)
from crm_tui.services.errors import InvalidInput, NotFound, PermissionDenied
from crm_tui.services.inputs import refuse_nul

ADDABLE_ROLES = (ROLE_ADMIN, ROLE_TEAM_PLAYER)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_LOCAL_PART = re.compile(r"^[a-z0-9._+-]+$")
_ASCII_LABEL = re.compile(r"^[a-z0-9-]+$")
# Scripts written together in one name: Japanese mixes Han and kana, Korean Han and Hangul.
_SCRIPT_FAMILIES = ({"CJK", "HIRAGANA", "KATAKANA"}, {"CJK", "HANGUL"})
# Latin letters of their own (no ASCII letter with a mark), allowed in a Latin domain name.
_LATIN_LETTERS = frozenset("æøßðþœłđħ")
# Cyrillic and Greek letters that read as Latin ones (a subset of Unicode's confusables): a
# name made of them only, such as "аррӏе" in Cyrillic, reads as a Latin name.
_READS_AS_LATIN = frozenset("аеорсухѕіјԁһӏԛԝүкοαικρυχνε")


def _script(ch: str) -> str:
    """The script of a letter, from its Unicode name ("CYRILLIC SMALL LETTER A" → CYRILLIC)."""
    import unicodedata

    return unicodedata.name(ch, "UNKNOWN").split()[0]


def email_problem(email: str) -> str | None:
    """Why an address is refused for a new member, or None. Look-alike addresses
    (``dаna@…`` with a Cyrillic а) are refused: the local part is ASCII letters, digits and
    ``. _ + -``; each label of the domain is ASCII, or the letters of one other script (an
    internationalised domain) with digits and hyphens, never a mix; and the address must be
    what NFKC makes of it (no full-width or other compatibility forms)."""
    import unicodedata

    if not EMAIL_PATTERN.match(email) or not email.isprintable():  # no control or bidi characters
        return "not an email address"
    if unicodedata.normalize("NFKC", email) != email:
        return "it uses compatibility forms of letters (such as full-width ones); type it plainly"
    local, _, domain = email.rpartition("@")
    if not _LOCAL_PART.match(local):
        return "the part before @ may hold only Latin letters, digits and . _ + -"
    labels = domain.split(".")
    for label in labels:
        if not label or label.startswith("-") or label.endswith("-"):
            return "not an email address"
        if _ASCII_LABEL.match(label):
            continue
        scripts = {_script(ch) for ch in label if ch.isalpha()}
        others = {ch for ch in label if not ch.isalpha() and not ch.isdigit() and ch != "-"}
        if others or any(not ch.isascii() and ch.isdigit() for ch in label):
            return "the domain holds characters that are not letters, digits or hyphens"
        if len(scripts) > 1 and not any(scripts <= family for family in _SCRIPT_FAMILIES):
            return f"the domain mixes scripts ({' and '.join(sorted(s.title() for s in scripts))}) in one name"
        if scripts == {"LATIN"}:  # Latin beyond ASCII: accented letters, not look-alikes such as ɑ or ı
            odd = [
                ch
                for ch in label
                if not ch.isascii() and ch not in _LATIN_LETTERS and not unicodedata.normalize("NFD", ch)[0].isascii()
            ]
            if odd:
                return f"the domain uses a letter that looks like another ({odd[0]!r})"
        letters = [ch for ch in label if ch.isalpha()]
        if (
            scripts
            and "LATIN" not in scripts
            and _ASCII_LABEL.match(labels[-1])
            and all(ch in _READS_AS_LATIN for ch in letters)
        ):
            # under a Latin top-level domain (.com), as browsers refuse to show such names
            return f"the domain name {label!r} reads as a Latin one but is written in another script"
    return None


@dataclass(frozen=True)
class MemberRow:
    id: int
    name: str
    email: str
    role: str
    contacts: int
    todos: int
    appointments: int


@dataclass(frozen=True)
class RemovalImpact:
    member_id: int
    name: str
    contacts_moved: int
    todos_moved: int
    appointments_deleted: int
    owner_name: str


def _count(s: Session, model: Any, column: Any, member_id: int | None) -> int:
    return s.execute(select(func.count()).select_from(model).where(column == member_id)).scalar_one()


def list_members(engine: Engine, who: SignedIn) -> list[MemberRow]:
    with db.read_session(engine) as s:
        load_actor(s, who, "team.view")
        order = {ROLE_OWNER: 0, ROLE_ADMIN: 1, ROLE_TEAM_PLAYER: 2}
        members = s.execute(select(Member).where(col(Member.account_id) == who.account_id)).scalars().all()
        rows = [
            MemberRow(
                cast(int, m.id),
                m.name,
                m.email,
                m.role,
                _count(s, Contact, Contact.owner_id, m.id),
                _count(s, Todo, Todo.assignee_id, m.id),
                _count(s, Appointment, Appointment.owner_id, m.id),
            )
            for m in members
        ]
        return sorted(rows, key=lambda r: (order.get(r.role, 9), r.name.lower(), r.id))


def _target(s: Session, actor: Member, member_id: int) -> Member:
    target = s.get(Member, member_id)
    if target is None or target.account_id != actor.account_id:
        raise NotFound(f"no team member with id {member_id} in this account")
    return target


def _owner(s: Session, account_id: int) -> Member:
    return s.execute(
        select(Member).where(col(Member.account_id) == account_id, col(Member.role) == ROLE_OWNER)
    ).scalar_one()


def _check_removable(actor: Member, target: Member) -> None:
    if target.role == ROLE_OWNER:
        raise PermissionDenied("the account owner cannot be removed; transfer ownership first")
    if target.id == actor.id:
        raise InvalidInput("you cannot remove yourself; use Leave account instead")


def removal_impact(engine: Engine, who: SignedIn, member_id: int) -> RemovalImpact:
    with db.read_session(engine) as s:
        actor = load_actor(s, who, "team.remove")
        target = _target(s, actor, member_id)
        _check_removable(actor, target)
        owner = _owner(s, actor.account_id)
        return RemovalImpact(
            cast(int, target.id),
            target.name,
            _count(s, Contact, Contact.owner_id, target.id),
            _count(s, Todo, Todo.assignee_id, target.id),
            _count(s, Appointment, Appointment.owner_id, target.id),
            owner.name,
        )


def _hand_over_and_delete(s: Session, target: Member, action: str, actor_id: int | None) -> RemovalImpact:
    owner = _owner(s, target.account_id)
    # the DML statements give CursorResults; Session.execute is typed as giving a Result
    moved_contacts = cast(
        "CursorResult[Any]",
        s.execute(update(Contact).where(col(Contact.owner_id) == target.id).values(owner_id=owner.id)),
    ).rowcount
    moved_todos = cast(
        "CursorResult[Any]",
        s.execute(update(Todo).where(col(Todo.assignee_id) == target.id).values(assignee_id=owner.id)),
    ).rowcount
    s.execute(update(HistoryEntry).where(col(HistoryEntry.member_id) == target.id).values(member_id=owner.id))
    deleted = cast(
        "CursorResult[Any]", s.execute(delete(Appointment).where(col(Appointment.owner_id) == target.id))
    ).rowcount
    s.execute(delete(Member).where(col(Member.id) == target.id))
    result = RemovalImpact(cast(int, target.id), target.name, moved_contacts, moved_todos, deleted, owner.name)
    audit.append(
        s,
        action,
        actor=audit.actor_of(actor_id),
        account_id=target.account_id,
        details={
            "member_id": target.id,
            "contacts_moved": moved_contacts,
            "todos_moved": moved_todos,
            "appointments_deleted": deleted,
        },
    )
    return result


def remove_member(engine: Engine, who: SignedIn, member_id: int) -> RemovalImpact:
    with db.write_session(engine) as s:
        actor = load_actor(s, who, "team.remove")
        target = _target(s, actor, member_id)
        _check_removable(actor, target)
        return _hand_over_and_delete(s, target, "team.remove", actor.id)


def leave_account(engine: Engine, who: SignedIn, password: str) -> RemovalImpact:
    confirm_with_password(engine, who, "team.leave", password)
    with db.write_session(engine) as s:
        actor = load_actor(s, who, "team.leave")
        return _hand_over_and_delete(s, actor, "team.leave", actor.id)


def transfer_ownership(engine: Engine, who: SignedIn, member_id: int, password: str) -> str:
    """Make another member the owner; the old owner becomes an administrator."""
    with db.read_session(engine) as s:
        actor = load_actor(s, who, "team.transfer")
        target = _target(s, actor, member_id)
        if target.id == actor.id:
            raise InvalidInput("you are the owner already")
    reauthenticate(engine, who.member_id, password)
    with db.write_session(engine) as s:
        actor = load_actor(s, who, "team.transfer")
        target = _target(s, actor, member_id)
        actor.role = ROLE_ADMIN
        s.flush()  # the one-owner index allows a single owner at a time
        target.role = ROLE_OWNER
        s.flush()
        audit.append(
            s,
            "team.transfer",
            actor=audit.actor_of(actor.id),
            account_id=actor.account_id,
            details={"from_member": actor.id, "to_member": target.id},
        )
        return target.name


@dataclass(frozen=True)
class NewMember:
    id: int
    email: str
    role: str
    temporary_password: str


def add_member(
    engine: Engine, who: SignedIn, email: str, name: str, role: str, password: str | None = None
) -> NewMember:
    refuse_nul(name, "a name", field="name")
    email = normalise_email(email)
    name = name.strip()
    problem = email_problem(email)
    if problem is not None:
        raise InvalidInput(
            f"not an email address: {email!r}"
            if problem == "not an email address"
            else f"{email!r} is refused: {problem}"
        )
    if not name:
        raise InvalidInput("a team member needs a name")
    if role not in ADDABLE_ROLES:
        raise InvalidInput(f"role must be one of: {', '.join(ADDABLE_ROLES)}")
    password = password or secrets.token_urlsafe(9)
    hashed = hash_password(password)
    with db.write_session(engine) as s:
        actor = load_actor(s, who, "team.add")
        taken = s.execute(select(col(Member.id)).where(func.lower(Member.email) == email)).first()
        if taken:
            raise InvalidInput(f"{email} already has a crm-tui account")
        reserved.refuse_reserved(s.connection(), [email], what="nobody was added")
        member = Member(
            account_id=actor.account_id, email=email, name=name, role=role, password_hash=hashed, created_at=clock.now()
        )
        s.add(member)
        s.flush()
        audit.append(
            s,
            "team.add",
            actor=audit.actor_of(actor.id),
            account_id=actor.account_id,
            details={"member_id": member.id, "role": role},
        )
        assert member.id is not None  # given by the flush
        return NewMember(member.id, email, role, password)


def find_in_account(engine: Engine, who: SignedIn, email: str) -> int:
    with db.read_session(engine) as s:
        member = s.execute(
            select(Member).where(
                func.lower(Member.email) == normalise_email(email), col(Member.account_id) == who.account_id
            )
        ).scalar()
        if member is None:
            raise NotFound(f"no team member with the email {email.strip()!r} in this account")
        return cast(int, member.id)
