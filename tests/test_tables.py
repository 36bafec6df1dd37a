"""crm_tui.tables: the Core clauses the app reads before its models load are generated from
the models (scripts/generate_tables.py), and match them."""

from __future__ import annotations

import runpy
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import DateTime, select, text, update

from crm_tui import db, tables
from crm_tui.models import Member, SQLModel

ROOT = Path(__file__).resolve().parent.parent


def test_the_generated_clauses_are_what_the_models_generate_today():
    """Change a model, run scripts/generate_tables.py: the file is never edited by hand."""
    generate = runpy.run_path(str(ROOT / "scripts" / "generate_tables.py"), run_name="generate_tables")
    written = (ROOT / "src" / "crm_tui" / "schema_core.py").read_text(encoding="utf-8")
    assert written == generate["render"](), "src/crm_tui/schema_core.py is out of date: run scripts/generate_tables.py"


def test_every_model_table_has_its_clause():
    assert sorted(c.name for c in tables.ALL) == sorted(SQLModel.metadata.tables)


@pytest.mark.parametrize("clause", tables.ALL, ids=lambda c: c.name)
def test_every_clause_names_a_model_table_and_its_columns_typed_alike(clause):
    model_table = SQLModel.metadata.tables[clause.name]
    assert [col.name for col in clause.c] == [col.name for col in model_table.c]
    for col in clause.c:
        assert col.name in model_table.c, f"{clause.name}.{col.name} is not a column of the model"
        model_type = model_table.c[col.name].type
        # the generic type each stands for (SQLModel's AutoString is a String, and so on)
        assert col.type._type_affinity is model_type._type_affinity, (clause.name, col.name)
        if model_type._type_affinity is DateTime:  # aware in, aware UTC out, as the model's type
            assert type(model_type).__name__ == type(col.type).__name__ == "UTCDateTime"


def test_the_roles_are_the_models_roles():
    from crm_tui import models

    assert models.ROLES == tables.ROLES == ("owner", "administrator", "team player")


def test_a_time_written_through_the_clause_reads_back_the_same_through_the_model(fresh_demo):
    """The same instant either way, stored in the same text: a member's last failed sign-in
    written by the Core clause (as the throttle does) and by the model."""
    when = datetime(2026, 3, 1, 9, 30, 15, 250000, tzinfo=timezone(timedelta(hours=2)))
    m = tables.member
    with db.write_connection(fresh_demo) as conn:
        member_id = conn.execute(select(m.c.id).order_by(m.c.id).limit(1)).scalar_one()
        conn.execute(update(m).where(m.c.id == member_id).values(last_failed_at=when))
        stored_by_core = conn.execute(
            text("SELECT last_failed_at FROM member WHERE id = :id"), {"id": member_id}
        ).scalar_one()
    with db.read_session(fresh_demo) as s:
        assert s.get(Member, member_id).last_failed_at == when
    with db.write_session(fresh_demo) as s:
        s.get(Member, member_id).last_failed_at = when
    with db.read_connection(fresh_demo) as conn:
        stored_by_model = conn.execute(
            text("SELECT last_failed_at FROM member WHERE id = :id"), {"id": member_id}
        ).scalar_one()
        read = conn.execute(select(m.c.last_failed_at).where(m.c.id == member_id)).scalar_one()
    assert stored_by_core == stored_by_model
    if fresh_demo.dialect.name == "sqlite":  # naive UTC text
        assert stored_by_core == "2026-03-01 07:30:15.250000"
    else:  # a timestamp with time zone
        assert stored_by_core == when
    assert read == when and read.tzinfo == timezone.utc


def test_a_naive_time_is_refused_as_the_model_refuses_it(fresh_demo):
    m = tables.member
    with pytest.raises(Exception, match="aware"):
        with db.write_connection(fresh_demo) as conn:
            conn.execute(update(m).values(last_failed_at=datetime(2026, 3, 1, 9, 30)))
