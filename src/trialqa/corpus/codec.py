"""A ``Trial`` and everything derived from it as one JSON-ready dict, and back.

The encoding is generic over the record dataclasses (their type hints say how to rebuild each
field), so a field added to ``Trial``, ``Criterion`` or any part of them round-trips without a
change here. Fields typed only as ``list``/``dict`` hold objects whose class the hints cannot name:
``UNTYPED`` says what each holds (entities and the compiled requirement of a criterion). ``Trial.texts`` (the decoded prose
with offset maps that chunking and answering read) is kept too, so nothing needs the source file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import lru_cache
from typing import Any, Callable

from ..extraction.entity import CriterionEntity
from ..extraction.requirements import Requirement
from ..records import Criterion, Trial
from ..spans import MappedText

# (dataclass, field) -> the type of a field annotated only as ``list`` or ``Any``.
UNTYPED: dict[tuple[type, str], Any] = {(Criterion, "entities"): list[CriterionEntity],
                                        (Criterion, "requirement"): Requirement | None}


def encode_trial(trial: Trial) -> dict[str, Any]:
    """Every field of the trial (entities, ages read from criteria, doses, ...) plus its decoded texts."""
    d = _encode(trial)
    d["texts"] = {k: {"text": mt.text, "anchors": [list(a) for a in mt.anchors]} for k, mt in trial.texts.items()}
    return d


def decode_trial(d: dict[str, Any]) -> Trial:
    """The trial ``encode_trial`` encoded; ``ValueError`` when the dict does not fit the dataclasses."""
    try:
        t = _decode(Trial, {k: v for k, v in d.items() if k != "texts"})
        t.texts = {k: MappedText(v["text"], [tuple(a) for a in v["anchors"]]) for k, v in (d.get("texts") or {}).items()}
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"stored trial does not fit the record classes: {exc}") from None
    return t


def _encode(obj) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # Fields at their default are left out (the decoder restores them): most of an entity's
        # fields are None, and thousands of trials hold hundreds of entities each.
        return {name: _encode(value) for name, default in _defaults(type(obj))
                if (value := getattr(obj, name)) is not default and value != default}
    if isinstance(obj, (list, tuple)):
        return [_encode(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    return obj


_NO_DEFAULT = object()


@lru_cache(maxsize=None)
def _defaults(cls: type) -> tuple[tuple[str, Any], ...]:
    """(field, its default) for each field of a dataclass that is stored (``Trial.texts`` is kept apart)."""
    out = []
    for f in dataclasses.fields(cls):
        if cls is Trial and f.name == "texts":
            continue
        if f.default is not dataclasses.MISSING:
            out.append((f.name, f.default))
        elif f.default_factory is not dataclasses.MISSING:
            out.append((f.name, f.default_factory()))
        else:
            out.append((f.name, _NO_DEFAULT))
    return tuple(out)


def _decode(cls: type, d: dict) -> Any:
    return _decoder(cls)(d)


def _same(v):
    return v


@lru_cache(maxsize=None)
def _decoder(tp) -> Callable[[Any], Any]:
    """A function rebuilding a value of type ``tp`` from its JSON form, made once per type: loading
    thousands of stored trials must not walk the type hints again for every value."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        inner = _decoder(options[0]) if len(options) == 1 else _same
        return _same if inner is _same else (lambda v: None if v is None else inner(v))
    if dataclasses.is_dataclass(tp):
        return _dataclass_decoder(tp)
    if origin is list:
        (arg,) = typing.get_args(tp) or (Any,)
        item = _decoder(arg)
        return (lambda v: list(v)) if item is _same else (lambda v: [item(x) for x in v])
    if origin is tuple:
        args = typing.get_args(tp)
        if args and args[-1] is not Ellipsis:
            items = [_decoder(a) for a in args]
            return lambda v: tuple(f(x) for f, x in zip(items, v))
        return tuple
    if origin is dict:
        _, arg = typing.get_args(tp) or (Any, Any)
        item = _decoder(arg)
        return _same if item is _same else (lambda v: {k: item(x) for k, x in v.items()})
    return _same


def _dataclass_decoder(cls: type) -> Callable[[dict], Any]:
    hints = typing.get_type_hints(cls)
    fields = []
    for f in dataclasses.fields(cls):
        if cls is Trial and f.name == "texts":
            continue
        fields.append((f.name, _decoder(UNTYPED.get((cls, f.name), hints[f.name]))))

    def decode(d: dict):
        # A field missing from the dict (written by an older record class) takes its default.
        return cls(**{name: dec(d[name]) for name, dec in fields if name in d})

    return decode
