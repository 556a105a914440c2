"""The ladder demo gives a third of the firms titles and opens applications."""

from __future__ import annotations

import random

from tests.ladder.conftest import make_firm
from tracker.extensions import db
from tracker.ladder.demo import load_ladder_demo
from tracker.ladder.validity import number_notes


def test_load_ladder_demo(day):
    firms = [make_firm(years=(2025,)) for _ in range(12)]
    counts = load_ladder_demo(random.Random(3))
    db.session.commit()
    assert counts["qualifications"] >= 4 and counts["applications"] >= 1
    with_rung = [f for f in firms if f.current_rung]
    assert 3 <= len(with_rung) <= 8
    from tracker.ladder.services import qualifications_of

    for firm in firms:
        for q in qualifications_of(firm.id):
            if q.kind == "hnte":
                assert number_notes("hnte", q.number, q.granted_on) == []
