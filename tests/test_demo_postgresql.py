"""Demo seeding on PostgreSQL (rows through COPY) stores what it stores on SQLite."""

from __future__ import annotations

import io
import json
import zipfile

from conftest import pin_clock
from test_archive_roundtrip import DATA_MEMBERS, export_bytes


def test_demo_accounts_on_postgresql_are_those_on_sqlite(postgres_server, tmp_path, monkeypatch):
    """Same seed, same day: both demo accounts export the same data members, byte for byte,
    from PostgreSQL (seeded through COPY) and from SQLite."""
    from sqlalchemy import select

    from crm_tui import db
    from crm_tui.models import Member
    from crm_tui.services import auth, demo

    pin_clock(monkeypatch, "2026-11-27T10:00:00+00:00")
    postgres_server.psql("CREATE DATABASE demo_seed")
    engines = {
        "sqlite": db.get_engine(f"sqlite:///{tmp_path / 'demo.sqlite3'}"),
        "pg": db.get_engine(postgres_server.url("demo_seed")),
    }
    for engine in engines.values():
        demo.create(engine, contacts=120, seed=3)
    for email in ("dana@acme-realty.example", "sam@birch-books.example"):
        exports = {}
        for name, engine in engines.items():
            with engine.connect() as conn:
                account_id = conn.execute(
                    select(Member.__table__.c.account_id).where(Member.__table__.c.email == email)
                ).scalar_one()
            exports[name] = zipfile.ZipFile(io.BytesIO(export_bytes(engine, account_id)))
        for member in DATA_MEMBERS:
            assert exports["pg"].read(member) == exports["sqlite"].read(member), member
        counts = json.loads(exports["pg"].read("manifest.json"))["counts"]
        assert counts["contacts"] in (120, 12) and counts["history"] > 0
    who = auth.sign_in(engines["pg"], "dana@acme-realty.example", "demo-owner")  # the seeded passwords work
    assert who.account_id
