"""Typed readers for string hyper-parameters that fail with a reason naming the parameter."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import numpy as np

from tailor.training.base import InteractionData, TrainingFailed


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


def percentile_range(p: Mapping[str, str], low_name: str, high_name: str) -> tuple[float, float]:
    """A featurization pair such as min/max_user_history_length_percentile: both in [0, 1], low not above high."""
    low, high = number(p, low_name, 0.0, 1.0), number(p, high_name, 0.0, 1.0)
    if low > high:
        raise TrainingFailed(f"Hyper-parameter {low_name} ({p[low_name]}) must not exceed {high_name} ({p[high_name]})")
    return low, high


def subset_events(data: InteractionData, keep: np.ndarray) -> InteractionData:
    """`data` with only the events where `keep` is True (vocabularies and item metadata unchanged)."""
    return dataclasses.replace(
        data,
        users=np.asarray(data.users)[keep],
        items=np.asarray(data.items)[keep],
        timestamps=np.asarray(data.timestamps)[keep],
        weights=np.asarray(data.weights)[keep],
        event_types=np.asarray(data.event_types)[keep],
    )


def keep_count_percentiles(data: InteractionData, owners: np.ndarray, n_owners: int, low: float,
                           high: float) -> InteractionData:
    """Drop the events of owners (users or items) whose event count lies outside the [low, high] percentiles of all
    owners' counts; the same object when nothing is dropped.

    Quantiles use method "lower", which picks actual counts in order: the range is never empty (it holds the owners
    at its ends), and with ten owners a 0.9 maximum drops the one with the most events, as "exclude the top 10%"
    reads."""
    counts = np.bincount(owners, minlength=n_owners)
    active = counts[counts > 0]
    if len(active) == 0:
        return data
    low_count = np.quantile(active, low, method="lower")
    high_count = np.quantile(active, high, method="lower")
    per_event = counts[owners]
    keep = (per_event >= low_count) & (per_event <= high_count)
    return data if keep.all() else subset_events(data, keep)


def checked_weights(data: InteractionData) -> np.ndarray:
    """The events' weights as float64; TrainingFailed unless every one is finite and not negative."""
    weights = np.asarray(data.weights, dtype=np.float64)
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise TrainingFailed("Event-type weights must be finite and not negative")
    return weights
