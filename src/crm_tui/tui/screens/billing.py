"""Billing & Plan (owner only): plan, seats, the Messages add-on, monthly total, next billing
date, card, recent invoices, change plan; and at the bottom, after scrolling, the danger zone
with the red "Cancel & Permanently Delete Your Account" button."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, OptionList, Static
from textual.widgets.option_list import Option

from crm_tui.tui.base import CrmModal, SectionScreen
from crm_tui.tui.safe import safe

CLOSE_LABEL = "Cancel & Permanently Delete Your Account"


class ChangePlanModal(CrmModal):
    """Pick a plan; the current one is marked. Esc leaves the plan as it is."""

    CSS_PATH = "billing.tcss"

    def __init__(self, plans, current: str, seats: int, seat_price: int) -> None:
        super().__init__()
        self.plans = plans
        self.current = current
        self.seats = seats
        self.seat_price = seat_price

    def compose(self) -> ComposeResult:
        from crm_tui.services.billing import money

        with Vertical(id="change-plan"):
            yield Static("Change plan", classes="page-title")
            options = []
            for code, name, price in self.plans:
                mark = "  (current)" if code == self.current else ""
                options.append(Option(safe(f"{name:<14}{money(price):>9}/month{mark}"), id=code))
            yield OptionList(*options, id="change-plan-options")
            yield Static(
                safe(
                    f"Seats stay as they are: {self.seats} × {money(self.seat_price)}/month.\n"
                    "Enter chooses · Esc keeps the current plan",
                    multiline=True,
                ),
                id="change-plan-hint",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        for index, (code, _name, _price) in enumerate(self.plans):
            if code == self.current:
                options.highlighted = index
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class BillingScreen(SectionScreen):
    BINDINGS = [
        Binding("c", "change_plan", "Plan", tooltip="Change plan", id="billing-change-plan"),
        Binding("pagedown", "page_down", "Page down", id="billing-page-down", show=False),
        Binding("pageup", "page_up", "Page up", id="billing-page-up", show=False),
        # in the footer: the danger zone is below the fold at 24 rows, and End is the way there
        Binding("end", "to_danger_zone", "Danger zone", id="billing-bottom", priority=True),
    ]
    CSS_PATH = "billing.tcss"

    def __init__(self) -> None:
        super().__init__()
        self.data = None

    def compose(self) -> ComposeResult:
        yield self.compose_top()
        with VerticalScroll(classes="page", id="billing-page"):
            yield Static("Billing & Plan", classes="page-title")
            yield Static("Loading…", id="billing-status")
            for key, label in (
                ("plan", "Plan"),
                ("seats", "Team member seats"),
                ("messages", "Messages add-on"),
                ("total", "Monthly total"),
                ("next", "Next billing date"),
                ("card", "Card on file"),
            ):
                with Horizontal(classes="billing-row"):
                    yield Static(label, classes="billing-label")
                    yield Static("…", id=f"billing-{key}", classes="billing-value")
            with Horizontal(id="plan-actions"):
                yield Button("Change plan", id="change-plan-button", compact=True)
            yield Static("Recent invoices", classes="panel-title")
            yield Static("…", id="invoices")
            with Vertical(id="danger-zone") as zone:
                zone.border_title = "Danger zone"
                yield Static(
                    "Closing the account deletes all of its data at once: contacts, appointments, "
                    "to-dos, email templates, autoresponders and all history. Your team members lose "
                    "access. You will see exactly what is deleted, and can export first, before "
                    "anything happens.",
                    id="danger-text",
                )
                yield Button(CLOSE_LABEL, id="close-account", variant="error", disabled=True)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def load(self) -> None:
        from crm_tui.services import billing

        self.call_service(
            billing.summary, self.crm.engine, self.crm.who, done=self.show, failed=self.load_failed, group="billing"
        )

    def load_failed(self, message: str) -> None:
        self.query_one("#billing-status", Static).update(safe(f"Cannot show billing: {message}"))

    def show(self, d) -> None:
        from crm_tui.services.billing import money

        self.data = d
        self.query_one("#billing-status", Static).update(safe(f"Account: {d.account_name}"))
        values = {
            "plan": f"{d.plan_name} — {money(d.plan_price_cents)}/month",
            "seats": f"{d.seats} × {money(d.seat_price_cents)}/month = {money(d.seats * d.seat_price_cents)}/month",
            "messages": (f"active — {money(d.messages_fee_cents)}/month" if d.messages_active else "not active"),
            "total": f"{money(d.monthly_total_cents)}/month",
            "next": f"{d.next_billing:%d %b %Y}",
            "card": d.card,
        }
        for key, value in values.items():
            self.query_one(f"#billing-{key}", Static).update(safe(value))
        if d.invoices:
            lines = [
                f"{i.issued_on:%d %b %Y}  {i.number}  {money(i.amount_cents):>9}  {i.status:<6}  {i.description}"
                for i in d.invoices
            ]
        else:
            lines = ["No invoices yet."]
        self.query_one("#invoices", Static).update(safe("\n".join(lines), multiline=True))
        self.query_one("#close-account", Button).disabled = False

    # --- actions -------------------------------------------------------------------------

    def action_page_down(self) -> None:
        self.query_one("#billing-page", VerticalScroll).scroll_page_down()

    def action_page_up(self) -> None:
        self.query_one("#billing-page", VerticalScroll).scroll_page_up()

    def action_to_danger_zone(self) -> None:
        button = self.query_one("#close-account", Button)
        self.query_one("#billing-page", VerticalScroll).scroll_end(animate=False)
        if not button.disabled:
            button.focus()

    def action_change_plan(self) -> None:
        d = self.data
        if d is None:
            return

        def chosen(code: str | None) -> None:
            if not code or code == d.plan_code:
                return
            from crm_tui.services import billing

            self.call_service(
                billing.change_plan, self.crm.engine, self.crm.who, code, done=self.plan_changed, group="billing-change"
            )

        self.app.push_screen(ChangePlanModal(d.plans, d.plan_code, d.seats, d.seat_price_cents), chosen)

    def plan_changed(self, name: str) -> None:
        self.app.notify(safe(f"Your plan is now {name}."), timeout=5)
        self.load()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "change-plan-button":
            self.action_change_plan()
        elif event.button.id == "close-account":
            from crm_tui.tui.screens.close_confirm import CloseConfirmScreen

            self.app.push_screen(CloseConfirmScreen())
