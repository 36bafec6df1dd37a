"""SSH Keys (My Account → k): the member's own public keys, for signing in to ``crm-tui serve``
without the password.

``a`` goes to the field: paste a public key line (the ``.pub`` file), Enter links it. The list
shows each key's fingerprint as ``ssh-keygen -l`` prints it; ``x`` unlinks the one selected,
after a confirmation. After a password sign-in over SSH with a key nobody has linked,
:class:`LinkKeyModal` offers to link it (y/n)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, Static

from crm_tui.services.errors import capitalised
from crm_tui.tui.base import CrmModal, SectionScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.confirm import ConfirmModal
from crm_tui.tui.widgets.form_input import FormButton, FormInput
from crm_tui.tui.widgets.keys import quiet_nav_bindings
from crm_tui.tui.widgets.record_table import RecordTable

ABOUT = (
    "Connecting to this CRM with 'ssh' using one of these keys signs you in without the "
    "password. Destructive steps still ask for it."
)


def short_type(algorithm: str) -> str:
    """ssh-ed25519 → ed25519, ecdsa-sha2-nistp256 → ecdsa-256."""
    return algorithm.removeprefix("ssh-").replace("ecdsa-sha2-nistp", "ecdsa-")


def added_text(key) -> str:
    return f"{key.algorithm} key {key.fingerprint} linked" + (f" ({key.comment})" if key.comment else "") + "."


class SshKeysScreen(SectionScreen):
    BINDINGS = quiet_nav_bindings() + [
        Binding("a", "edit_key", "Add key", id="ssh-keys-add"),
        Binding("x", "remove", "Remove key", id="ssh-keys-remove"),
    ]
    CSS_PATH = "ssh_keys.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.keys: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with Vertical(classes="page"):
            yield Static("SSH Keys", classes="page-title")
            yield Static(ABOUT, id="ssh-keys-about", markup=False)
            with Horizontal(id="ssh-key-row"):
                yield Label("Add (a), Enter:", id="ssh-key-label")
                yield FormInput(id="ssh-key-input", compact=True, placeholder="ssh-ed25519 AAAA... you@laptop")
            yield Static("", id="ssh-key-error")
            yield RecordTable(
                [("fingerprint", "Fingerprint", 50), ("type", "Type", 9), ("comment", "Comment", 11)],
                id="ssh-keys-table",
            )
            yield Static("", id="ssh-keys-status", classes="muted")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#ssh-keys-table", RecordTable).focus()
        self.load()

    def load(self) -> None:
        from crm_tui.services import ssh_keys

        self.call_service(ssh_keys.list_for, self.crm.engine, self.crm.who.member_id, done=self.show, group="ssh-keys")

    def show(self, keys) -> None:
        self.keys = {str(k.id): k for k in keys}
        table = self.query_one("#ssh-keys-table", RecordTable)
        table.set_records((k.id, (k.fingerprint, short_type(k.algorithm), k.comment)) for k in keys)
        status = self.query_one("#ssh-keys-status", Static)
        if keys:
            status.update("x removes the key selected (that key then needs the password again).")
        else:
            status.update("No keys yet. Press a and paste your public key, such as ~/.ssh/id_ed25519.pub.")

    # --- adding ---------------------------------------------------------------------------------

    def action_edit_key(self) -> None:
        self.set_focus(self.query_one("#ssh-key-input", FormInput))

    def action_back(self) -> None:
        """Esc in the field leaves the field; Esc elsewhere leaves the screen."""
        field = self.query_one("#ssh-key-input", FormInput)
        if self.focused is field:
            field.value = ""
            self.query_one("#ssh-key-error", Static).update("")
            self.query_one("#ssh-keys-table", RecordTable).focus()
            return
        super().action_back()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        from crm_tui.services import ssh_keys

        event.stop()
        if not event.value.strip():
            return
        self.call_service(
            ssh_keys.add,
            self.crm.engine,
            self.crm.who.member_id,
            event.value,
            done=self.added,
            failed=self.refused,
            group="ssh-keys-add",
        )

    def added(self, key) -> None:
        field = self.query_one("#ssh-key-input", FormInput)
        field.value = ""
        self.query_one("#ssh-key-error", Static).update("")
        self.query_one("#ssh-keys-table", RecordTable).focus()
        self.app.notify(safe(added_text(key)), timeout=8)
        self.load()

    def refused(self, message: str) -> None:
        self.query_one("#ssh-key-error", Static).update(safe(capitalised(message)))

    # --- removing -------------------------------------------------------------------------------

    def action_remove(self) -> None:
        from crm_tui.services import ssh_keys

        key_id = self.query_one("#ssh-keys-table", RecordTable).current_key()
        key = self.keys.get(key_id) if key_id is not None else None
        if key is None:
            return
        engine, member_id = self.crm.engine, self.crm.who.member_id
        body = safe(
            f"Remove the {key.algorithm} key {key.fingerprint}"  # type: ignore[attr-defined]
            + (f" ({key.comment})" if key.comment else "")  # type: ignore[attr-defined]
            + "?\n\nConnecting with it will ask for your email and password again.",
            multiline=True,
        )

        def removed(result) -> None:
            if result is None:
                return
            self.app.notify("SSH key removed.", markup=False)
            self.load()

        self.app.push_screen(
            ConfirmModal(
                "Remove SSH key",
                body,
                "Remove key",
                lambda _pw: ssh_keys.remove(engine, member_id, key.id) or True,  # type: ignore[attr-defined]
            ),
            removed,
        )


class LinkKeyModal(CrmModal):
    """After a password sign-in over SSH with a key nobody has linked: link it to the member
    (y), or not (n, Esc). Focus starts on No."""

    BINDINGS = [
        Binding("escape", "cancel", "No", id="cancel"),
        Binding("n", "cancel", "No", id="link-key-no"),
        Binding("y", "link", "Yes, link it", id="link-key-yes"),
    ]
    CSS_PATH = "ssh_keys.tcss"

    def __init__(self, who, public_key: str) -> None:
        super().__init__()
        self.who = who
        self.public_key = public_key

    def compose(self) -> ComposeResult:
        from crm_tui.services import ssh_keys

        try:
            key = ssh_keys.parse_public_key(self.public_key)
            what = f"{key.algorithm} {key.fingerprint}"
        except Exception:
            what = "this SSH key"
        with Vertical(id="link-key-box"):
            yield Static(safe(f"Link this SSH key to {self.who.email}? (y/n)"), id="link-key-title")
            yield Static(
                safe(
                    f"You connected with {what}. Linked, it signs you in next time without the password.",
                    multiline=True,
                ),
                id="link-key-body",
            )
            yield Static("", id="link-key-error")
            with Horizontal(id="link-key-buttons"):
                yield FormButton("No", id="link-key-no", compact=True)
                yield FormButton("Yes, link it", id="link-key-yes", variant="primary", compact=True)

    def on_mount(self) -> None:
        self.query_one("#link-key-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "link-key-yes":
            self.action_link()
        else:
            self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_link(self) -> None:
        from crm_tui.services import ssh_keys

        self.query_one("#link-key-yes", Button).disabled = True
        self.call_service(
            ssh_keys.add,
            self.crm.engine,
            self.who.member_id,
            self.public_key,
            done=self.linked,
            failed=self.failed,
            group="link-key",
        )

    def linked(self, key) -> None:
        self.app.notify(safe(added_text(key)), timeout=8)
        self.dismiss(True)

    def failed(self, message: str) -> None:
        self.query_one("#link-key-yes", Button).disabled = False
        self.query_one("#link-key-error", Static).update(safe(capitalised(message)))
