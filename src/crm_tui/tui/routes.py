"""Every place the app can go and every app-level command, defined once.

The top bar, the profile menu, the Automation menu, the command palette, the app's key
bindings and :meth:`~crm_tui.tui.app.CrmApp.action_open` are all built from :data:`ROUTES`;
adding a screen takes its file and one line here. Screens are imported only when opened.

Each line: id, the screen (``module:Class`` under ``crm_tui.tui.screens``, or an app action
for a command that is no screen), title, what the palette says of it, then optionally the key
(its binding's id is ``nav-<id>``, which users can remap), the menu it sits in, and the action
of the role table (:mod:`crm_tui.services.roles`) a member needs to be offered it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from crm_tui.services import roles

SECTIONS, PROFILE, AUTOMATION = "sections", "profile", "automation"  # the menus


@dataclass(frozen=True)
class Route:
    id: str
    target: str  # "module:Class" of crm_tui.tui.screens, or "!action" for an app action
    title: str
    help: str  # its line in the command palette
    key: str | None = None
    menu: str | None = None  # SECTIONS (the top bar), PROFILE or AUTOMATION; in table order
    permission: str | None = None  # an action of the role table; None: every member
    footer: str = ""  # a shorter label for the footer, when the title is long
    menu_title: str = ""  # its label in its menu, when not the title

    @property
    def is_screen(self) -> bool:
        return not self.target.startswith("!")

    @property
    def action(self) -> str:
        """The app action that opens it (a key binding, the palette, a menu, a click)."""
        return f"open('{self.id}')" if self.is_screen else self.target[1:]

    @property
    def label(self) -> str:
        return self.menu_title or self.title

    @property
    def in_footer(self) -> bool:
        # the section keys 1–4 are printed in the top bar of every signed-in screen, so the
        # footer leaves them out and keeps its 80 columns for the keys of the screen itself
        return self.menu != SECTIONS

    def screen_class(self):
        module, name = self.target.split(":")
        return getattr(import_module(f"crm_tui.tui.screens.{module}"), name)


R = Route
ROUTES: tuple[Route, ...] = (
    R("contacts", "contacts:ContactsScreen", "Contacts", "Browse, search and export contacts", "1", SECTIONS),
    R("calendar", "calendar:CalendarScreen", "Calendar", "Appointments", "2", SECTIONS),
    R("todos", "todos:TodosScreen", "To-Dos", "Open and closed to-dos", "3", SECTIONS),
    R(
        "automation",
        "automation:AutomationScreen",
        "Automation",
        "Email templates, autoresponders, Messages",
        "4",
        SECTIONS,
    ),
    R(
        "profile",
        "!profile_menu",
        "Profile menu",
        "Your account, billing, team, data, support, sign out",
        "p",
        footer="Profile",
    ),
    R("dashboard", "main:MainScreen", "Dashboard", "Back to the dashboard"),
    R("my-account", "my_account:MyAccountScreen", "My Account", "Who you are signed in as", menu=PROFILE),
    R(
        "ssh-keys",
        "ssh_keys:SshKeysScreen",
        "SSH Keys",
        "My Account → SSH Keys: keys that sign you in over SSH",
        permission="ssh_keys.manage",
    ),
    R(
        "billing",
        "billing:BillingScreen",
        "Billing & Plan",
        "Plan, seats, invoices; close the account",
        menu=PROFILE,
        permission="billing.view",
    ),
    R(
        "team",
        "team:TeamScreen",
        "Team Members",
        "Add, remove, transfer ownership, leave",
        menu=PROFILE,
        permission="team.view",
    ),
    R(
        "download",
        "download:DownloadScreen",
        "Download My Data",
        "Export everything as one archive",
        menu=PROFILE,
        permission="data.export",
    ),
    R("templates", "templates:TemplatesScreen", "Email Templates", "Automation → Email Templates", menu=AUTOMATION),
    R(
        "autoresponders",
        "autoresponders:AutorespondersScreen",
        "Autoresponders",
        "Automation → Autoresponders",
        menu=AUTOMATION,
    ),
    R(
        "messages",
        "messages:MessagesScreen",
        "Messages Settings",
        "Automation → Messages → Settings",
        menu=AUTOMATION,
        permission="messages.view",
        menu_title="Messages → Settings",
    ),
    R(
        "support",
        "support:SupportScreen",
        "Contact Support",
        "cases@allclients.com and what support can do",
        menu=PROFILE,
    ),
    R("sign-out", "!sign_out", "Sign Out", "End this session", menu=PROFILE),
)

BY_ID: dict[str, Route] = {r.id: r for r in ROUTES}


def allowed(route: Route, role: str | None) -> bool:
    """Whether a member with this role is offered the route (None: nobody is signed in)."""
    if roles.as_role(role) is None:
        return False
    return route.permission is None or roles.may(role, route.permission)


def offered(role: str | None) -> list[Route]:
    """What the command palette offers a member with this role, in order."""
    return [r for r in ROUTES if allowed(r, role)]


def menu(name: str, role: str | None = None) -> list[Route]:
    """A menu's items in order: those the role is offered, or all of them without a role."""
    return [r for r in ROUTES if r.menu == name and (role is None or allowed(r, role))]


def screen_class(route_id: str):
    return BY_ID[route_id].screen_class()
