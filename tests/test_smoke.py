"""Close → restore round trip through the services, compared by a full dump."""

from __future__ import annotations

from conftest import OWNER, PASSWORDS, sign_in
from sqlalchemy import text


def dump(engine, account_id: int) -> dict[str, list]:
    from crm_tui.models import ACCOUNT_TABLES

    out = {}
    with engine.connect() as conn:
        for model in ACCOUNT_TABLES:
            name = model.__tablename__
            rows = conn.execute(
                text(f"SELECT * FROM {name} WHERE account_id = :a ORDER BY id"), {"a": account_id}
            ).all()
            out[name] = [tuple(r) for r in rows]
        out["account"] = [
            tuple(r) for r in conn.execute(text("SELECT * FROM account WHERE id = :a"), {"a": account_id})
        ]
    return out


def test_close_then_restore_returns_identical_data(demo_engine):
    from crm_tui.services import closing

    who = sign_in(demo_engine, OWNER)
    before = dump(demo_engine, who.account_id)
    receipt = closing.close_account(demo_engine, who, "Acme Realty", PASSWORDS[OWNER])
    assert receipt.counts["contacts"] == 60
    gone = dump(demo_engine, who.account_id)
    assert all(rows == [] for rows in gone.values())
    closing.restore(demo_engine, OWNER)
    after = dump(demo_engine, who.account_id)
    # the members' failed-login counters are not part of the archive; everything else is.
    assert after == before
