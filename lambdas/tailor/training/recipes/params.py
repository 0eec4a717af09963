"""Typed readers for string hyper-parameters that fail with a reason naming the parameter."""

from __future__ import annotations

import math
from collections.abc import Mapping

from tailor.training.base import TrainingFailed


def _bad(name: str, value: str, expected: str) -> TrainingFailed:
    return TrainingFailed(f"Hyper-parameter {name} must be {expected}; got {value!r}")


def number(params: Mapping[str, str], name: str, low: float, high: float = math.inf) -> float:
    """A finite float in [low, high]."""
    raw = params[name]
    try:
        value = float(raw)
    except ValueError:
        raise _bad(name, raw, f"a number in [{low:g}, {high:g}]") from None
    if not (math.isfinite(value) and low <= value <= high):
        raise _bad(name, raw, f"a number in [{low:g}, {high:g}]")
    return value


def positive(params: Mapping[str, str], name: str) -> float:
    """A finite float > 0."""
    value = number(params, name, 0.0)
    if value <= 0:
        raise _bad(name, params[name], "a number > 0")
    return value


def integer(params: Mapping[str, str], name: str, low: int, high: int) -> int:
    """An int in [low, high]; '32.0' is accepted because HPO tools and JSON round-trips produce it."""
    raw = params[name]
    try:
        value = float(raw)
    except ValueError:
        raise _bad(name, raw, f"an integer in [{low}, {high}]") from None
    if not (math.isfinite(value) and value == int(value) and low <= value <= high):
        raise _bad(name, raw, f"an integer in [{low}, {high}]")
    return int(value)


def boolean(params: Mapping[str, str], name: str) -> bool:
    """'true' / 'false' in any case, as Personalize's console and HPO ranges send them."""
    raw = params[name]
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise _bad(name, raw, "true or false")
    return lowered == "true"
