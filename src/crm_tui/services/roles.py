"""The roles and the product's role table, in one place.

The services enforce it (:func:`crm_tui.services.auth.authorize`); the app asks it what to
offer (:func:`may`), so a menu, a key or a button is shown exactly when the service behind it
would allow it. Pure Python: the app imports this before the database stack is loaded.
"""

from __future__ import annotations

from crm_tui.roles import Role

OWNER, ADMIN, TEAM_PLAYER = Role.OWNER, Role.ADMIN, Role.TEAM_PLAYER
ALL = frozenset(Role)

# action → (the roles that may do it, why anyone else is refused)
RULES: dict[str, tuple[frozenset[Role], str]] = {
    "billing.view": (frozenset({OWNER}), "only the account owner can see Billing & Plan"),
    "billing.change_plan": (frozenset({OWNER}), "only the account owner can change the plan"),
    "account.close": (frozenset({OWNER}), "only the account owner can close the account"),
    "account.impact": (frozenset({OWNER}), "only the account owner can close the account"),
    "team.view": (ALL, "not allowed"),
    "team.add": (frozenset({OWNER, ADMIN}), "only the owner or an administrator can add team members"),
    "team.remove": (frozenset({OWNER, ADMIN}), "only the owner or an administrator can remove team members"),
    "team.transfer": (frozenset({OWNER}), "only the account owner can transfer ownership"),
    "team.leave": (frozenset({ADMIN, TEAM_PLAYER}), "the owner cannot leave the account; transfer ownership first"),
    "messages.view": (frozenset({OWNER, ADMIN}), "only the owner or an administrator can see Messages settings"),
    "messages.cancel": (frozenset({OWNER}), "only the account owner can cancel Messages"),
    "data.export": (frozenset({OWNER, ADMIN}), "only the owner or an administrator can export the account's data"),
    "ssh_keys.manage": (ALL, "not allowed"),  # every member: their own keys only
}

PERMISSIONS: dict[str, frozenset[Role]] = {action: roles for action, (roles, _why) in RULES.items()}
REFUSALS: dict[str, str] = {action: why for action, (_roles, why) in RULES.items()}


def as_role(role: str | Role | None) -> Role | None:
    """The :class:`Role` a stored value names, or None for no role (nobody signed in)."""
    if role is None:
        return None
    try:
        return Role(role)
    except ValueError:
        return None


def may(role: str | Role | None, action: str) -> bool:
    """May a member with this role do ``action`` (a key of :data:`RULES`)?"""
    return as_role(role) in RULES[action][0]


def refusal(action: str) -> str:
    return REFUSALS.get(action, "not allowed")
