"""Members' SSH public keys: signing in to ``crm-tui serve`` with a key opens the app as the
member it belongs to, without the password.

A key is kept as its OpenSSH public line says it: the algorithm, the base64 blob (``key_data``,
unique: one key belongs to one member) and the comment, with its fingerprint as
``ssh-keygen -l`` prints it ("SHA256:" and the unpadded base64 of the blob's SHA-256). Every
member manages their own keys (the role table's ``ssh_keys.manage``); nobody sees or removes
another member's. Keys go with their member (the rows cascade) and with the account.

Written against the Core clause of the table, so the serve front door can look a key up
without loading the ORM models.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from crm_tui import db, tables
from crm_tui.services import clock, errors, roles
from crm_tui.services.errors import InvalidInput, NotFound, PermissionDenied

# the public key types OpenSSH offers today (DSA is gone from it since 9.8)
ALGORITHMS = (
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
RSA_SIGNATURES = {"rsa-sha2-256": "ssh-rsa", "rsa-sha2-512": "ssh-rsa"}
MAX_LINE = 16_384  # an RSA key of 16384 bits is about 2.8 kB of text
MAX_COMMENT = 200

INVALID, TAKEN = errors.SSH_KEY_INVALID, errors.SSH_KEY_TAKEN


@dataclass(frozen=True)
class ParsedKey:
    algorithm: str
    key_data: str  # the blob in standard base64, as OpenSSH writes it
    comment: str
    fingerprint: str

    @property
    def line(self) -> str:
        return f"{self.algorithm} {self.key_data}" + (f" {self.comment}" if self.comment else "")


@dataclass(frozen=True)
class KeyInfo:
    id: int
    member_id: int
    algorithm: str
    key_data: str
    comment: str
    fingerprint: str
    created_at: datetime


def fingerprint(algorithm: str, key_data: str) -> str:
    """The key's fingerprint as ``ssh-keygen -lf`` prints it: "SHA256:" and the base64 of the
    SHA-256 of the decoded blob, without its padding. ``algorithm`` is not part of it (the blob
    names its own type); it is taken to keep one signature for the callers."""
    del algorithm
    blob = base64.b64decode(key_data, validate=True)
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _refuse(message: str) -> InvalidInput:
    return InvalidInput(message, code=INVALID, field="key")


def parse_public_key(text: str) -> ParsedKey:
    """One OpenSSH public key line ("ssh-ed25519 AAAA... comment", as in a ``.pub`` file or
    ``authorized_keys`` without options). Refuses, with one line saying why, a private key,
    anything that is not such a line, and a type OpenSSH does not offer."""
    if len(text) > MAX_LINE:
        raise _refuse("that is too long to be an SSH public key")
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n") if line.strip()]
    if not lines:
        raise _refuse("no key given: paste the public key line (the .pub file), such as ssh-ed25519 AAAA...")
    if any("PRIVATE KEY" in line for line in lines):
        raise _refuse("that is a private key: give the public one (the .pub file), and keep the private key secret")
    if len(lines) > 1:
        raise _refuse("give one public key line at a time")
    parts = lines[0].split(None, 2)
    algorithm = parts[0]
    if algorithm not in ALGORITHMS:
        if algorithm.startswith(("ssh-", "ecdsa-", "sk-")):
            raise _refuse(f"keys of type {_shown(algorithm)} are not supported; use an Ed25519, RSA or ECDSA key")
        raise _refuse("that is not an SSH public key line (it should start with ssh-ed25519, ssh-rsa or ecdsa-...)")
    if len(parts) < 2:
        raise _refuse("the key line has no key after its type")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        named = blob[4 : 4 + length].decode("ascii")
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        raise _refuse("the key part of that line is damaged (it is not base64 of an SSH key)") from None
    if named != algorithm or len(blob) <= 4 + length:
        raise _refuse("the key part of that line is damaged (it does not hold the type the line names)")
    key_data = base64.b64encode(blob).decode()
    comment = parts[2].strip() if len(parts) > 2 else ""
    comment = "".join(ch for ch in comment if ch.isprintable())[:MAX_COMMENT]
    return ParsedKey(algorithm, key_data, comment, fingerprint(algorithm, key_data))


def _shown(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:60]


def _member(conn: Connection, member_id: int):
    """The member (id, account id, role) of an open account, or :class:`NotFound`; their role
    is checked against the role table."""
    m, a = tables.member, tables.account
    row = conn.execute(
        select(m.c.id, m.c.account_id, m.c.role)
        .join_from(m, a, a.c.id == m.c.account_id)
        .where(m.c.id == member_id, a.c.status == "active")
    ).first()
    if row is None:
        raise NotFound("your access to this account has ended", code=errors.ACCESS_ENDED)
    if not roles.may(row.role, "ssh_keys.manage"):
        raise PermissionDenied(roles.refusal("ssh_keys.manage"))
    return row


def _info(row) -> KeyInfo:
    return KeyInfo(row.id, row.member_id, row.algorithm, row.key_data, row.comment, row.fingerprint, row.created_at)


def add(engine: Engine, member_id: int, text: str, now: datetime | None = None) -> KeyInfo:
    """Link the public key ``text`` (see :func:`parse_public_key`) to the member. A key linked
    already, to them or to anyone else, is refused without saying whose it is."""
    key = parse_public_key(text)
    now = now or clock.now()
    t = tables.ssh_key
    try:
        with db.write_connection(engine) as conn:
            member = _member(conn, member_id)
            owner = conn.execute(select(t.c.member_id).where(t.c.key_data == key.key_data)).scalar_one_or_none()
            if owner is not None:
                raise _taken(owner == member_id)
            conn.execute(
                t.insert().values(
                    account_id=member.account_id,
                    member_id=member_id,
                    algorithm=key.algorithm,
                    key_data=key.key_data,
                    comment=key.comment,
                    fingerprint=key.fingerprint,
                    created_at=now,
                )
            )
            new_id = conn.execute(select(t.c.id).where(t.c.key_data == key.key_data)).scalar_one()
    except IntegrityError:  # linked in another session in the same moment
        raise _taken(False) from None
    return KeyInfo(new_id, member_id, key.algorithm, key.key_data, key.comment, key.fingerprint, now)


def _taken(own: bool) -> InvalidInput:
    if own:
        return InvalidInput("that key is linked to your account already", code=TAKEN, field="key")
    return InvalidInput("that key is linked to another member already; use a key of your own", code=TAKEN, field="key")


def list_for(engine: Engine, member_id: int) -> list[KeyInfo]:
    """The member's own keys, oldest first."""
    t = tables.ssh_key
    with db.read_connection(engine) as conn:
        _member(conn, member_id)
        rows = conn.execute(select(t).where(t.c.member_id == member_id).order_by(t.c.id)).all()
    return [_info(r) for r in rows]


