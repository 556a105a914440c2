"""Cards other features add to the dashboard without editing its template."""

from tracker.enterprises.panels import Panel

_CARDS: dict[str, Panel] = {}


def register(name: str, order: int, template: str, context) -> None:
    """`context(user) -> dict` supplies the card's template variables."""
    _CARDS[name] = Panel(name, order, template, context)


def cards() -> list[Panel]:
    return sorted(_CARDS.values(), key=lambda c: c.order)
