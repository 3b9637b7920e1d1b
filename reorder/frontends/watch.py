"""Whether a user's pipeline object changed since a plan was made for it.

A plan is verified for the pipeline as it was; an op appended to `transforms`, an op
replaced, or a modelled op's setting changed in place (`crop.size = (100, 100)`) make it
stale. Opaque ops are called as written, so their own attributes may change (a
curriculum's strength); only their identity counts.

`settings_of` records every setting reachable from the pipeline object as text, by
attribute path (`transforms[2].size`): what a plan file stores, and what an error names
when something changed. `Watch` is the cheap check made on every call: each watched
object's public attributes, fetched in one step and compared with a copy taken when the
plan was made, and each tensor's version (an in-place edit bumps it).
"""

from __future__ import annotations

import enum
import hashlib
import random
import re
import types
from collections.abc import Collection
from operator import itemgetter
from typing import Any

import numpy as np
import torch

_SCALARS = (int, float, complex, str, bytes, bool, type(None), enum.Enum, type)
_RANDOM = (random.Random, np.random.Generator, np.random.RandomState, torch.Generator)
_CALLABLES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType)
# Not settings: nn.Module's mode, albumentations' parameters of the last call, and its
# seed (reseeding, as a worker_init_fn does, changes the draws of plan and original alike).
_SKIPPED = frozenset({"training", "params", "seed"})
# Tensors and arrays up to this many elements are shown by value, larger ones by digest.
_SHOWN_ELEMENTS = 16
_MAX_DEPTH = 12


def _attributes(obj: Any) -> list[str]:
    """The attributes of `obj` that are its settings: public ones but its random
    generators (reseeding replaces them), and an nn.Module's children (RandomApply keeps
    its transforms there)."""
    return [
        name
        for name, value in vars(obj).items()
        if name == "_modules"
        or not (name in _SKIPPED or name.startswith("_") or isinstance(value, _RANDOM))
    ]


def _is_object(value: Any) -> bool:
    return hasattr(value, "__dict__") and not isinstance(
        value, (*_SCALARS, *_RANDOM, *_CALLABLES, torch.Tensor, np.ndarray)
    )


def settings_of(
    transform: Any, opaque: Collection[int] = (), ids: dict[int, str] | None = None
) -> dict[str, str]:
    """Every setting reachable from `transform`, as text by path ("" is the object
    itself); objects whose id is in `opaque` are shown by class alone. `ids`, if given,
    receives the path of each object by its id."""
    record: dict[str, str] = {}
    _record(transform, "", record, set(), set(opaque), 0, {} if ids is None else ids)
    return record


def _record(
    value: Any,
    path: str,
    record: dict[str, str],
    seen: set[int],
    opaque: set[int],
    depth: int,
    ids: dict[int, str],
) -> None:
    if isinstance(value, _RANDOM):
        return
    if isinstance(value, (torch.Tensor, np.ndarray)):
        record[path] = _array_text(value)
    elif isinstance(value, _SCALARS) or isinstance(value, _CALLABLES):
        record[path] = repr(value) if isinstance(value, _SCALARS) else f"<function {value!r}>"
    elif isinstance(value, (list, tuple)) and all(isinstance(v, _SCALARS) for v in value):
        record[path] = repr(value)
    elif id(value) in opaque:
        ids.setdefault(id(value), path)
        record[path] = f"<opaque {type(value).__qualname__}>"
    elif isinstance(value, (list, tuple, dict)) and (id(value) in seen or depth > _MAX_DEPTH):
        record[path] = f"<{type(value).__name__} of {len(value)}>"  # as where first met
    elif id(value) in seen or depth > _MAX_DEPTH:
        record[path] = f"<{type(value).__qualname__}>"
    elif isinstance(value, (list, tuple, dict)):
        seen.add(id(value))
        record[path] = f"<{type(value).__name__} of {len(value)}>"
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            _record(item, f"{path}[{key!r}]", record, seen, opaque, depth + 1, ids)
    elif _is_object(value):
        seen.add(id(value))
        ids.setdefault(id(value), path)
        record[path] = f"<{type(value).__qualname__}>"
        for name in _attributes(value):
            if name == "_modules":
                for key, child in vars(value)["_modules"].items():
                    _record(child, f"{path}[{key!r}]", record, seen, opaque, depth + 1, ids)
            else:
                _record(
                    getattr(value, name), f"{path}.{name}", record, seen, opaque, depth + 1, ids
                )
    else:
        record[path] = f"<{type(value).__qualname__}>"


def _array_text(value: torch.Tensor | np.ndarray) -> str:
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
    if array.size <= _SHOWN_ELEMENTS:
        return repr(array.tolist())
    digest = hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()[:8]
    return f"<{type(value).__name__} {list(array.shape)} {digest}>"


_SEQUENCE = re.compile(r"<(list|tuple|dict) of \d+>")


