"""`flask incubation …` commands read the same services as the pages."""

from datetime import date

from tracker.clock import frozen
from tracker.incubation import services


def test_check_and_late_reports(app, chain):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["incubation", "check", str(chain["a"].id)])
    assert result.exit_code == 0
    assert "[not_met] 在孵企业不少于50家: 1家" in result.output
    result = runner.invoke(args=["incubation", "check", str(chain["b"].id)])
    assert "暂无已确认的量化认定条件" in result.output
    cycle = services.create_cycle({"name": "2025年第四季度", "period_start": date(2025, 10, 1),
                                   "period_end": date(2025, 12, 31),
                                   "due_on": date(2026, 1, 20)}, user=chain["bureau"])
    services.submit_report(cycle, chain["ten_a"], {"employees": 5}, user=chain["manager_a"])
    with frozen(date(2026, 1, 10)):
        result = runner.invoke(args=["incubation", "late-reports", str(cycle.id)])
    assert "nothing is late yet" in result.output
    with frozen(date(2026, 1, 21)):
        result = runner.invoke(args=["incubation", "late-reports", str(cycle.id)])
    assert "天津乙在孵科技有限公司" in result.output
    assert "天津甲在孵科技有限公司" not in result.output
    assert runner.invoke(args=["incubation", "check", "999"]).exit_code != 0
