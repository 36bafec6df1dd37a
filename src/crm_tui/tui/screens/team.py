"""Team Members: who is in the account, with the contacts, to-dos and appointments each holds;
add, remove, transfer ownership, leave. Only what the role may do is offered."""

from __future__ import annotations

import dataclasses

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Static

from crm_tui.services.errors import capitalised
from crm_tui.services.roles import Role
from crm_tui.text import noun, plural
from crm_tui.tui.base import CrmModal, SectionScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.confirm import ConfirmModal, NoticeModal
from crm_tui.tui.widgets.form_input import FormButton, FormInput, FormRadioSet
from crm_tui.tui.widgets.keys import quiet_nav_bindings
from crm_tui.tui.widgets.record_table import RecordTable

# each of the screen's actions, and the service action of the role table it stands for
ACTIONS = {"add": "team.add", "remove": "team.remove", "transfer": "team.transfer", "leave": "team.leave"}


class TeamScreen(SectionScreen):
    BINDINGS = quiet_nav_bindings() + [
        Binding("a", "add", "Add", id="team-add"),
        Binding("r", "remove", "Remove", id="team-remove"),
        Binding("t", "transfer", "Transfer", id="team-transfer"),
        Binding("l", "leave", "Leave", id="team-leave"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.members: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with Vertical(classes="page"):
            yield Static("Team Members", classes="page-title")
            yield RecordTable(
                [
                    ("name", "Name", 14),
                    ("email", "Email", 18),
                    ("role", "Role", 13),
                    ("contacts", "Contacts", 8),
                    ("todos", "To-dos", 6),
                    ("appts", "Appts", 5),
                ],
                id="team-table",
            )
            yield Static("", id="team-status", classes="muted")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RecordTable).focus()
        self.load()

    def load(self) -> None:
        from crm_tui.services import team

        self.call_service(team.list_members, self.crm.engine, self.crm.who, done=self.show, group="team")

    def show(self, rows) -> None:
        table = self.query_one(RecordTable)
        self.members = {str(r.id): r for r in rows}
        table.set_records(
            (r.id, (r.name, r.email, r.role, f"{r.contacts:,}", f"{r.todos:,}", f"{r.appointments:,}")) for r in rows
        )
        seats = sum(1 for r in rows if r.role != Role.OWNER)
        self.query_one("#team-status", Static).update(
            f"{plural(len(rows), 'member')} ({plural(seats, 'billed seat')}). "
            "Removing a member moves their contacts and to-dos to the owner and deletes their appointments."
        )

    # --- what the role may do ------------------------------------------------------------

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ACTIONS:
            return self.may(ACTIONS[action])
        return True

    def selected(self):
        key = self.query_one(RecordTable).current_key()
        return self.members.get(key) if key else None

    # --- add -------------------------------------------------------------------------------

    def action_add(self) -> None:
        if not self.may("team.add"):
            return

        def added(new) -> None:
            if new is None:
                return
            self.load()
            self.app.push_screen(
                NoticeModal(
                    "Team member added",
                    safe(
                        f"{new.email} can now sign in as {new.role}.\n\n"
                        f"Temporary password (shown only now):  {new.temporary_password}\n\n"
                        "Pass it on privately.",
                        multiline=True,
                    ),
                )
            )

        self.app.push_screen(AddMemberModal(), added)

    # --- remove ------------------------------------------------------------------------------

    def action_remove(self) -> None:
        if not self.may("team.remove"):
            return
        member = self.selected()
        if member is None:
            return
        if member.role == Role.OWNER:
            self.show_error("The account owner cannot be removed; transfer ownership first.")
            return
        if member.id == self.crm.who.member_id:
            self.show_error("You cannot remove yourself; use Leave account (l) instead.")
            return
        from crm_tui.services import team

        self.call_service(
            team.removal_impact, self.crm.engine, self.crm.who, member.id, done=self.confirm_removal, group="team"
        )

    def confirm_removal(self, impact) -> None:
        from crm_tui.services import team

        engine, who = self.crm.engine, self.crm.who
        body = safe(
            f"Remove {impact.name} from the account?\n\n"
            f"  • {plural(impact.contacts_moved, 'contact')} {noun(impact.contacts_moved, 'moves', 'move')} "
            f"to the owner, {impact.owner_name}\n"
            f"  • {plural(impact.todos_moved, 'to-do')} {noun(impact.todos_moved, 'moves', 'move')} "
            f"to {impact.owner_name}\n"
            f"  • {plural(impact.appointments_deleted, 'calendar appointment')} "
            f"{noun(impact.appointments_deleted, 'is', 'are')} permanently deleted\n\n"
            f"{impact.name} loses access at once.",
            multiline=True,
        )

        def removed(result) -> None:
            if result is None:
                return
            self.load()
            self.app.notify(
                safe(
                    f"{result.name} was removed: {plural(result.contacts_moved, 'contact')} and "
                    f"{plural(result.todos_moved, 'to-do')} moved to {result.owner_name}, "
                    f"{plural(result.appointments_deleted, 'appointment')} deleted."
                ),
                timeout=8,
            )

        self.app.push_screen(
            ConfirmModal(
                "Remove team member",
                body,
                "Remove member",
                lambda _pw: team.remove_member(engine, who, impact.member_id),
            ),
            removed,
        )

    # --- transfer ----------------------------------------------------------------------------

    def action_transfer(self) -> None:
        if not self.may("team.transfer"):
            return
        member = self.selected()
        if member is None:
            return
        if member.id == self.crm.who.member_id:
            self.show_error("Choose the team member who should become the owner, then press t.")
            return
        from crm_tui.services import team

        engine, who = self.crm.engine, self.crm.who
        body = safe(
            f"Make {member.name} ({member.email}) the owner of {who.account_name}?\n\n"
            "The owner alone sees Billing & Plan and can close the account. You become an "
            "administrator. Enter your password to confirm.",
            multiline=True,
        )

        def transferred(new_owner) -> None:
            if new_owner is None:
                return
            self.crm.who = dataclasses.replace(self.crm.who, role=Role.ADMIN.value)
            self.refresh_bindings()
            self.load()
            self.app.notify(safe(f"{new_owner} is now the owner; you are an administrator."), timeout=8)

        self.app.push_screen(
            ConfirmModal(
                "Transfer ownership",
                body,
                "Transfer ownership",
                lambda pw: team.transfer_ownership(engine, who, member.id, pw),
                password=True,
            ),
            transferred,
        )

    # --- leave -------------------------------------------------------------------------------

    def action_leave(self) -> None:
        if not self.may("team.leave"):
            return
        from crm_tui.services import team

        engine, who = self.crm.engine, self.crm.who
        body = safe(
            f"Leave {who.account_name}?\n\n"
            "Your contacts and to-dos move to the owner; your calendar appointments are "
            "permanently deleted. You are signed out and cannot sign in to this account again "
            "unless you are added back. Enter your password to confirm.",
            multiline=True,
        )

        def left(result) -> None:
            if result is None:
                return
            self.crm.sign_out(f"You left {who.account_name}. Your contacts and to-dos moved to the owner.")

        self.app.push_screen(
            ConfirmModal(
                "Leave the account",
                body,
                "Leave account",
                lambda pw: team.leave_account(engine, who, pw),
                password=True,
            ),
            left,
        )


ROLE_LABELS = {
    "role-player": "Team player (contacts, calendar, to-dos)",
    "role-admin": "Administrator (also team and Messages)",
}


class AddMemberModal(CrmModal):
    CSS_PATH = "team.tcss"

    def compose(self) -> ComposeResult:
        with Vertical(id="add-box"):
            yield Static("Add a team member", classes="page-title")
            with Horizontal(classes="add-row"):
                yield Label("Email", classes="add-label")
                yield FormInput(placeholder="name@example.com", id="add-email", compact=True, next_on_enter="#add-name")
            with Horizontal(classes="add-row"):
                yield Label("Name", classes="add-label")
                yield FormInput(id="add-name", compact=True)
            with Horizontal(classes="add-row"):
                yield Label("Role", classes="add-label")
                with FormRadioSet(id="add-role", compact=True):
                    yield RadioButton(ROLE_LABELS["role-player"], value=True, id="role-player")
                    yield RadioButton(ROLE_LABELS["role-admin"], id="role-admin")
            yield Static("A temporary password is made and shown once.", classes="muted")
            yield Static("", id="add-error")
            with Horizontal(id="add-buttons"):
                yield FormButton("Cancel", id="cancel", compact=True)
                yield FormButton("Add member", id="add", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#add-email", Input).focus()
        self.mark_role()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        self.mark_role()

    def mark_role(self) -> None:
        """Say which role is chosen in words too: without colour both buttons look alike."""
        for button in self.query(RadioButton):
            button.label = ("(chosen) " if button.value else "") + ROLE_LABELS[button.id]

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "add":
            self.attempt()

    def attempt(self) -> None:
        from crm_tui.services import team

        email = self.query_one("#add-email", Input).value
        name = self.query_one("#add-name", Input).value
        role = (Role.ADMIN if self.query_one("#role-admin", RadioButton).value else Role.TEAM_PLAYER).value
        self.query_one("#add", Button).disabled = True
        self.call_service(
            team.add_member,
            self.crm.engine,
            self.crm.who,
            email,
            name,
            role,
            done=self.dismiss,
            failed=self.failed,
            group="add-member",
        )

    def failed(self, message: str) -> None:
        self.query_one("#add", Button).disabled = False
        self.query_one("#add-error", Static).update(safe(capitalised(message)))
