"""Contacts: a table paged in SQL (so it opens at once with 250,000 contacts), search,
multi-select with space (Mark), Group Actions (g) to export, Enter (Open) for a contact's details."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Input, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from crm_tui.session_context import SessionContext
from crm_tui.tui.base import CrmModal, SectionScreen
from crm_tui.tui.safe import safe
from crm_tui.tui.widgets.confirm import NoticeModal
from crm_tui.tui.widgets.keys import quiet_nav_bindings
from crm_tui.tui.widgets.record_table import RecordTable

PAGE = 100
MARK = "●"
# Group Actions' formats, as the export service names them (services.export.FORMATS; not
# imported here, so that the database stack loads after the first screen)
FORMAT_NAMES = {"csv": "CSV", "vcf": "vCard", "google": "Google Contacts CSV", "outlook": "Outlook CSV"}


class ContactTable(RecordTable):
    """Page keys load the neighbouring page from the database instead of scrolling."""

    BINDINGS = [
        Binding("pagedown,n", "next_page", "Next page", key_display="n", id="contacts-next"),
        Binding("pageup,b", "prev_page", "Prev page", key_display="b", show=False, id="contacts-prev"),
        Binding("home", "first_page", "First page", show=False, id="contacts-first"),
        Binding("end", "last_page", "Last page", show=False, id="contacts-last"),
        # Space marks a row for Group Actions; Enter opens the contact (DataTable calls both
        # "Select", which told the two keys apart in neither the footer nor the keys help)
        Binding("space", "toggle", "Mark", id="contacts-toggle"),
        Binding("enter", "select_cursor", "Open", show=False, id="contacts-open"),
        # the table's own, so that it runs in turn with keys typed behind it ("/" then a name)
        Binding("slash", "screen.search", "Search", id="contacts-search"),
    ]

    def action_next_page(self) -> None:
        self.screen.turn_page("next")

    def action_prev_page(self) -> None:
        self.screen.turn_page("prev")

    def action_first_page(self) -> None:
        self.screen.turn_page("first")

    def action_last_page(self) -> None:
        self.screen.turn_page("last")

    def action_toggle(self) -> None:
        self.screen.toggle_current()

    def check_action(self, action: str, parameters) -> bool | None:
        # Selecting only feeds Group Actions: not offered to a role that may not export.
        if action == "toggle":
            return self.screen.may_export()
        return True


class ContactsScreen(SectionScreen):
    SECTION = "contacts"
    CSS_PATH = "contacts.tcss"
    # The table, not the search field, has focus from the start: with the field focused even
    # for a moment, section keys typed ahead (a burst of "1 2") were taken as text for it and
    # lost, as the screen's own key bindings give way to a focused field's typing.
    AUTO_FOCUS = "#contacts-table"
    BINDINGS = quiet_nav_bindings() + [
        Binding("g", "group_actions", "Group", id="contacts-group"),
        Binding("c", "clear_selection", "Clear selection", show=False, id="contacts-clear"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.current = None
        self.row_offset = 0  # rows before this page
        self.query_text = ""
        self.picked: dict[int, str] = {}  # id → name, across pages and searches
        self.busy = False

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with Vertical(classes="page"):
            with Horizontal(id="contacts-bar"):
                yield Input(placeholder="/ Search name, email or company", id="contacts-search", compact=True)
                yield Static("Loading…", id="contacts-status")
            yield ContactTable(
                [
                    ("mark", " ", 1),
                    ("name", "Name", 19),
                    ("company", "Company", 12),
                    ("email", "Email", 17),
                    ("phone", "Phone", 17),
                ],
                id="contacts-table",
            )
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(ContactTable).focus()
        self.load("first")

    def on_screen_resume(self) -> None:
        if self.current is not None:
            self.load("reload")

    # --- paging ----------------------------------------------------------------------------

    def load(self, where: str) -> None:
        from crm_tui.services import records

        page = self.current
        kwargs: dict = {"query": self.query_text, "limit": PAGE}
        if where == "next":
            if page is None or not page.has_next:
                return
            kwargs.update(after=page.last_key, total=page.total)
        elif where == "prev":
            if page is None or not page.has_prev:
                return
            kwargs.update(before=page.first_key, total=page.total)
        elif where == "last":
            kwargs.update(last=True)
        elif where == "reload" and page is not None and page.rows and page.has_prev:
            first = page.first_key
            kwargs.update(after=(first[0], first[1], first[2] - 1))
        engine, who = self.crm.engine, self.crm.who
        self.busy = True

        def fetch():
            return records.contacts_page(engine, who, **kwargs)

        self.call_service(fetch, done=lambda p: self.show(p, where), failed=self.failed, group="contacts")

    def failed(self, message: str) -> None:
        self.busy = False
        self.show_error(message)

    def turn_page(self, where: str) -> None:
        if not self.busy:
            self.load(where)

    def show(self, page, where: str) -> None:
        self.busy = False
        previous = self.current
        if where == "next" and previous is not None:
            self.row_offset += len(previous.rows)
        elif where == "prev":
            self.row_offset = max(0, self.row_offset - len(page.rows))
            if not page.has_prev:
                self.row_offset = 0
        elif where == "last":
            self.row_offset = max(0, page.total - len(page.rows))
        elif where in ("first", "search"):
            self.row_offset = 0
        self.current = page
        table = self.query_one(ContactTable)
        table.set_records((r.id, self.cells(r)) for r in page.rows)
        if where == "next" or where in ("first", "search"):
            table.move_cursor(row=0)
        elif where in ("prev", "last"):
            table.move_cursor(row=max(0, table.row_count - 1))
        self.show_status()

    def cells(self, r) -> tuple:
        return (MARK if r.id in self.picked else "", r.name, r.company, r.email, r.phone)

    def show_status(self) -> None:
        page = self.current
        if page is None:
            return
        if page.rows:
            text = f"rows {self.row_offset + 1:,}–{self.row_offset + len(page.rows):,} of {page.total:,}"
        elif page.query:
            text = "no contact matches"
        else:
            text = "no contacts"
        if self.picked:
            text += f" · {len(self.picked):,} selected"
        self.query_one("#contacts-status", Static).update(text)

    # --- search ------------------------------------------------------------------------------

    def action_search(self) -> None:
        # at once (focus() waits for the next refresh): the keys typed behind "/" follow it
        self.set_focus(self.query_one("#contacts-search", Input))

    def action_back(self) -> None:
        """Esc in the search field goes back to the table (keeping the search shown and the
        selection); Esc in the table leaves Contacts."""
        field = self.query_one("#contacts-search", Input)
        if field.has_focus:
            field.value = self.query_text  # forget what was typed but not searched for
            self.query_one(ContactTable).focus()
            return
        super().action_back()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "contacts-search":
            self.search(event.value)
            self.query_one(ContactTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "contacts-search" and not event.value.strip() and self.query_text:
            self.search("")

    def search(self, text: str) -> None:
        self.query_text = text.strip()
        self.current = None
        from crm_tui.services import records

        engine, who, query = self.crm.engine, self.crm.who, self.query_text
        self.query_one("#contacts-status", Static).update("Searching…")
        self.busy = True
        self.call_service(
            lambda: records.contacts_page(engine, who, query=query, limit=PAGE),
            done=lambda p: self.show(p, "search"),
            failed=self.failed,
            group="contacts",
        )

    # --- selection -----------------------------------------------------------------------------

    def toggle_current(self) -> None:
        if not self.may_export():
            return
        table = self.query_one(ContactTable)
        key = table.current_key()
        if key is None or self.current is None:
            return
        row = next((r for r in self.current.rows if str(r.id) == key), None)
        if row is None:
            return
        if row.id in self.picked:
            del self.picked[row.id]
        else:
            self.picked[row.id] = row.name
        table.update_cell(key, "mark", safe(MARK if row.id in self.picked else ""))
        if table.cursor_row < table.row_count - 1:
            table.move_cursor(row=table.cursor_row + 1)
        self.show_status()

    def action_clear_selection(self) -> None:
        if not self.picked:
            return
        table = self.query_one(ContactTable)
        for cid in list(self.picked):
            if str(cid) in table.rows:
                table.update_cell(str(cid), "mark", safe(""))
        self.picked.clear()
        self.show_status()

    # --- details -------------------------------------------------------------------------------

    def on_data_table_row_selected(self, event: RecordTable.RowSelected) -> None:
        from crm_tui.tui.screens.contact_detail import ContactDetailScreen

        self.app.push_screen(ContactDetailScreen(int(event.row_key.value)))

    # --- group actions ---------------------------------------------------------------------------

    def may_export(self) -> bool:
        return self.may("data.export")

    def check_action(self, action: str, parameters) -> bool | None:
        if action in ("group_actions", "clear_selection"):
            return self.may_export()
        return True

    def action_group_actions(self) -> None:
        if not self.may_export():
            return
        total = self.current.total if self.current is not None and not self.query_text else None

        def chosen(choice) -> None:
            if not choice:
                return
            scope, fmt = choice.split(":")
            ids = sorted(self.picked) if scope == "selected" else None
            from crm_tui.tui.widgets.confirm import password_first_in_key_session

            password_first_in_key_session(
                self.app,
                "Export contacts",
                "The export holds your contacts' personal data.",
                lambda: self.app.push_screen(ExportModal(ids, fmt), self._exported),
            )

        self.app.push_screen(GroupActionsModal(len(self.picked), total, searching=bool(self.query_text)), chosen)

    def _exported(self, result) -> None:
        if result is None:
            return
        self.app.push_screen(NoticeModal("Export saved", export_notice(result, self.crm.session_context)))


def export_notice(result, context: SessionContext):
    lines = [f"Saved to:\n  {result.path}", f"Size: {result.size:,} bytes", f"SHA-256: {result.sha256}"]
    counts = getattr(result, "counts", None) or {}
    if counts.get("contacts") is not None:
        lines.insert(0, f"{counts['contacts']:,} contact{'s' if counts['contacts'] != 1 else ''} exported.")
    line = context.scp_line(result.path)
    if line:
        lines.append(f"Fetch it from your computer with:\n  {line}")
    return safe("\n".join(lines), multiline=True)


class GroupActionsModal(CrmModal):
    CSS_PATH = "contacts.tcss"

    def __init__(self, selected: int, total: int | None, *, searching: bool = False) -> None:
        super().__init__()
        self.picked = selected
        self.total = total
        self.searching = searching

    def compose(self) -> ComposeResult:
        n = f"{self.picked:,}"
        if self.searching:  # the search's matches are not "all": say what these export
            everyone = "every contact"
        else:
            everyone = f"all {self.total:,} contacts" if self.total is not None else "all contacts"
        with Vertical(id="group-box"):
            yield Static("Group Actions", classes="page-title")
            yield OptionList(
                *(
                    Option(f"Export {n} selected to {name}", id=f"selected:{fmt}", disabled=not self.picked)
                    for fmt, name in FORMAT_NAMES.items()
                ),
                None,
                *(Option(f"Export {everyone} to {name}", id=f"all:{fmt}") for fmt, name in FORMAT_NAMES.items()),
                id="group-options",
            )
            if self.searching:
                yield Static(
                    'A search is on: "every contact" is the whole account, not only the '
                    "matches. To export matches, select them with Space.",
                    classes="muted",
                    id="group-search-note",
                )
            yield Static("Space selects rows; Esc closes.", classes="muted")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ExportModal(CrmModal):
    """Runs the export with a progress bar; dismisses with the result (or None)."""

    CSS_PATH = "contacts.tcss"

    def __init__(self, ids: list[int] | None, fmt: str) -> None:
        super().__init__()
        self.ids = ids
        self.fmt = fmt

    def compose(self) -> ComposeResult:
        what = f"{len(self.ids):,} selected contacts" if self.ids is not None else "all contacts"
        kind = FORMAT_NAMES[self.fmt]
        with Vertical(id="export-box"):
            yield Static(f"Exporting {what} to {kind}…", classes="page-title")
            yield ProgressBar(total=None, show_eta=False, id="export-progress")
            yield Static("", id="export-error")

    def on_mount(self) -> None:
        from crm_tui.services import export

        engine, who, ids, fmt = self.crm.engine, self.crm.who, self.ids, self.fmt
        context = self.crm.session_context
        bar = self.query_one(ProgressBar)
        app = self.app

        def progress(done: int, total: int) -> None:
            app.call_from_thread(bar.update, total=max(total, 1), progress=done)

        self.call_service(
            lambda: export.export_contacts(
                engine, who, ids, fmt, out_dir=context.export_folder(who.member_id), progress=progress
            ),
            done=self.dismiss,
            failed=self.failed,
            group="export",
        )

    def failed(self, message: str) -> None:
        self.query_one("#export-error", Static).update(
            safe(f"Export failed: {message}. Nothing was saved. Press Esc to close.")
        )
