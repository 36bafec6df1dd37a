"""Domain errors. Their message is one line, fit to show a user as it is."""

from __future__ import annotations


class DomainError(Exception):
    """An action was refused; nothing changed."""


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class AuthenticationFailed(DomainError):
    pass


class Throttled(AuthenticationFailed):
    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AccountClosed(AuthenticationFailed):
    """The right password of someone whose account was closed: the message says when, and
    until when it can be restored (or that it no longer can)."""


class InvalidInput(DomainError):
    pass


class RestoreRefused(DomainError):
    pass


class ArchiveError(DomainError):
    """An archive or backup is missing, damaged, tampered with or of an unknown format."""
