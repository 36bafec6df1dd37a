"""Download My Data (owner and administrators): the whole account as one archive, with a
progress bar, then its path, size and sha256 — and, over SSH, a ready ``scp`` line.

The export starts as soon as the screen opens: it only reads, and the session is already
signed in (the service checks the role again). The command line asks for the password
because it acts for a user named by email, without a session."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, ProgressBar, Static
from textual.worker import get_current_worker

from crm_tui.session_context import SessionContext
from crm_tui.tui.base import SectionScreen
from crm_tui.tui.safe import safe

ABOUT = (
    "One zip file with everything in the account: contacts (CSV and vCard), appointments and "
    "to-dos (CSV and iCalendar), email templates (JSON and HTML), autoresponders, history, "
    "text messages, team, invoices, a summary report, and a manifest with the sha256 of "
    "every file."
)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit} ({size:,} bytes)"
        value /= 1024
    return f"{size:,} bytes"  # pragma: no cover


def shown_path(path: Path) -> str:
    """The path as a user reads it: under the home folder, starting with ``~/``."""
    path = Path(path)
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


def describe(result, context: SessionContext) -> str:
    """One or two lines: where the export is, its size, and over SSH how to fetch it."""
    text = f"{shown_path(result.path)}, {human_size(result.size)}"
    line = context.scp_line(result.path)
    return f"{text}\nFetch it: {line}" if line else text


class DownloadScreen(SectionScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("r", "export", "Export again", id="download-again", show=False),
    ]
    CSS_PATH = "download.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.result = None
        self.running = False
        self._shown = -1

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with VerticalScroll(classes="page"):
            yield Static("Download My Data", classes="page-title")
            yield Static(ABOUT, id="download-about", markup=False)
            with Horizontal(id="download-progress-row"):
                yield ProgressBar(total=None, show_eta=False, id="download-bar")
            yield Static("Starting the export…", id="download-status")
            yield Static("", id="download-result")
            yield Static("", id="download-scp")
            with Horizontal(id="download-actions"):
                yield Button("Done", id="download-done", variant="primary", compact=True, disabled=True)
                yield Button("Export again", id="download-again", compact=True, disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        from crm_tui.tui.widgets.confirm import password_first_in_key_session

        password_first_in_key_session(
            self.app,
            "Download My Data",
            "The archive holds everything in the account.",
            self.action_export,
            self.action_back,
        )

    def action_export(self) -> None:
        if self.running:
            return
        from crm_tui.services import export

        self.running = True
        self._shown = -1
        for button in self.query("#download-actions Button"):
            button.disabled = True
        self.query_one("#download-bar", ProgressBar).update(total=None, progress=0)
        self.status("Exporting… (Esc leaves this screen; the file is still written)")
        engine, who, context = self.crm.engine, self.crm.who, self.crm.session_context
        app = self.app
        bar = self.query_one("#download-bar", ProgressBar)

        def progress(done: int, total: int | None = None) -> None:
            # called on the export's thread: pass at most ~100 updates to the UI thread
            if get_current_worker().is_cancelled:
                return
            step = int(done * 100 / total) if total else 0
            if step != self._shown:
                self._shown = step
                app.call_from_thread(bar.update, total=total or None, progress=done)

        def run():  # served over SSH: into the member's own folder, which the server's SFTP offers
            return export.export_account(engine, who, out_dir=context.export_folder(who.member_id), progress=progress)

        self.call_service(run, done=self.finished, failed=self.failed, group="download")

    def finished(self, result) -> None:
        self.running = False
        self.result = result
        bar = self.query_one("#download-bar", ProgressBar)
        bar.update(total=bar.total or 1, progress=bar.total or 1)
        counts = getattr(result, "counts", None) or {}
        total = sum(counts.values()) if counts else 0
        self.status(f"Done: {total:,} records exported." if counts else "Done.")
        self.query_one("#download-result", Static).update(
            safe(
                f"File:    {shown_path(result.path)}\nSize:    {human_size(result.size)}\nSHA-256: {result.sha256}",
                multiline=True,
            )
        )
        line = self.crm.session_context.scp_line(result.path)
        scp = self.query_one("#download-scp", Static)
        scp.update(safe(f"Fetch it to your own computer:\n  {line}", multiline=True) if line else "")
        scp.display = bool(line)
        for button in self.query("#download-actions Button"):
            button.disabled = False
        self.query_one("#download-done", Button).focus()

    def failed(self, message: str) -> None:
        self.running = False
        self.status(f"The export failed: {message}. Press r to try again.", error=True)
        self.query_one("#download-again", Button).disabled = False
        self.query_one("#download-done", Button).disabled = False
        self.query_one("#download-again", Button).focus()

    def status(self, text: str, error: bool = False) -> None:
        widget = self.query_one("#download-status", Static)
        widget.update(safe(text))
        widget.set_class(error, "-error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "download-done":
            self.action_back()
        elif event.button.id == "download-again":
            self.action_export()

    def action_back(self) -> None:
        self.dismiss(self.result)
