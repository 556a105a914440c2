"""The calendar feed's iCalendar text: escaping, folding, all-day events."""

from datetime import UTC, date, datetime

from tracker.reminders.ical import Event, render

SUMMARY = "天津海河智能科技有限公司：高企证书到期；请在今年批次中重新申报,务必按时"


def test_events_are_all_day_escaped_and_folded():
    text = render([Event("qualification-1", date(2026, 12, 31), SUMMARY, "a;b")],
                  datetime(2026, 11, 26, 1, 2, 3, tzinfo=UTC), name="提醒")
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART;VALUE=DATE:20261231" in lines and "DTEND;VALUE=DATE:20270101" in lines
    assert "DTSTAMP:20261126T010203Z" in lines and "DESCRIPTION:a\\;b" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded = text.replace("\r\n ", "")
    assert "SUMMARY:" + SUMMARY.replace(",", "\\,") in unfolded


def test_a_lone_carriage_return_is_escaped():
    """A bare CR would end the content line early in strict clients (RFC 5545 §3.1)."""
    from tracker.reminders.ical import _escape

    assert _escape("a\rb") == "a\\nb"
    assert _escape("a\r\nb\nc\r") == "a\\nb\\nc\\n"
