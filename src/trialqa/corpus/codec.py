"""A ``Trial`` and everything derived from it as one JSON-ready dict, and back.

The encoding is generic over the record dataclasses (their type hints say how to rebuild each
field), so a field added to ``Trial``, ``Criterion`` or any part of them round-trips without a
change here. Fields typed only as ``list``/``dict`` hold objects whose class the hints cannot name:
``UNTYPED`` says which class each holds (entities on a criterion). ``Trial.texts`` (the decoded prose
with offset maps that chunking and answering read) is kept too, so nothing needs the source file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import lru_cache
from typing import Any

from ..extraction.entity import CriterionEntity
from ..records import Criterion, Trial
from ..spans import MappedText

# (dataclass, field) -> the dataclass of the items of a field annotated only as ``list``.
UNTYPED: dict[tuple[type, str], type] = {(Criterion, "entities"): CriterionEntity}


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
        return {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if f.name != "texts" or type(obj) is not Trial}
    if isinstance(obj, (list, tuple)):
        return [_encode(x) for x in obj]
    if isinstance(obj, dict):
        return {str(k): _encode(v) for k, v in obj.items()}
    return obj


@lru_cache(maxsize=None)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(cls: type, d: dict) -> Any:
    hints = _hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in d or (cls is Trial and f.name == "texts"):
            continue  # written by an older record class: the field's default
        item = UNTYPED.get((cls, f.name))
        value = d[f.name]
        kwargs[f.name] = [_value(item, x) for x in value] if item and value is not None else _value(hints[f.name], value)
    return cls(**kwargs)


def _value(tp, v) -> Any:
    if v is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return _value(options[0], v) if len(options) == 1 else v
    if dataclasses.is_dataclass(tp):
        return _decode(tp, v)
    if origin is list:
        (arg,) = typing.get_args(tp) or (Any,)
        return [_value(arg, x) for x in v]
    if origin is tuple:
        args = typing.get_args(tp)
        return tuple(_value(a, x) for a, x in zip(args, v)) if args and args[-1] is not Ellipsis else tuple(v)
    if origin is dict:
        _, arg = typing.get_args(tp) or (Any, Any)
        return {k: _value(arg, x) for k, x in v.items()}
    return v
