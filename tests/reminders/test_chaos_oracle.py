"""The chaos oracle's accounting (bench/chaos_oracle.py `account` and `verdict`) on hand-made
ledgers: fast, no services. The end-to-end runs are in test_chaos.py (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from bench.chaos_oracle import account, verdict
from bench.smtpsink import Accepted

ROW = ("c1@firm.example", "混沌测试企业000001", "2026-12-21")


def _accepted(rid: int, address: str = ROW[0]) -> Accepted:
    msg = EmailMessage()
    msg["Message-ID"] = f"<reminder-{rid}.1@tracker>"
    msg["To"] = address
    msg["Subject"] = f"{ROW[1]} 高新技术企业证书 {ROW[2]} 到期"
    msg.set_content("…")
    return Accepted(msg["Message-ID"], [address], 0.0, msg.as_bytes())


def _judge(ledger, accepted, refuse=lambda address: False, crash_window=frozenset()):
    expected = {rid: ROW for rid in ledger}
    report = account(ledger, expected, accepted, refuse, set(crash_window))
    report["timed_out"] = False
    return report, verdict(report, kills=1, concurrency=2)


def test_a_delivered_and_recorded_row_passes():
    report, reasons = _judge({1: "sent"}, [_accepted(1)])
    assert (report["delivered"], report["lost"], reasons) == (1, 0, [])


def test_a_row_that_expired_while_the_sink_was_down_is_lost():
    """The sink down past the reminder's own deadline ends `expired`: undelivered, so lost."""
    report, reasons = _judge({1: "sent", 2: "expired"}, [_accepted(1)])
    assert report["lost"] == 1 and report["expired"] == 1
    assert "1 lost" in reasons


def test_a_row_still_pending_is_unfinished_not_lost_but_still_fails():
    """A timed-out run once reported its stragglers as lost; they are undelivered, not lost."""
    report, reasons = _judge({1: "sent", 2: "pending", 3: "sending"}, [_accepted(1)])
    assert (report["lost"], report["unfinished"]) == (0, 2)
    assert any("still pending or sending" in reason for reason in reasons)


def test_a_row_marked_sent_that_the_sink_never_received_is_lost():
    report, reasons = _judge({1: "sent", 2: "sent"}, [_accepted(1)])
    assert report["lost"] == 1 and "1 lost" in reasons


def test_a_duplicate_outside_the_crash_window_fails_and_inside_is_excused():
    _report, reasons = _judge({1: "sent"}, [_accepted(1), _accepted(1)])
    assert any("outside the crash window" in reason for reason in reasons)
    report, reasons = _judge({1: "sent"}, [_accepted(1), _accepted(1)], crash_window={1})
    assert report["excused"] == 1 and reasons == []


def test_every_recipient_refused_proves_nothing():
    report, reasons = _judge({1: "failed", 2: "failed"}, [], refuse=lambda address: True)
    assert report["delivered"] == 0 and report["refused_not_failed"] == 0
    assert any("proves no delivery" in reason for reason in reasons)


def test_a_run_that_stops_at_once_leaves_no_folder_behind(tmp_path):
    """The run's folder (Redis dump, logs) once stayed in /tmp whenever a run failed early."""
    result = subprocess.run(
        [sys.executable, "bench/chaos.py", "--n", "1", "--database", "not_a_chaos_name"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=False,
        env={**os.environ, "TMPDIR": str(tmp_path)}, timeout=120)
    assert result.returncode != 0
    assert "test_…chaos…" in result.stderr + result.stdout
    assert list(tmp_path.iterdir()) == []