def describe_changes(before: dict[str, str], after: dict[str, str], limit: int = 3) -> str:
    """The first `limit` differences, each as "<class> at <path>: <setting> old -> new";
    an op added, removed or replaced counts once, not once per setting."""
    changes: list[str] = []
    whole: list[str] = []  # paths added, removed or replaced as a whole
    for path in dict.fromkeys([*before, *after]):
        old, new = before.get(path, "(none)"), after.get(path, "(none)")
        if old == new or any(path.startswith(w) for w in whole):
            continue
        if _SEQUENCE.fullmatch(old) and _SEQUENCE.fullmatch(new):
            # Items added or removed: the list as a whole, by class, says it best.
            whole.append(f"{path}[")
            old, new = _classes(before, path), _classes(after, path)
        if old.startswith("<") or new.startswith("<"):
            whole.append(path)
        at = path.lstrip(".") or "the pipeline"
        if path not in before:
            changes.append(f"{new.strip('<>')} added at {at}")
        elif path not in after:
            changes.append(f"{old.strip('<>')} removed from {at}")
        else:
            changes.append(f"{_where(path, after)}: {old} -> {new}")
    more = len(changes) - limit
    return "; ".join(changes[:limit]) + (f"; and {more} more" if more > 0 else "")


def _classes(settings: dict[str, str], path: str) -> str:
    """The sequence at `path` as its items' classes (or values): "[Resize, ToTensor]"."""
    items, index = [], 0
    while (item := settings.get(f"{path}[{index}]")) is not None:
        items.append(item.strip("<>"))
        index += 1
    return f"[{', '.join(items)}]"


def _where(path: str, settings: dict[str, str]) -> str:
    """`path` as "RandomCrop at transforms[2]: size": the object holding the setting."""
    owner = path
    while owner:
        owner = owner[: max(owner.rfind("."), owner.rfind("["), 0)]
        text = settings.get(owner, "")
        if text.startswith("<") and not _SEQUENCE.fullmatch(text):
            setting = path[len(owner) :].lstrip(".")
            at = f" at {owner.lstrip('.')}" if owner else ""
            return f"{text.strip('<>')}{at}: {setting}"
    return path.lstrip(".") or "the pipeline"


class Watch:
    """Says, cheaply, whether a pipeline object changed since the watch was made."""

    def __init__(self, transform: Any, opaque: Collection[Any] = ()) -> None:
        """`opaque`: the transforms called as written, watched by identity alone."""
        self.transform = transform
        self.opaque = list(opaque)
        self._ids: dict[int, str] = {}
        self.settings = settings_of(transform, {id(t) for t in self.opaque}, self._ids)
        self._stale: str | None = None
        self._take()

    def _take(self) -> None:
        """The objects to watch, a getter of each one's settings, a copy of what it gets
        (lists and dicts copied, so that editing one in place shows), and the tensors."""
        objects: list[Any] = []
        tensors: list[torch.Tensor] = []
        opaque, seen = {id(t) for t in self.opaque}, set()
        stack = [self.transform]
        while stack:
            obj = stack.pop()
            if id(obj) in seen or id(obj) in opaque or not _is_object(obj):
                continue
            seen.add(id(obj))
            if isinstance(obj, (list, tuple, dict)):
                stack += obj.values() if isinstance(obj, dict) else obj
                continue
            objects.append(obj)
            for name in _attributes(obj):
                value = vars(obj)[name]
                if isinstance(value, torch.Tensor):
                    tensors.append(value)
                elif isinstance(value, dict):
                    stack += value.values()
                elif isinstance(value, (list, tuple)):
                    stack += [v for v in value if _is_object(v) or isinstance(v, (list, dict))]
                    tensors += [v for v in value if isinstance(v, torch.Tensor)]
                else:
                    stack.append(value)
        self._objects = objects
        self._getters = [_getter(_attributes(obj)) for obj in objects]
        self._saved = [
            _copied(get(vars(obj))) for obj, get in zip(objects, self._getters, strict=True)
        ]
        self._tensors = tensors
        self._versions = [t._version for t in tensors]

    def changes(self) -> str | None:
        """None if nothing changed; else what did (paths, old and new values)."""
        if self._stale is not None:
            return self._stale
        try:
            same = [
                get(vars(obj)) for obj, get in zip(self._objects, self._getters, strict=True)
            ] == self._saved and [t._version for t in self._tensors] == self._versions
        except Exception:  # a setting removed, or replaced by an array: a change
            same = False
        if same:
            return None
        ids: dict[int, str] = {}
        now = settings_of(self.transform, {id(t) for t in self.opaque}, ids)
        self._stale = describe_changes(self.settings, now) or self._replaced(ids)
        return self._stale

    def _replaced(self, ids: dict[int, str]) -> str:
        """What changed when every setting reads the same: objects replaced by equal
        copies (the plan draws and runs through the objects it was planned with, and an
        albumentations copy has its own generator), or a tensor edited in place."""
        gone = [path for oid, path in self._ids.items() if oid not in ids and path in self.settings]
        if not gone:
            return "a tensor setting was edited in place"
        first = gone[0]
        return (
            f"{self.settings[first].strip('<>')} at {first.lstrip('.') or 'the top'} was "
            "replaced by an equal copy, which the plan does not run (it runs the object it "
            "was planned with)" + (f"; and {len(gone) - 1} more" if len(gone) > 1 else "")
        )

    def __getstate__(self) -> dict[str, Any]:
        # Ids do not survive pickling (DataLoader workers): what changed before is kept,
        # and the unpickled copy watches itself from here.
        return {"transform": self.transform, "opaque": self.opaque, "stale": self.changes()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["transform"], state["opaque"])
        self._stale = state["stale"]


def _getter(names: list[str]) -> Any:
    if not names:
        return lambda attributes: ()
    if len(names) == 1:  # itemgetter of one name returns the value, not a 1-tuple
        return lambda attributes: (attributes[names[0]],)
    return itemgetter(*names)


def _copied(values: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v for v in values
    )
