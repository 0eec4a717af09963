"""A trained solution version as the runtime serves it: its artifact loaded once per process and kept while it fits.

The artifact (tailor.training.entrypoint.write_artifact) holds the recipe's arrays (`model.*`), the id vocabularies,
each item's event count, every user's newest events per event type (`history.*`) and a JSON `__meta__` with the
recipe, the softmax temperature and the event type names.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from tailor.errors import ResourceNotFoundException
from tailor.operations.catalog import RECIPES as CATALOG
from tailor.service import Service
from tailor.training.base import Model
from tailor.training.recipes import get_recipe

# Loaded models kept per process: the newest few (a campaign update briefly needs two) within a memory budget.
MAX_MODELS = 4
MODEL_BUDGET_BYTES = 3 << 30
_RECIPE_TYPES = {recipe.name: recipe.recipe_type for recipe in CATALOG}
# Recipes whose recommendations carry no score, as in Personalize (reference §4.9).
UNSCORED_RECIPES = frozenset({"aws-popularity-count", "aws-trending-now", "aws-sims", "aws-similar-items"})


@dataclass(frozen=True, eq=False)
class History:
    """One user's events, oldest first: model item indices (-1 for items the model does not know), weights, times
    and event type names."""

    items: np.ndarray  # int64
    weights: np.ndarray  # float64
    timestamps: np.ndarray  # float64
    event_types: np.ndarray  # str

    @classmethod
    def empty(cls) -> History:
        return cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.str_))

    def __len__(self) -> int:
        return len(self.items)


@dataclass(eq=False)
class ServedModel:
    uri: str
    recipe: str
    model: Model
    item_ids: np.ndarray  # str, model index -> ITEM_ID
    item_index: dict[str, int]
    user_index: dict[str, int]
    item_events: np.ndarray  # events per item in the training data (0: a cold item)
    temperature: float
    event_type_names: np.ndarray  # str, training event type index -> name
    trained_at: float
    nbytes: int
    _history: dict[str, np.ndarray]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def recipe_type(self) -> str:
        return _RECIPE_TYPES.get(self.recipe, "USER_PERSONALIZATION")

    @property
    def scored(self) -> bool:
        return self.recipe not in UNSCORED_RECIPES

    def history(self, user_id: str) -> History:
        """The user's events the model was trained with (the newest per event type), empty for an unknown user."""
        user = self.user_index.get(user_id)
        if user is None or not self._history:
            return History.empty()
        start, stop = int(self._history["indptr"][user]), int(self._history["indptr"][user + 1])
        types = self._history["event_types"][start:stop].astype(np.int64)
        names = np.append(self.event_type_names, np.array([""], dtype=np.str_))  # -1 (no type) reads ''
        return History(
            items=self._history["items"][start:stop].astype(np.int64),
            weights=self._history["weights"][start:stop].astype(np.float64),
            timestamps=self._history["timestamps"][start:stop].astype(np.float64),
            event_types=names[types],
        )


def read_artifact(uri: str, stream: IO[bytes]) -> ServedModel:
    with np.load(stream, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta: dict[str, Any] = json.loads(str(arrays.pop("__meta__")))
    recipe_name = str(meta["recipe"])
    model = get_recipe(recipe_name).load({k[6:]: v for k, v in arrays.items() if k.startswith("model.")})
    item_ids = arrays["item_ids"].astype(str)
    user_ids = arrays["user_ids"].astype(str)
    item_events = arrays.get("item_events")
    history = {k[8:]: v for k, v in arrays.items() if k.startswith("history.")}
    return ServedModel(
        uri=uri,
        recipe=recipe_name,
        model=model,
        item_ids=item_ids,
        item_index={item: i for i, item in enumerate(item_ids.tolist())},
        user_index={user: i for i, user in enumerate(user_ids.tolist())},
        item_events=item_events if item_events is not None else np.ones(len(item_ids), dtype=np.int64),
        temperature=float(meta.get("temperature") or 0.0),
        event_type_names=np.array(meta.get("event_types") or [], dtype=np.str_),
        trained_at=float(meta.get("trained_at") or 0.0),
        nbytes=int(sum(a.nbytes for a in arrays.values())),
        _history=history,
    )


def served_model(svc: Service, uri: str) -> ServedModel:
    """The model at `uri`, loaded at most once per process (artifacts never change once written)."""
    lock: threading.Lock = svc.cache.setdefault("models.lock", threading.Lock())
    with lock:
        models: OrderedDict[str, ServedModel] = svc.cache.setdefault("models", OrderedDict())
        found = models.get(uri)
        if found is not None:
            models.move_to_end(uri)
            return found
        try:
            # np.load needs a seekable file: the artifact (it may be gigabytes, more than the Lambda's /tmp) is read
            # where it lies, each array straight into its own memory, never copied to disk nor held twice.
            with svc.blobs.open_seekable(uri) as stream:
                loaded = read_artifact(uri, stream)
        except FileNotFoundError:
            raise ResourceNotFoundException(
                f"The model artifact {uri} is missing: retrain the solution version or update the campaign"
            ) from None
        models[uri] = loaded
        while len(models) > 1 and (len(models) > MAX_MODELS or sum(m.nbytes for m in models.values())
                                   > MODEL_BUDGET_BYTES):
            models.popitem(last=False)
        return loaded
