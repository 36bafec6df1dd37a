"""Every app-level command, defined once: its key binding and its command-palette entry
both come from here."""

from __future__ import annotations

from dataclasses import dataclass

from crm_tui.services import roles
from crm_tui.services.roles import ADMIN, OWNER
from crm_tui.services.roles import TEAM_PLAYER as PLAYER

__all__ = ["ADMIN", "OWNER", "PLAYER", "Command", "COMMANDS", "BY_ID", "allowed"]


@dataclass(frozen=True)
class Command:
    id: str
    title: str
    help: str
    action: str  # an app action, e.g. "open('contacts')"
    key: str | None = None
    permission: str | None = None  # an action of the role table (services.roles); None: every member
    show: bool = True  # shown in the footer
    footer: str = ""  # a shorter label for the footer, when the title is long


# The section keys 1–4 are printed in the top bar of every signed-in screen, so the footer
# leaves them out and keeps its 80 columns for the keys of the screen itself.
COMMANDS: tuple[Command, ...] = (
    Command("contacts", "Contacts", "Browse, search and export contacts", "open('contacts')", "1", show=False),
    Command("calendar", "Calendar", "Appointments", "open('calendar')", "2", show=False),
    Command("todos", "To-Dos", "Open and closed to-dos", "open('todos')", "3", show=False),
    Command("automation", "Automation", "Email templates, autoresponders, Messages", "open('automation')", "4",
            show=False),
    Command("profile", "Profile menu", "Your account, billing, team, data, support, sign out",
            "profile_menu", "p", footer="Profile"),
    Command("dashboard", "Dashboard", "Back to the dashboard", "open('dashboard')", None),
    Command("my-account", "My Account", "Who you are signed in as", "open('my-account')"),
    Command("billing", "Billing & Plan", "Plan, seats, invoices; close the account", "open('billing')",
            permission="billing.view"),
    Command("team", "Team Members", "Add, remove, transfer ownership, leave", "open('team')", permission="team.view"),
    Command("download", "Download My Data", "Export everything as one archive", "open('download')",
            permission="data.export"),
    Command("templates", "Email Templates", "Automation → Email Templates", "open('templates')"),
    Command("autoresponders", "Autoresponders", "Automation → Autoresponders", "open('autoresponders')"),
    Command("messages", "Messages Settings", "Automation → Messages → Settings", "open('messages')",
            permission="messages.view"),
    Command("support", "Contact Support", "cases@allclients.com and what support can do",
            "open('support')"),
    Command("sign-out", "Sign Out", "End this session", "sign_out"),
)

BY_ID = {c.id: c for c in COMMANDS}


def allowed(command: Command, role: str | None) -> bool:
    if roles.as_role(role) is None:
        return False
    return command.permission is None or roles.may(role, command.permission)
