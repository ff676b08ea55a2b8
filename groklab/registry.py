"""A table of things by name that the modules defining them fill (`@TABLE.register("name")`), so adding a model or
a task is one file and nothing central grows (the pattern of timm's `@register_model`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


class Registry(dict[str, Callable]):
    """name -> function; `kind` names what it holds in the error of a name registered twice."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, *names: str) -> Callable[[F], F]:
        """A decorator that adds the function under each of `names`."""
        def add(fn: F) -> F:
            for name in names:
                if name in self:
                    raise ValueError(f"{self.kind} {name!r} registered twice ({self[name].__module__}, "
                                     f"{fn.__module__})")
                self[name] = fn
            return fn
        return add
