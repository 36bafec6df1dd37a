"""crm-tui: a keyboard-first terminal CRM."""

__version__ = "0.1.0"
