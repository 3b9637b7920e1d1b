"""Views of results (text, HTML, plots, code), registered by `reorder.present` on the
classes they show, so that a result never imports its presentation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (class, name) -> view of an instance of that class.
VIEWS: dict[tuple[type, str], Callable[..., Any]] = {}


def register_view(owner: type, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def add(view: Callable[..., Any]) -> Callable[..., Any]:
        VIEWS[(owner, name)] = view
        return view

    return add


def view(owner: object, name: str) -> Callable[..., Any]:
    """The `name` view registered for `owner`'s class."""
    for cls in type(owner).__mro__:
        if (cls, name) in VIEWS:
            return VIEWS[(cls, name)]
    raise RuntimeError(f"no {name!r} view: import reorder (which loads reorder.present)")


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """'1 sample', '2 samples': a count with its noun, singular or plural."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
