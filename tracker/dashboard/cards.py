"""Cards other features add to the dashboard without editing its template."""

from tracker.enterprises.panels import Panel

_CARDS: dict[str, Panel] = {}
#: cards whose context is plain figures of the user's scope, which the dashboard may cache
_CACHEABLE: set[str] = set()


def register(name: str, order: int, template: str, context, *, cacheable: bool = False
             ) -> None:
    """`context(user) -> dict` supplies the card's template variables.

    `cacheable`: the context holds only plain figures that depend on the user's scope alone,
    so the dashboard may show them a few minutes old (with their age).
    """
    _CARDS[name] = Panel(name, order, template, context)
    if cacheable:
        _CACHEABLE.add(name)


def is_cacheable(name: str) -> bool:
    return name in _CACHEABLE


def cards() -> list[Panel]:
    return sorted(_CARDS.values(), key=lambda c: c.order)
