"""aws-trending-now: the same list for everyone, the items whose interactions grew most in the latest window."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tailor.training.base import InteractionData, TrainingFailed, parse_params
from tailor.training.recipes.params import checked_weights, positive

# Unit spellings after a trailing "s" is dropped: "30 minutes", "30 min", "1h", "3 hours", "1 day", "2d".
_UNIT_SECONDS = {"m": 60, "min": 60, "minute": 60, "h": 3600, "hr": 3600, "hour": 3600, "d": 86_400, "day": 86_400}
_FREQUENCY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+?)s?\s*$")
_MAX_WINDOW_DAYS = 366
_TIE_BREAK = 1e-6  # popularity's share: below any growth difference that matters (1 event in 10^5 + smoothing)


@dataclass(frozen=True)
class TrendingConfig:
    window_seconds: float  # trend_discovery_frequency: the length of each of the two compared windows
    smoothing: float  # trend_smoothing: pseudo-count added to the previous window's count

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> TrendingConfig:
        p = parse_params(TrendingNow.defaults, params)
        return cls(
            window_seconds=frequency_seconds(p, "trend_discovery_frequency"), smoothing=positive(p, "trend_smoothing")
        )


def frequency_seconds(params: Mapping[str, str], name: str) -> float:
    """A duration such as '30 minutes', '1 hour', '3h' or '1 day', in seconds."""
    raw = params[name]
    match = _FREQUENCY.match(raw.lower())
    seconds = None
    if match and match[2] in _UNIT_SECONDS:
        seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds is None or not 1 <= seconds <= _MAX_WINDOW_DAYS * 86_400:
        raise TrainingFailed(
            f"Hyper-parameter {name} must be a duration such as '30 minutes', '1 hour', '2 hours', '3 hours' or "
            f"'1 day' (1 second to {_MAX_WINDOW_DAYS} days); got {raw!r}"
        )
    return seconds


class TrendingModel:
    """Precomputed growth scores (see TrendingNow); the history is not read.

    `current` and `previous` keep the two windows' weighted counts so an explanation can quote them."""

    def __init__(self, scores: np.ndarray, current: np.ndarray, previous: np.ndarray) -> None:
        self.scores = np.asarray(scores, dtype=np.float64)
        self.current = np.asarray(current, dtype=np.float64)
        self.previous = np.asarray(previous, dtype=np.float64)

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        return self.scores.copy()

    def arrays(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores, "current": self.current, "previous": self.previous}


class TrendingNow:
    """Items ranked by the growth of their weighted interactions between two adjacent windows (history-independent).

    Personalize's Trending-Now "identifies the top trending items by calculating the increase in interactions that
    each item has over configurable intervals of time"; the interval is the `trend_discovery_frequency`
    feature-transformation parameter (DG `native-recipe-trending-now`: "30 minutes", "1 hour", "2 hours", "3 hours"
    or "1 day", default 2 hours; an older revision of the page listed "30 min", "1h", "3h", "1 day" with a 3 h
    default). Tailor compares two adjacent windows of that length anchored at the newest event in the data (not the
    wall clock, so a model trained on an old export still finds what was trending when the export was taken):

        current_i  = weighted events of item i in (t_max - w, t_max]
        previous_i = weighted events of item i in (t_max - 2w, t_max - w]
        growth_i   = (current_i - previous_i) / (previous_i + trend_smoothing)

    growth is the relative increase with a pseudo-count prior: without it an item going from 0 to 1 event would have
    an infinite rate and outrank everything, while with it an item needs about `trend_smoothing` events of increase
    before it competes with an established item that doubled. Items with no events in either window score 0 and
    decliners score below 0. The all-time weighted popularity, scaled to at most 1e-6, orders the items the windows
    leave tied, so that with no recent growth at all the list falls back to the popular items, as Personalize's does.

    Hyper-parameters (strings): trend_discovery_frequency "2 hours" (Personalize's; Tailor accepts any positive
    "<number> <unit>" with unit minute(s)/min, hour(s)/h or day(s)/d, a superset of Personalize's five values) and
    trend_smoothing 10 (Tailor's; events). Scores do not read the user's history.
    """

    name: ClassVar[str] = "aws-trending-now"
    defaults: ClassVar[dict[str, str]] = {"trend_discovery_frequency": "2 hours", "trend_smoothing": "10"}

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> TrendingModel:
        cfg = TrendingConfig.parse(params)
        weights = checked_weights(data)
        n = data.n_items
        if data.n_events == 0:
            zeros = np.zeros(n)
            return TrendingModel(zeros, zeros, zeros)
        times = np.asarray(data.timestamps, dtype=np.int64)
        # Integer arithmetic on the anchor keeps window edges exact for epoch seconds.
        newest, width = int(times.max()), round(cfg.window_seconds)
        age = newest - times  # 0 for the newest event
        in_current = age < width
        in_previous = (age >= width) & (age < 2 * width)
        current = np.bincount(data.items[in_current], weights=weights[in_current], minlength=n)
        previous = np.bincount(data.items[in_previous], weights=weights[in_previous], minlength=n)
        growth = (current - previous) / (previous + cfg.smoothing)
        popularity = np.bincount(data.items, weights=weights, minlength=n)
        if popularity.max() > 0:
            growth += _TIE_BREAK * popularity / popularity.max()
        return TrendingModel(growth, current, previous)

    def load(self, arrays: Mapping[str, np.ndarray]) -> TrendingModel:
        return TrendingModel(arrays["scores"], arrays["current"], arrays["previous"])
