"""The contracts every part of training shares: the interaction data, a recipe, a fitted model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np


class TrainingFailed(Exception):
    """Training cannot go on; `reason` is the solution version's failureReason (a person can act on it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, eq=False)
class InteractionData:
    """Events as parallel arrays over dense user and item indices, sorted by (user, timestamp).

    The item vocabulary is the catalog: items seen in interactions plus items only in the Items dataset (cold items,
    which have no events). Every array indexed by event has length n_events.
    """

    user_ids: np.ndarray  # str array: index -> USER_ID
    item_ids: np.ndarray  # str array: index -> ITEM_ID
    users: np.ndarray  # int32 per event
    items: np.ndarray  # int32 per event
    timestamps: np.ndarray  # int64 per event (epoch seconds)
    weights: np.ndarray  # float32 per event: the event-type weight (1.0 unless configured)
    event_types: np.ndarray  # int16 per event: index into event_type_names (-1 when the dataset has none)
    event_type_names: tuple[str, ...] = ()
    # Item metadata for recipes that use it: column name -> per-item values (str array, '' = missing, or float64
    # array, NaN = missing), aligned with item_ids. Categorical multi-values stay as 'a|b'.
    item_features: Mapping[str, np.ndarray] = field(default_factory=dict)
    item_created: np.ndarray | None = None  # float64 per item: CREATION_TIMESTAMP, NaN when unknown

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_events(self) -> int:
        return len(self.users)


class Model(Protocol):
    """A fitted recipe. Indices are InteractionData indices; the artifact keeps the id vocabularies."""

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        """Scores for every catalog item (float64, length n_items) given one user's history in time order.

        Higher is better; the serving layer turns them into a softmax and removes what a request excludes."""

    def arrays(self) -> dict[str, np.ndarray]:
        """The model's parameters for np.savez (no object arrays; loaded with allow_pickle=False)."""


class Recipe(Protocol):
    """A trainable recipe: hyper-parameters in (strings, as Personalize sends them), a Model out."""

    name: ClassVar[str]  # the recipe's Personalize name, e.g. "aws-user-personalization"
    defaults: ClassVar[dict[str, str]]  # documented hyper-parameters and their defaults

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> Model: ...

    def load(self, arrays: Mapping[str, np.ndarray]) -> Model: ...


def parse_params(defaults: Mapping[str, str], given: Mapping[str, Any]) -> dict[str, str]:
    """Merge given hyper-parameters over the defaults; unknown names are refused with the known ones listed."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise TrainingFailed(
            f"Unknown hyper-parameter(s) {', '.join(unknown)}; this recipe takes {', '.join(sorted(defaults))}"
        )
    return {**defaults, **{k: str(v) for k, v in given.items()}}
