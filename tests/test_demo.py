"""The demo's to-dos use the priorities and categories the model defines."""

from __future__ import annotations


def test_demo_todos_use_the_model_priorities_and_categories(fresh_demo):
    from sqlalchemy import text

    from crm_tui.models import TODO_CATEGORIES, TODO_PRIORITIES

    with fresh_demo.connect() as conn:
        priorities = set(conn.execute(text("SELECT DISTINCT priority FROM todo")).scalars())
        categories = set(conn.execute(text("SELECT DISTINCT category FROM todo")).scalars())
    assert priorities == set(TODO_PRIORITIES)
    assert categories == set(TODO_CATEGORIES)
