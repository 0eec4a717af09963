"""aws-popularity-count: the same list for everyone, items ranked by their weighted event count."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tailor.training.base import InteractionData, TrainingFailed, parse_params


@dataclass(frozen=True)
class PopularityConfig:
    """Personalize documents no hyper-parameters for this recipe; the config exists so unknown names are refused."""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> PopularityConfig:
        parse_params(PopularityCount.defaults, params)
        return cls()


class PopularityModel:
    """Scores are the items' weighted event counts (the sum of event-type weights); the history is not read."""

    def __init__(self, counts: np.ndarray) -> None:
        self.counts = np.asarray(counts, dtype=np.float64)

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        return self.counts.copy()

    def arrays(self) -> dict[str, np.ndarray]:
        return {"counts": self.counts}


class PopularityCount:
    name: ClassVar[str] = "aws-popularity-count"
    defaults: ClassVar[dict[str, str]] = {}

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> PopularityModel:
        PopularityConfig.parse(params)
        counts = np.bincount(data.items, weights=data.weights.astype(np.float64), minlength=data.n_items)
        if not np.all(np.isfinite(counts)):
            raise TrainingFailed("Event-type weights must be finite numbers")
        return PopularityModel(counts)

    def load(self, arrays: Mapping[str, np.ndarray]) -> PopularityModel:
        return PopularityModel(arrays["counts"])
