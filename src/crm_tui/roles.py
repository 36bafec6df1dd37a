"""The roles a member can have in an account: the values the member table stores.

Who may do what is the role table of :mod:`crm_tui.services.roles`; this module is below the
database layer so that the models and the start-up clauses can name the roles too."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    """A member's role; its value is what the database stores."""

    OWNER = "owner"
    ADMIN = "administrator"
    TEAM_PLAYER = "team player"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


ROLE_OWNER, ROLE_ADMIN, ROLE_TEAM_PLAYER = (r.value for r in Role)
ROLES = (ROLE_OWNER, ROLE_ADMIN, ROLE_TEAM_PLAYER)
