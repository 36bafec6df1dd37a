"""What the app offers each role is what the services allow that role.

For the owner, an administrator and a team player, signed in at 80×24: the profile menu, the
Automation menu, the command palette, the keys of Team Members, Contacts and Billing & Plan
and the Messages settings' button. Each offer leads to one action of the role table; it is
offered exactly when the services would do that action for the role: the role table the
services enforce (``crm_tui.services.roles``), the service itself where asking changes
nothing, and the product's table as ``tests/test_roles.py`` writes it out (that file runs every
action as every role against the services)."""

from __future__ import annotations

import pytest
from conftest import ADMIN, OWNER, PLAYER
from pilot_kit import SIZE, run, settle, sign_in
from test_roles import ALLOWED
from textual.widgets import Button, OptionList

pytestmark = pytest.mark.sqlite_only(
    "screen behaviour; the services under it run on both backends (service tests, and the PostgreSQL Pilot "
    "runs of contacts, closing, team, import, download, lists, messages)"
)

ROLE_OF = {OWNER: "owner", ADMIN: "administrator", PLAYER: "team player"}

# the product table's name (tests/test_roles.py) of each action of the code's table
DESIGN_NAME = {
    "billing.view": "billing summary",
    "billing.change_plan": "change plan",
    "account.close": "close account",
    "team.add": "add member",
    "team.remove": "remove member",
    "team.transfer": "transfer ownership",
    "team.leave": "leave account",
    "messages.view": "messages settings",
    "messages.cancel": "messages cancel",
    "data.export": "export",
}

# each thing the app can offer, and the action of the role table behind it
OFFERS = {
    "profile menu: Billing & Plan": "billing.view",
    "profile menu: Team Members": "team.view",
    "profile menu: Download My Data": "data.export",
    "Automation menu: Messages → Settings": "messages.view",
    "palette: Billing & Plan": "billing.view",
    "palette: Team Members": "team.view",
    "palette: Download My Data": "data.export",
    "palette: Messages Settings": "messages.view",
    "Billing & Plan: c (change plan)": "billing.change_plan",
    "Billing & Plan: the close-the-account button": "account.close",
    "Team Members: a (add)": "team.add",
    "Team Members: r (remove)": "team.remove",
    "Team Members: t (transfer ownership)": "team.transfer",
    "Team Members: l (leave)": "team.leave",
    "Contacts: g (Group Actions: export)": "data.export",
    "Contacts: Space (mark for Group Actions)": "data.export",
    "Messages → Settings: x and the Permanently Cancel button": "messages.cancel",
}


def service_allows(engine, who, action: str) -> bool | None:
    """Ask the service itself, for the actions whose asking changes nothing (None: another)."""
    from crm_tui.services import accounts, billing, messages, team
    from crm_tui.services.errors import PermissionDenied

    read = {
        "billing.view": billing.summary,
        "messages.view": messages.settings,
        "team.view": team.list_members,
        "account.impact": accounts.impact,
    }.get(action)
    if read is None:
        return None
    try:
        read(engine, who)
    except PermissionDenied:
        return False
    return True


async def _menu(pilot, key: str, selector: str) -> list[str]:
    app = pilot.app
    await pilot.press(key)
    await settle(pilot)
    options = app.screen.query_one(selector, OptionList)
    labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    await pilot.press("escape")
    await settle(pilot)
    return labels


async def _open(pilot, route_id: str) -> bool:
    """Open a screen as the app would; False if the app refused (the role does not give access)."""
    from crm_tui.tui.routes import screen_class

    app = pilot.app
    app.action_open("dashboard")
    await settle(pilot)
    app.action_open(route_id)
    await settle(pilot)
    return isinstance(app.screen, screen_class(route_id))


def _key_offered(app, key: str) -> bool:
    return key in app.screen.active_bindings


async def what_is_offered(pilot) -> dict[str, bool]:
    app = pilot.app
    offered: dict[str, bool] = {}
    profile = await _menu(pilot, "p", "#profile-options")
    automation = await _menu(pilot, "4", "#automation-menu")
    palette = [c.title for c in app.get_system_commands(app.screen)]
    for offer in OFFERS:
        where, _, what = offer.partition(": ")
        if where == "profile menu":
            offered[offer] = what in profile
        elif where == "Automation menu":
            offered[offer] = what in automation
        elif where == "palette":
            offered[offer] = what in palette

    billing = await _open(pilot, "billing")
    offered["Billing & Plan: c (change plan)"] = billing and _key_offered(app, "c")
    offered["Billing & Plan: the close-the-account button"] = (
        billing and app.screen.query_one("#close-account", Button).display
    )

    team = await _open(pilot, "team")
    for offer, key in (("a (add)", "a"), ("r (remove)", "r"), ("t (transfer ownership)", "t"), ("l (leave)", "l")):
        offered[f"Team Members: {offer}"] = team and _key_offered(app, key)

    contacts = await _open(pilot, "contacts")
    table = app.screen.query_one("ContactTable")
    offered["Contacts: g (Group Actions: export)"] = contacts and _key_offered(app, "g")
    offered["Contacts: Space (mark for Group Actions)"] = contacts and table.check_action("toggle", ()) is True

    messages = await _open(pilot, "messages")
    if messages:
        button = app.screen.query_one("#cancel-messages", Button)
        offered["Messages → Settings: x and the Permanently Cancel button"] = (
            _key_offered(app, "x") and button.display and not button.disabled
        )
    else:
        offered["Messages → Settings: x and the Permanently Cancel button"] = False
    return offered


@pytest.mark.parametrize("email", [OWNER, ADMIN, PLAYER], ids=ROLE_OF.get)
def test_what_the_app_offers_a_role_is_what_the_services_allow_it(demo_url, email):
    from crm_tui.services import auth, roles
    from crm_tui.tui.app import CrmApp

    role = ROLE_OF[email]

    async def body():
        app = CrmApp(database_url=demo_url)
        async with app.run_test(size=SIZE) as pilot:
            await sign_in(pilot, email)
            offered = await what_is_offered(pilot)
            who = auth.as_member(app.engine, email)
            assert who.role == role
            for offer, action in OFFERS.items():
                allows = roles.may(role, action)
                assert offered[offer] == allows, f"{offer} as {role}: offered {offered[offer]}, services {allows}"
                asked = service_allows(app.engine, who, action)
                assert asked in (None, allows), f"{action} as {role}: the service says {asked}"
                if action in DESIGN_NAME:
                    assert allows == (role in ALLOWED[DESIGN_NAME[action]]), f"{action} as {role} vs the table"

    run(body())


def test_every_route_the_palette_offers_is_one_the_role_table_allows():
    """The route table's permissions name actions of the role table, and a route is offered to
    exactly the roles that table allows (every route without a permission: to every role)."""
    from crm_tui.services import roles
    from crm_tui.tui import routes

    for route in routes.ROUTES:
        assert route.permission is None or route.permission in roles.RULES, route.id
        for role in roles.Role:
            expected = route.permission is None or role in roles.PERMISSIONS[route.permission]
            assert routes.allowed(route, role.value) == expected, (route.id, role)
    assert routes.offered(None) == []
