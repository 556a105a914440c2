"""Sections other features add to the enterprise page without editing its template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Panel:
    name: str
    order: int
    template: str
    #: (enterprise, user) -> extra template context
    context: Callable[[Any, Any], dict[str, Any]]


_PANELS: dict[str, Panel] = {}


def register(name: str, order: int, template: str,
             context: Callable[[Any, Any], dict[str, Any]]) -> None:
    _PANELS[name] = Panel(name, order, template, context)


def panels() -> list[Panel]:
    return sorted(_PANELS.values(), key=lambda p: p.order)
