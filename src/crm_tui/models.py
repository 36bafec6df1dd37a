"""SQLModel tables.

Every table owned by an account carries ``account_id`` with ``ON DELETE CASCADE`` in the
database, so deleting an account row takes its rows with it. Closing an account does not rely
on that: it deletes table by table, children first (:func:`crm_tui.services.closing.finish_deletion`).
Text columns are NOT NULL with an empty-string default: an empty field is ``""`` and never
``NULL``, which keeps the CSV members of the archive lossless.
Every table uses AUTOINCREMENT on SQLite so that ids of a closed account are never handed
out again, and a restore can put every row back under its original id.
"""

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from sqlalchemy import Column, Index, LargeBinary, Text, event, text

if TYPE_CHECKING:
    from sqlalchemy import Table
from sqlmodel import Field
from sqlmodel import SQLModel as _SQLModel


class SQLModel(_SQLModel):
    """Every table's base. Table models are never validated on construction, so pydantic's
    validation schema is built only if something asks for it (``defer_build``), not for all
    nineteen tables on every start. The annotations below are real objects rather than
    strings (no ``from __future__ import annotations``) for the same reason: nothing has to
    evaluate them again while the classes are made."""

    model_config = {"defer_build": True}

    if TYPE_CHECKING:  # made by SQLAlchemy for every table model; SQLModel does not declare it
        __table__: ClassVar[Table]


AUTOINC = {"sqlite_autoincrement": True}

from crm_tui.roles import ROLE_ADMIN, ROLE_OWNER, ROLE_TEAM_PLAYER, ROLES  # noqa: E402,F401

ONE_OWNER = "role = 'owner'"  # the partial unique index: one owner per account


def _account_fk() -> Any:
    return Field(foreign_key="account.id", ondelete="CASCADE", index=True)


class Plan(SQLModel, table=True):
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    name: str
    monthly_price_cents: int
    seat_price_cents: int = 1500
    included_seats: int = 1
    max_contacts: int = 0  # 0: no limit


class Account(SQLModel, table=True):
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str
    slug: str = Field(index=True)
    plan_id: int = Field(foreign_key="plan.id", index=True)
    status: str = "active"
    created_at: datetime
    card_brand: str = ""
    card_last4: str = ""
    card_expiry: str = ""
    billing_day: int = 1


# partial on SQLite here, and on PostgreSQL when the table is created (see below)
_ONE_OWNER_INDEX = Index("uq_member_one_owner", "account_id", unique=True, sqlite_where=text(ONE_OWNER))


