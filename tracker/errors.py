"""The two ways a service refuses a change, shared by every feature."""

from __future__ import annotations

from typing import Any


class FieldError(ValueError):
    """Input refused; `errors` maps field names to messages a person can act on."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class StaleEdit(Exception):
    """Someone saved a newer version since the form was opened."""

    def __init__(self, current_version: int):
        super().__init__(current_version)
        self.current_version = current_version


def check_version(obj: Any, expected_version: int | str | None) -> None:
    """Refuse to save over a newer version than the one the user read (optimistic lock)."""
    if expected_version not in (None, "") and obj.version != int(expected_version):
        raise StaleEdit(obj.version)
