"""Package data files (rules and lexicons), loaded once and validated on load."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from .errors import ConfigError


@lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """Load ``trialqa/data/<name>.json``; a missing or malformed file is a ``ConfigError``."""
    try:
        raw = (resources.files("trialqa") / "data" / f"{name}.json").read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"package data file data/{name}.json is missing (reinstall trialqa)") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"package data file data/{name}.json is not valid JSON: {exc}") from None


def require(entry: dict, keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if k not in entry]
    if missing:
        raise ConfigError(f"{where}: entry {entry!r} lacks {', '.join(missing)}")


def compile_pattern(pattern: str, where: str, flags: int = re.I) -> re.Pattern:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ConfigError(f"{where}: bad regex {pattern!r}: {exc}") from None