class Member(SQLModel, table=True):
    """A user: the owner, an administrator or a team player of one account."""

    __table_args__ = (
        _ONE_OWNER_INDEX,
        AUTOINC,
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    email: str = Field(unique=True)
    name: str
    role: str
    password_hash: str
    created_at: datetime
    failed_logins: int = 0
    last_failed_at: Optional[datetime] = None
    time_zone: str = ""  # an IANA zone name; "" is the zone of the machine the app runs on


@event.listens_for(Member.__table__, "before_create")
def _one_owner_elsewhere(table, connection, **_kw) -> None:
    """The one-owner index is partial on PostgreSQL too. Named here, when such a table is
    created, rather than as ``postgresql_where=`` above: that keyword makes SQLAlchemy load
    its PostgreSQL dialect on every start to check the option's name."""
    if connection.dialect.name == "postgresql":
        _ONE_OWNER_INDEX.dialect_kwargs["postgresql_where"] = text(ONE_OWNER)


class CliSession(SQLModel, table=True):
    """A ``crm-tui login`` session: the command line acting as a member without the password
    on every command. Only the token's hash is kept; the token itself lives in a 0600 file in
    the user's config folder. It ends after :data:`crm_tui.services.sessions.IDLE` unused,
    with ``crm-tui logout``, when revoked from My Account, and with its member."""

    __tablename__ = "cli_session"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    token_hash: str = Field(unique=True)
    label: str = ""  # where it was made: "<os user>@<host>"
    created_at: datetime
    last_used_at: datetime


class SshKey(SQLModel, table=True):
    """A member's SSH public key: signing in to ``crm-tui serve`` with it opens the app as that
    member without the password. One key belongs to one member (``key_data`` is unique);
    every member manages their own (:mod:`crm_tui.services.ssh_keys`)."""

    __tablename__ = "ssh_key"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    algorithm: str  # "ssh-ed25519", "ssh-rsa", ...
    key_data: str = Field(sa_type=Text, unique=True)  # the base64 blob of the OpenSSH line
    comment: str = ""
    fingerprint: str  # "SHA256:..." as ``ssh-keygen -l`` prints it
    created_at: datetime


class Contact(SQLModel, table=True):
    __table_args__ = (
        Index("ix_contact_account_name", "account_id", "last_name", "first_name", "id"),
        AUTOINC,
    )
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    owner_id: int = Field(foreign_key="member.id", index=True)
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    email: str = ""
    email2: str = ""
    phone1: str = ""
    phone1_text_ok: bool = False
    phone2: str = ""
    phone2_text_ok: bool = False
    phone3: str = ""
    phone3_text_ok: bool = False
    phone4: str = ""
    phone4_text_ok: bool = False
    street: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str = ""
    birthday: Optional[date] = None
    category1: str = ""
    category2: str = ""
    notes: str = Field(default="", sa_type=Text)
    created_at: datetime


class Appointment(SQLModel, table=True):
    __table_args__ = (Index("ix_appointment_account_start", "account_id", "start"), AUTOINC)
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    owner_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    contact_id: Optional[int] = Field(default=None, foreign_key="contact.id", ondelete="SET NULL", index=True)
    description: str = ""
    start: datetime
    end: datetime
    colour: str = ""


TODO_PRIORITIES = (1, 3, 5)
TODO_CATEGORIES = ("", "Email", "Letter", "Phone Call")


class Todo(SQLModel, table=True):
    __table_args__ = (Index("ix_todo_account_status_due", "account_id", "status", "due"), AUTOINC)
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    assignee_id: int = Field(foreign_key="member.id", index=True)
    contact_id: Optional[int] = Field(default=None, foreign_key="contact.id", ondelete="SET NULL", index=True)
    summary: str = ""
    details: str = Field(default="", sa_type=Text)
    priority: int = 3
    due: Optional[date] = None
    category: str = ""
    status: str = "open"
    completed_at: Optional[datetime] = None


class EmailTemplate(SQLModel, table=True):
    __tablename__ = "email_template"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    name: str
    subject: str = ""
    body: str = Field(default="", sa_type=Text)


class Autoresponder(SQLModel, table=True):
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    name: str
    active: bool = True


class AutoresponderStep(SQLModel, table=True):
    __tablename__ = "autoresponder_step"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    autoresponder_id: int = Field(foreign_key="autoresponder.id", ondelete="CASCADE", index=True)
    position: int
    delay: int = 0
    unit: str = "days"
    template_id: int = Field(foreign_key="email_template.id", ondelete="CASCADE", index=True)


class HistoryEntry(SQLModel, table=True):
    __tablename__ = "history_entry"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    contact_id: Optional[int] = Field(default=None, foreign_key="contact.id", ondelete="CASCADE", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: str  # call | note | email
    at: datetime
    summary: str = Field(default="", sa_type=Text)


class MessagesService(SQLModel, table=True):
    __tablename__ = "messages_service"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE", unique=True)
    phone_number: str = ""
    status: str = "active"  # active | cancelled
    monthly_fee_cents: int = 0
    activated_at: datetime
    cancelled_at: Optional[datetime] = None


class TextMessage(SQLModel, table=True):
    __tablename__ = "text_message"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    contact_id: Optional[int] = Field(default=None, foreign_key="contact.id", ondelete="CASCADE", index=True)
    direction: str = "out"  # out | in
    phone: str = ""
    body: str = Field(default="", sa_type=Text)
    sent_at: datetime


class Invoice(SQLModel, table=True):
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = _account_fk()
    number: str
    issued_on: date
    description: str = ""
    amount_cents: int = 0
    status: str = "paid"


# --- tables that outlive an account -------------------------------------------------


class SurveyResponse(SQLModel, table=True):
    """Why someone left. Deliberately holds no account id and no personal data."""

    __tablename__ = "survey_response"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    submitted_on: date
    reason: str
    comment: str = Field(default="", sa_type=Text)
    plan_code: str = ""
    tenure_months: int = 0
    team_size: int = 0


class ClosedAccount(SQLModel, table=True):
    """The tombstone of a closed account: ids, timestamps, counts; no personal data in clear."""

    __tablename__ = "closed_account"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(index=True)
    owner_email_hash: str = Field(index=True)
    member_ids: str = ""  # comma-separated ids, for ending sessions with a reason
    closed_at: datetime
    restore_until: date
    counts_json: str = "{}"
    state: str = "closed"  # closed | restored | purged
    restored_at: Optional[datetime] = None
    purged_at: Optional[datetime] = None
    backup_id: Optional[int] = Field(default=None, foreign_key="backup.id", index=True)


class ClosedMember(SQLModel, table=True):
    """What a closed account keeps of each of its members until it is restored or purged:
    the email's hash (the address stays reserved) and the password hash, so that signing in
    can say "this account was closed" to that person and nobody else. No plain data."""

    __tablename__ = "closed_member"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    closed_account_id: int = Field(foreign_key="closed_account.id", ondelete="CASCADE", index=True)
    email_hash: str = Field(index=True)
    password_hash: str = ""


class Backup(SQLModel, table=True):
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(index=True)
    file_name: str
    created_at: datetime
    size: int = 0
    sha256: str = ""
    format_version: int = 1
    purged_at: Optional[datetime] = None


class BackupKey(SQLModel, table=True):
    """The only copy of a backup's key. Deleting it makes the backup unreadable for good."""

    __tablename__ = "backup_key"
    backup_id: int = Field(foreign_key="backup.id", ondelete="CASCADE", primary_key=True)
    key: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class BackupChunk(SQLModel, table=True):
    """A backup's encrypted bytes, in order, in pieces of about 1 MiB (see services.backups):
    where the database is shared (PostgreSQL) the backup lives here, so every host that uses
    the database can restore it. Purge deletes these rows with the key."""

    __tablename__ = "backup_chunk"
    backup_id: int = Field(foreign_key="backup.id", ondelete="CASCADE", primary_key=True)
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Setting(SQLModel, table=True):
    """Installation-wide values, such as this database's id (it names its backup folder)."""

    key: str = Field(primary_key=True)
    value: str


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = AUTOINC
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime
    actor: str  # "member:<id>", "operator:<os user>" (admin commands), "support", "system"
    action: str
    account_id: Optional[int] = Field(default=None, index=True)
    details_json: str = "{}"
    prev_hash: str
    hash: str = Field(unique=True)


# The account-owned tables, parents before children (restore inserts in this order).
ACCOUNT_TABLES = (
    Member,
    SshKey,
    Contact,
    EmailTemplate,
    Autoresponder,
    AutoresponderStep,
    Appointment,
    Todo,
    HistoryEntry,
    MessagesService,
    TextMessage,
    Invoice,
)
