"""Signals that let features react to each other's changes without importing each other."""

from blinker import Namespace

_signals = Namespace()

#: sent with the enterprise id after its record, metrics or qualifications changed (before commit)
enterprise_changed = _signals.signal("enterprise-changed")