def remove(engine: Engine, member_id: int, fingerprint_or_id: str | int) -> None:
    """Unlink one of the member's own keys, named by its fingerprint ("SHA256:...", as
    ``ssh-keygen -l`` and the list show it) or its id. Another member's key is not found."""
    t = tables.ssh_key
    if isinstance(fingerprint_or_id, int):
        which = t.c.id == fingerprint_or_id
    else:
        named = fingerprint_or_id.strip()
        which = t.c.fingerprint == (named if named.startswith("SHA256:") else f"SHA256:{named}")
    with db.write_connection(engine) as conn:
        _member(conn, member_id)
        gone = conn.execute(delete(t).where(which, t.c.member_id == member_id)).rowcount
    if not gone:
        raise NotFound("you have no SSH key with that fingerprint")


def is_linked(engine: Engine, text: str) -> bool:
    """Whether the public key line ``text`` is linked to any member (False for no valid key)."""
    try:
        key = parse_public_key(text)
    except InvalidInput:
        return False
    t = tables.ssh_key
    with db.read_connection(engine) as conn:
        return conn.execute(select(t.c.id).where(t.c.key_data == key.key_data)).first() is not None


def member_for_key(engine: Engine, algorithm: str, key_data: str) -> int | None:
    """The member the key is linked to, if they may sign in now (their account open, they
    still its member); otherwise None. ``algorithm`` is the key's type; the names of RSA's
    SHA-2 signatures (``rsa-sha2-256``, ``rsa-sha2-512``), which some libraries report for an
    RSA key, stand for ``ssh-rsa``."""
    algorithm = RSA_SIGNATURES.get(algorithm, algorithm)
    try:
        normalised = base64.b64encode(base64.b64decode(key_data, validate=True)).decode()
    except (binascii.Error, ValueError):
        return None
    t, m, a = tables.ssh_key, tables.member, tables.account
    with db.read_connection(engine) as conn:
        return conn.execute(
            select(t.c.member_id)
            .join_from(t, m, m.c.id == t.c.member_id)
            .join(a, a.c.id == m.c.account_id)
            .where(t.c.key_data == normalised, t.c.algorithm == algorithm, a.c.status == "active")
        ).scalar_one_or_none()
