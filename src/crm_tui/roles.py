"""The roles a member can have in an account (who may do what: :mod:`crm_tui.services.auth`)."""

ROLE_OWNER = "owner"
ROLE_ADMIN = "administrator"
ROLE_TEAM_PLAYER = "team player"
ROLES = (ROLE_OWNER, ROLE_ADMIN, ROLE_TEAM_PLAYER)
