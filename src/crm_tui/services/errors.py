"""Domain errors, and the one function that words any error for people.

Each error carries a stable ``code`` (``"auth.wrong_password"``, ``"close.name_mismatch"``) and
the fields a front-end branches on (``field``: the input that is wrong; ``undone``: what the
message already says did not happen, as in "nothing was deleted"). Front-ends branch on those,
never on the text. Its message is one line, fit to show a user as it is; :func:`message` and
:func:`sentence` word any exception (a database's, an operating system's) the same way for the
app and the command line.

This module imports only the standard library (and, when wording an error, what raised it).
"""

from __future__ import annotations

CODES: dict[str, str] = {}
"""Every stable code, and what it means (see :func:`_code`)."""


def _code(code: str, meaning: str) -> str:
    CODES[code] = meaning
    return code


class DomainError(Exception):
    """An action was refused; nothing changed."""

    code = _code("refused", "an action was refused")

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, undone: str | None = None
    ) -> None:
        super().__init__(message)
        if code is not None:
            if code not in CODES:
                raise ValueError(f"unknown error code {code!r}")
            self.code = code
        self.field = field
        self.undone = undone


class NotFound(DomainError):
    code = _code("not_found", "what was named is not there (or not yours)")


class PermissionDenied(DomainError):
    code = _code("permission.denied", "the member's role does not allow the action")


class AuthenticationFailed(DomainError):
    code = _code("auth.failed", "the member could not be authenticated")


class Throttled(AuthenticationFailed):
    code = _code("auth.throttled", "too many wrong passwords; retry_after says when to try again")

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, field="password")
        self.retry_after = retry_after


class AccountClosed(AuthenticationFailed):
    """The right password of someone whose account was closed: the message says when, and
    until when it can be restored (or that it no longer can)."""

    code = _code("auth.account_closed", "the right password of a member whose account was closed")


class AccountIsClosed(DomainError):
    """A write to an account that is closed, or being closed: nothing was written. The message
    is always :data:`ACCOUNT_CLOSED_MESSAGE` (see :mod:`crm_tui.services.locks`)."""

    code = _code("account.closed", "a write to an account that is closed or being closed; nothing was written")

    def __init__(self) -> None:
        super().__init__(ACCOUNT_CLOSED_MESSAGE)


ACCOUNT_CLOSED_MESSAGE = "this account has been closed"


class InvalidInput(DomainError):
    code = _code("input.invalid", "a value given is not acceptable; field names it when known")


class RestoreRefused(DomainError):
    code = _code("restore.refused", "the account cannot be restored")


class ArchiveError(DomainError):
    """An archive or backup is missing, damaged, tampered with or of an unknown format."""

    code = _code("archive.damaged", "an archive or backup is missing, damaged or of an unknown format")


# Codes more precise than their class's, given where the error is raised.
WRONG_PASSWORD = _code("auth.wrong_password", "the acting member's password is wrong")
WRONG_CREDENTIALS = _code("auth.wrong_credentials", "signing in: no such member, or a wrong password")
NOT_SIGNED_IN = _code("auth.not_signed_in", "no command-line session of the member")
SESSION_EXPIRED = _code("auth.session_expired", "the command-line session went unused for too long")
ACCESS_ENDED = _code("auth.access_ended", "the member was removed or their account closed")
NAME_MISMATCH = _code("close.name_mismatch", "the account name typed to confirm a close is not the account's")
PASSWORD_TOO_WEAK = _code("password.weak", "a new password is too short or is the email address")
EMAIL_RESERVED = _code("email.reserved", "the email belongs to a closed account that can still be restored")
ZONE_UNKNOWN = _code("zone.unknown", "not a time zone name")
SURVEY_ANSWER = _code("survey.invalid", "the exit survey's reason or comment is not acceptable")
CLI_REFUSED = _code("cli.refused", "the command line refused what it was given")
DATABASE = _code("database.unusable", "the database cannot be opened or used")
DATABASE_BUSY = _code("database.busy", "the database is busy or unavailable")
SSH_KEY_INVALID = _code("ssh_key.invalid", "not an SSH public key line crm-tui accepts")
SSH_KEY_TAKEN = _code("ssh_key.taken", "the SSH key is linked already (to this member or to another)")
OS_ERROR = _code("os.error", "the operating system refused (a file, a folder, a full disk)")


def code_of(exc: BaseException) -> str | None:
    """The stable code of an error a user can be shown, or None for a bug."""
    code = getattr(exc, "code", None)
    if isinstance(exc, DomainError) or (_is_database_error(exc) and isinstance(code, str)):
        return code
    if _is_sqlalchemy_error(exc):
        return DATABASE_BUSY if _is_operational(exc) else DATABASE
    if isinstance(exc, OSError):
        return OS_ERROR
    return None


def message(exc: BaseException, *, detail: bool = False) -> str | None:
    """The one line that tells a user what went wrong, as the service worded it (it starts
    in lower case and has no final period), control characters made visible; or None for an
    exception that is a bug.

    ``detail`` is the command line's: there a database's own error is quoted (the app says
    the database is busy or unavailable, and calls any other database error a bug), and an
    operating system's error names its file."""
    from crm_tui.text import clean, first_line

    if isinstance(exc, DomainError) or _is_database_error(exc):
        return clean(str(exc))
    if _is_sqlalchemy_error(exc):
        if detail:
            return clean(f"database error: {first_line(exc)}")
        if _is_operational(exc):
            return "the database is busy or unavailable; please try again"
        return None
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if detail and exc.filename else ""
        return clean(f"{exc.strerror or exc}{where}")
    return None


def sentence(exc: BaseException) -> str | None:
    """:func:`message` as a sentence, as the app shows it: capitalised, with a final period."""
    text = message(exc)
    return None if text is None else as_sentence(text)


def capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def as_sentence(text: str) -> str:
    """``text`` capitalised, with a final period unless it ends with one already."""
    text = capitalised(text)
    return text if text.endswith((".", "!", "?")) else text + "."


def _is_database_error(exc: BaseException) -> bool:
    import sys

    db = sys.modules.get("crm_tui.db")  # only raised once it is imported
    return db is not None and isinstance(exc, db.DatabaseError)


def _is_sqlalchemy_error(exc: BaseException) -> bool:
    import sys

    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError)


def _is_operational(exc: BaseException) -> bool:
    """The database was busy or out of reach (a lock or statement timeout, a server that went
    away or restarted, a full connection pool), as opposed to a statement that is wrong."""
    from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, TimeoutError

    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
