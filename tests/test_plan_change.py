"""Changing to the plan the account is on already changes nothing and says so."""

from __future__ import annotations

import pytest
from conftest import OWNER, dump_database


def test_changing_to_the_current_plan_is_refused_and_not_audited(fresh_demo):
    from crm_tui.services import auth, billing
    from crm_tui.services.errors import InvalidInput

    who = auth.as_member(fresh_demo, OWNER)
    current = billing.summary(fresh_demo, who).plan_code
    before = dump_database(fresh_demo)
    with pytest.raises(InvalidInput, match="already"):
        billing.change_plan(fresh_demo, who, current)
    assert dump_database(fresh_demo) == before
    assert billing.change_plan(fresh_demo, who, "enterprise") == "Enterprise"
    assert billing.summary(fresh_demo, who).plan_code == "enterprise"
