"""Where each section lives: a screen id → (module, class). Screens import lazily."""

from __future__ import annotations

from importlib import import_module

SCREENS: dict[str, tuple[str, str]] = {
    "dashboard": ("crm_tui.tui.screens.main", "MainScreen"),
    "my-account": ("crm_tui.tui.screens.my_account", "MyAccountScreen"),
    "support": ("crm_tui.tui.screens.support", "SupportScreen"),
    "automation": ("crm_tui.tui.screens.automation", "AutomationScreen"),
    "billing": ("crm_tui.tui.screens.billing", "BillingScreen"),
    "download": ("crm_tui.tui.screens.download", "DownloadScreen"),
    "contacts": ("crm_tui.tui.screens.contacts", "ContactsScreen"),
    "calendar": ("crm_tui.tui.screens.calendar", "CalendarScreen"),
    "todos": ("crm_tui.tui.screens.todos", "TodosScreen"),
    "templates": ("crm_tui.tui.screens.templates", "TemplatesScreen"),
    "autoresponders": ("crm_tui.tui.screens.autoresponders", "AutorespondersScreen"),
    "team": ("crm_tui.tui.screens.team", "TeamScreen"),
    "messages": ("crm_tui.tui.screens.messages", "MessagesScreen"),
}


def screen_class(screen_id: str):
    module, name = SCREENS[screen_id]
    return getattr(import_module(module), name)
