"""A firm incubates at one carrier at a time: a new stay may start only when the last has ended.

The chain maker space → incubator → park is the sequence of a firm's stays (design.md), each
ending where the next begins, so a second stay that overlaps the first is refused with the way
forward (the move-on action) rather than stored as two carriers at once.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.factories import make_enterprise, make_user
from tracker.incubation import services
from tracker.integrity.checks import run_checks


def test_a_second_stay_while_incubating_elsewhere_is_refused_naming_the_carrier(chain):
    with pytest.raises(services.FieldError) as refused:
        services.open_tenancy(chain["firm_a"], chain["b"], date(2025, 3, 1),
                              user=chain["bureau"])
    message = refused.value.errors["enterprise_id"]
    assert "甲孵化器" in message  # where it is now
    assert "转入下一载体" in message  # and how to move it on
    assert run_checks(["tenancies_disjoint"]).ok


def test_the_other_carrier_is_named_only_within_the_users_scope(chain):
    """The manager of B may not see A's tenants: they learn only that the firm is elsewhere."""
    with pytest.raises(services.FieldError) as refused:
        services.open_tenancy(chain["firm_a"], chain["b"], date(2025, 3, 1),
                              user=chain["manager_b"])
    message = refused.value.errors["enterprise_id"]
    assert "甲孵化器" not in message
    assert "其他载体" in message


def test_a_stay_may_start_the_day_the_last_one_ended_but_not_before(chain):
    firm, bureau = chain["firm_a"], chain["bureau"]
    services.close_tenancy(chain["ten_a"], "exit", date(2025, 6, 30), reason="迁出")
    with pytest.raises(services.FieldError) as refused:
        services.open_tenancy(firm, chain["b"], date(2025, 6, 29), user=bureau)
    message = refused.value.errors["moved_in_on"]
    assert "甲孵化器" in message and "2025-06-30" in message
    # moving in earlier than a stay that already ended is overlap too
    with pytest.raises(services.FieldError):
        services.open_tenancy(firm, chain["b"], date(2023, 12, 1), user=bureau)
    later = services.open_tenancy(firm, chain["b"], date(2025, 6, 30), user=bureau)
    assert later.status == "incubating"
    assert run_checks(["tenancies_disjoint"]).ok


def test_a_past_stay_that_ends_before_the_current_one_fits(chain):
    """An official list may record an earlier stay elsewhere, closed before this one began."""
    firm = chain["firm_a"]  # incubating at A since 2024-01-31
    past = services.open_tenancy(firm, chain["maker"], date(2023, 6, 1),
                                 ends_on=date(2024, 1, 31))
    services.close_tenancy(past, "exit", date(2024, 1, 31), reason="转入孵化器")
    assert run_checks(["tenancies_disjoint"]).ok
    with pytest.raises(services.FieldError):
        services.open_tenancy(firm, chain["park"], date(2023, 6, 1), ends_on=date(2024, 2, 1))


def test_moving_a_move_in_earlier_into_the_previous_stay_is_refused(chain):
    firm = make_enterprise(founded_on=date(2023, 1, 1))
    first = services.open_tenancy(firm, chain["maker"], date(2024, 1, 1))
    services.close_tenancy(first, "exit", date(2024, 6, 30), reason="转入孵化器")
    second = services.open_tenancy(firm, chain["a"], date(2024, 7, 1))
    with pytest.raises(services.FieldError) as refused:
        services.update_tenancy(second, {"moved_in_on": date(2024, 6, 1)},
                                expected_version=second.version)
    assert "丙众创空间" in refused.value.errors["moved_in_on"]
    services.update_tenancy(second, {"moved_in_on": date(2024, 6, 30)},
                            expected_version=second.version)
    assert run_checks(["tenancies_disjoint"]).ok


def test_move_on_still_closes_one_stay_and_opens_the_next(chain):
    bureau = make_user("bureau")
    proposal = services.propose(chain["ten_m"], "move_on", {
        "effective_on": date(2025, 3, 1), "next_carrier_id": chain["a"].id}, user=bureau)
    services.approve(proposal, user=make_user("bureau"))  # maker-checker: another officer
    assert proposal.new_tenancy_id is not None
    assert run_checks(["tenancies_disjoint", "tenancy_moves_recorded"]).ok
