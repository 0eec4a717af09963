"""aws-personalized-ranking and honest equivalents of the legacy HRNN family, built on user-personalization."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from tailor.training.base import InteractionData, TrainingFailed, parse_params
from tailor.training.recipes.params import integer, keep_count_percentiles, number, percentile_range, positive
from tailor.training.recipes.user_personalization import (
    UserPersonalization,
    UserPersonalizationModel,
    history_sequence,
)

_UP_PARAMS = frozenset(UserPersonalization.defaults)
_HISTORY_DEFAULTS = {"min_user_history_length_percentile": "0.0", "max_user_history_length_percentile": "1.0"}
_DAY = 86_400.0


# ---- shared featurization: the user-history-length filter ----------------------------------------------------------


@dataclass(frozen=True)
class HistoryFilterConfig:
    """Personalize's JSON-percentile-filtering featurization: train only on users whose history length lies between
    the two percentiles of all users' history lengths.

    Personalize's documented defaults are 0.0 and 0.99 (drop the longest 1% of histories, often bots). Tailor's
    default maximum is 1.0, which keeps every user, because on ML-1M (users 1-2999, Personalize's split) 0.99 cost
    user-personalization's model 1.5% NDCG@10 (0.2377 -> 0.2342) and Tailor's user-personalization does not filter
    either; 0.99 remains one parameter away."""

    min_percentile: float
    max_percentile: float

    @classmethod
    def parse(cls, p: Mapping[str, str]) -> HistoryFilterConfig:
        return cls(*percentile_range(p, "min_user_history_length_percentile", "max_user_history_length_percentile"))

    def apply(self, data: InteractionData) -> InteractionData:
        """`data` without the events of users outside the percentile range (the same object when none are)."""
        return keep_count_percentiles(data, np.asarray(data.users), data.n_users, self.min_percentile,
                                      self.max_percentile)


class _UserPersonalizationBased:
    """Fit path shared by the recipes here: parse, filter users by history length, fit user-personalization.

    Personalize's legacy recipes are hierarchical recurrent neural networks (DG `native-recipe-hrnn`, `-hrnn-metadata`,
    `-hrnn-coldstart`, `native-recipe-search`). Tailor trains no networks: each recipe here is an equivalent of what
    the Personalize recipe is for, made of user-personalization's item-to-item parts (EASE over a recency-weighted
    history, "what comes next" transitions read for the newest `bptt` events, a popularity tie-breaker; see
    user_personalization.py), and its docstring says so.

    All take Personalize's documented hyper-parameters for their recipe: hidden_dimension (accepted and ignored: there
    is nothing to size), bptt (how many events back the transition term reads), recency_mask (whether the newest
    events count most), and the featurization pair min/max_user_history_length_percentile (HistoryFilterConfig).
    User-personalization's own Tailor hyper-parameters (lambda, recency_half_life, sequential_weight, sequential_decay,
    popularity_weight, ease_max_items, max_successors) are accepted too. On Personalize the percentile pair and the
    cold_start_* parameters travel in solutionConfig.featureTransformationParameters, the rest in
    algorithmHyperParameters."""

    name: ClassVar[str]
    defaults: ClassVar[dict[str, str]]

    def _fit_base(self, data: InteractionData, params: Mapping[str, str]) -> UserPersonalizationModel:
        p = parse_params(self.defaults, params)
        history = HistoryFilterConfig.parse(p)
        return UserPersonalization().fit(history.apply(data), {k: v for k, v in p.items() if k in _UP_PARAMS})


# ---- aws-personalized-ranking and aws-hrnn -------------------------------------------------------------------------


class PersonalizedRanking(_UserPersonalizationBased):
    """aws-personalized-ranking: user-personalization's model and scores, unchanged.

    GetPersonalizedRanking restricts the scores to the request's inputList (the serving layer's job, reference §4.9).
    Personalize's documented defaults for this recipe (hidden_dimension 149, bptt 32, recency_mask true) are
    user-personalization's, so the two recipes train the same model unless the history-length filter drops users."""

    name: ClassVar[str] = "aws-personalized-ranking"
    defaults: ClassVar[dict[str, str]] = {**UserPersonalization.defaults, **_HISTORY_DEFAULTS}

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> UserPersonalizationModel:
        return self._fit_base(data, params)

    def load(self, arrays: Mapping[str, np.ndarray]) -> UserPersonalizationModel:
        return UserPersonalization().load(arrays)


# What makes HRNN "sequence-aware" here: the next-item transitions weigh 5 instead of user-personalization's 4 and the
# EASE history halves every 4 distinct items instead of 5. On ML-1M users 1-2999 (Personalize's split, seeds 42, 1, 2)
# that measured NDCG@10 0.2479 against user-personalization's 0.2484; (6, 4) measured 0.2491 and (5, 3) 0.2479, all
# within noise. hidden_dimension 43 is HRNN's documented default (accepted, ignored).
_HRNN_DEFAULTS = {
    **UserPersonalization.defaults,
    "sequential_weight": "5",
    "recency_half_life": "4",
    "hidden_dimension": "43",
    **_HISTORY_DEFAULTS,
}


class Hrnn(_UserPersonalizationBased):
    """aws-hrnn, honestly: a recency-weighted EASE plus Markov-chain-like "what comes next" transitions, no network.

    Personalize's HRNN models the order of a user's history and weighs recent interactions higher. The same two ideas
    are user-personalization's transition and recency terms; this recipe emphasises them (sequential_weight 5 instead
    of 4, recency_half_life 4 distinct items instead of 5). bptt is the transition window (how many distinct items
    back are read), recency_mask switches the recency weighting, hidden_dimension is accepted and ignored."""

    name: ClassVar[str] = "aws-hrnn"
    defaults: ClassVar[dict[str, str]] = _HRNN_DEFAULTS

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> UserPersonalizationModel:
        return self._fit_base(data, params)

    def load(self, arrays: Mapping[str, np.ndarray]) -> UserPersonalizationModel:
        return UserPersonalization().load(arrays)


# ---- aws-hrnn-metadata and aws-hrnn-coldstart ----------------------------------------------------------------------


class MetadataModel:
    """An HRNN-equivalent model plus a content term over the categorical item features.

    score = base.score(history) + scale · cos(profile, features), where `features` holds one L2-normalised TF-IDF row
    per item over its categorical values, `profile` = Σ recency-weighted feature rows of the history (the base model's
    half-life), and `scale` is a per-item weight: metadata_weight, times cold_item_boost for cold items in
    aws-hrnn-coldstart, 0 for the items the term does not reach. The term is 0 for an empty history or a history of
    items without features, so the model then scores exactly as its base."""

    def __init__(
        self,
        base: UserPersonalizationModel,
        *,
        meta_indptr: np.ndarray,
        meta_indices: np.ndarray,
        meta_data: np.ndarray,
        meta_scale: np.ndarray,
    ) -> None:
        self.base = base
        n = base.n_items
        data = np.asarray(meta_data, dtype=np.float32)
        indices = np.asarray(meta_indices, dtype=np.int32)
        n_tokens = int(indices.max()) + 1 if len(indices) else 0
        self.features = sp.csr_array((data, indices, np.asarray(meta_indptr, dtype=np.int64)), shape=(n, n_tokens))
        self.scale = np.asarray(meta_scale, dtype=np.float64)

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        scores = self.base.score(history_items, history_weights, history_times)
        self._add_metadata(scores, history_items, history_weights)
        return scores

    def score_batch(self, histories: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
        """`score` for many histories: the base model's batched product plus each row's metadata term."""
        scores = self.base.score_batch(histories)
        for row, (items, weights, _times) in enumerate(histories):
            self._add_metadata(scores[row], items, weights)
        return scores

    def _add_metadata(self, scores: np.ndarray, history_items: np.ndarray, history_weights: np.ndarray) -> None:
        if self.features.nnz == 0:
            return
        items = np.asarray(history_items, dtype=np.int64)
        items, weights = history_sequence(items, np.asarray(history_weights, dtype=np.float64))
        # Age in distinct items as the base model counts it: unknown items still push older ones back.
        age = np.arange(len(items) - 1, -1, -1, dtype=np.float64)
        known = (items >= 0) & (items < self.base.n_items) & np.isfinite(weights)
        items, weights, age = items[known], weights[known], age[known]
        if len(items) == 0:
            return
        half_life = self.base.half_life
        recency = weights * (0.5 ** (age / half_life)) if half_life > 0 else weights
        profile = np.asarray(self.features[items].T @ recency, dtype=np.float64)
        norm = float(np.linalg.norm(profile))
        if norm > 0:
            scores += self.scale * (self.features @ (profile / norm))

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            **self.base.arrays(),
            "meta_indptr": self.features.indptr.astype(np.int64),
            "meta_indices": self.features.indices.astype(np.int32),
            "meta_data": self.features.data.astype(np.float32),
            "meta_scale": self.scale,
        }


def item_feature_matrix(data: InteractionData) -> sp.csr_array:
    """One L2-normalised TF-IDF row per catalog item over its categorical values (float32 CSR, n_items x tokens).

    A token is (column, value) from every string column of item_features, multi-values split on '|', compared
    case-insensitively. Numeric columns are left out (a price or a year is not a category). A value only one item has
    cannot link two items, and one every item has tells them apart in nothing, so both are dropped; the rest weigh
    log(n_items / items with the value), so a rare shared genre says more than a common one. Textual columns (one
    distinct description per item) drop out by the same rule."""
    n = data.n_items
    blocks: list[sp.csr_array] = []
    for column in sorted(data.item_features):
        values = np.asarray(data.item_features[column])
        if values.dtype.kind not in "US" or len(values) != n:
            continue
        # Split each distinct string once (catalogs repeat a few categories many times), then give every item the
        # row of its string: a distinct-strings x values matrix indexed by the items' inverse.
        distinct, inverse = np.unique(values, return_inverse=True)
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for i, text in enumerate(distinct.tolist()):
            for part in {part.strip().lower() for part in str(text).split("|")} - {""}:
                rows.append(i)
                cols.append(vocab.setdefault(part, len(vocab)))
        if vocab:
            ones = np.ones(len(rows), dtype=np.float64)
            blocks.append(sp.csr_array((ones, (rows, cols)), shape=(len(distinct), len(vocab)))[inverse.ravel()])
    if not blocks:
        return sp.csr_array((n, 0), dtype=np.float32)
    matrix = sp.csr_array(sp.hstack(blocks, format="csr"))
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    # Drop the values that cannot rank one item above another; weigh the rest by their rarity.
    useful = np.flatnonzero((df >= 2) & (df < n))
    matrix = sp.csr_array(matrix[:, useful] @ sp.diags_array(np.log(n / df[useful])))
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float64).ravel())
    matrix = sp.csr_array(sp.diags_array(np.divide(1.0, norms, out=np.zeros(n), where=norms > 0)) @ matrix)
    matrix.eliminate_zeros()
    return sp.csr_array(matrix, dtype=np.float32)


# On ML-1M with its genres, metadata_weight 0.05 on top of aws-hrnn measured NDCG@10 0.2372 (aws-hrnn alone: 0.2384)
# and raised coverage from 0.354 to 0.379; 0.1 measured 0.2334, 0.15 0.2290. Genres are coarse next to ML-1M's dense
# interactions, so the default is small: the term mostly orders items the collaborative parts score alike.
_METADATA_DEFAULTS = {**_HRNN_DEFAULTS, "metadata_weight": "0.05"}


class HrnnMetadata(_UserPersonalizationBased):
    """aws-hrnn-metadata, honestly: aws-hrnn's model plus a content-based term over the item metadata, not a network.

    The term is the cosine between the user's recency-weighted profile over the categorical values of their history's
    items (genre, brand, ...) and each item's values, weighted by metadata_weight (see MetadataModel and
    item_feature_matrix). With no Items dataset, or none of its columns categorical, the model is aws-hrnn's.

    Like Personalize's HRNN-Metadata, it recommends only items that have events: a cold item (no events) scores 0
    whatever its metadata, as in user-personalization. Reaching new items is what aws-hrnn-coldstart is for
    (the DG: HRNN-Coldstart "is similar to the HRNN-Metadata recipe, but it allows you to get recommendations for new
    items"). Personalize also reads Users and contextual Interactions metadata here; Tailor reads item metadata only."""

    name: ClassVar[str] = "aws-hrnn-metadata"
    defaults: ClassVar[dict[str, str]] = _METADATA_DEFAULTS

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> MetadataModel:
        p = parse_params(self.defaults, params)
        weight = number(p, "metadata_weight", 0.0)  # checked before the (slow) base fit, so a typo fails fast
        base = self._fit_base(data, p)
        features = item_feature_matrix(data)
        has_events = np.bincount(data.items, minlength=data.n_items) > 0
        return _metadata_model(base, features, np.where(has_events, weight, 0.0))

    def load(self, arrays: Mapping[str, np.ndarray]) -> MetadataModel:
        return MetadataModel(
            UserPersonalization().load(arrays),
            meta_indptr=arrays["meta_indptr"],
            meta_indices=arrays["meta_indices"],
            meta_data=arrays["meta_data"],
            meta_scale=arrays["meta_scale"],
        )


def _metadata_model(base: UserPersonalizationModel, features: sp.csr_array, scale: np.ndarray) -> MetadataModel:
    return MetadataModel(
        base, meta_indptr=features.indptr, meta_indices=features.indices, meta_data=features.data, meta_scale=scale
    )


@dataclass(frozen=True)
class ColdStartConfig:
    """Which items are cold, in Personalize's terms, and how much their content term is boosted."""

    cold_item_boost: float  # Tailor's: multiplies metadata_weight for cold items (they have little else to score by)
    max_interactions: int  # cold_start_max_interactions: a cold item has fewer events than this
    max_duration_days: float  # cold_start_max_duration: ... and was first seen at most this many days before the anchor
    relative_from: str  # cold_start_relative_from: the anchor, "latestItem" (newest event / creation) or "currentTime"

    @classmethod
    def parse(cls, p: Mapping[str, str]) -> ColdStartConfig:
        relative_from = p["cold_start_relative_from"].strip()
        if relative_from.lower() not in ("latestitem", "currenttime"):
            raise TrainingFailed(
                f"Hyper-parameter cold_start_relative_from must be latestItem or currentTime; got {relative_from!r}"
            )
        return cls(
            cold_item_boost=number(p, "cold_item_boost", 0.0),
            max_interactions=integer(p, "cold_start_max_interactions", 1, 2**31 - 1),
            max_duration_days=positive(p, "cold_start_max_duration"),
            relative_from="currentTime" if relative_from.lower() == "currenttime" else "latestItem",
        )


def cold_items(data: InteractionData, cfg: ColdStartConfig, now: float | None = None) -> np.ndarray:
    """Boolean mask of the cold items: fewer than cold_start_max_interactions events and first seen (first event, or
    CREATION_TIMESTAMP when earlier or the only time known) within cold_start_max_duration days of the anchor. An item
    with no events is always cold: nothing but its metadata can recommend it. Personalize requires 100 to 80,000 cold
    items for HRNN-Coldstart (reference §4.6); this function is what such a check would count."""
    n = data.n_items
    counts = np.bincount(data.items, minlength=n)
    times = np.asarray(data.timestamps, dtype=np.float64)
    first_seen = np.full(n, np.inf)
    np.minimum.at(first_seen, data.items, times)
    if data.item_created is not None:
        created = np.asarray(data.item_created, dtype=np.float64)
        first_seen = np.fmin(first_seen, np.where(np.isfinite(created), created, np.inf))
    if cfg.relative_from == "currentTime":
        anchor = time.time() if now is None else now
    else:
        known = np.concatenate([times, first_seen[np.isfinite(first_seen)]])
        anchor = float(known.max()) if len(known) else 0.0
    recent = anchor - first_seen <= cfg.max_duration_days * _DAY
    return (counts == 0) | ((counts < cfg.max_interactions) & recent)


class HrnnColdstart(_UserPersonalizationBased):
    """aws-hrnn-coldstart, honestly: aws-hrnn-metadata whose content term also scores cold items, boosted.

    Cold items are Personalize's (cold_start_max_interactions, cold_start_max_duration, cold_start_relative_from; see
    cold_items) plus every catalog item without events. Their content term weighs metadata_weight · cold_item_boost
    (default 3: a cold item has no collaborative score, so an unboosted cosine would rarely reach the top), so a new
    item that shares the categories of the user's recent history is recommended from the first request. Warm items
    score as in aws-hrnn-metadata. Two differences from Personalize, said plainly: Personalize trained HRNN-Coldstart
    on the cold items only, where Tailor keeps the warm items in the ranking and boosts the cold ones (a large
    cold_item_boost comes close to "cold items first"); and Personalize refused to train with fewer than 100 or more
    than 80,000 cold items, which this recipe does not enforce (cold_items gives the count to check)."""

    name: ClassVar[str] = "aws-hrnn-coldstart"
    defaults: ClassVar[dict[str, str]] = {
        **_METADATA_DEFAULTS,
        "hidden_dimension": "149",  # HRNN-Coldstart's documented default
        # On ML-1M's split (15 cold items, all without training events), boost 1 / 2 / 3 / 5 put a cold item in the
        # top 25 of 0 / 5 / 86 / 218 of 300 test users at NDCG@10 0.2372 / 0.2372 / 0.2324 / 0.2050: 3 is the
        # smallest boost at which new items reach lists, at a small cost where, as there, they are rarely wanted.
        "cold_item_boost": "3",
        "cold_start_max_interactions": "15",
        "cold_start_max_duration": "5.0",
        "cold_start_relative_from": "latestItem",
    }

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> MetadataModel:
        p = parse_params(self.defaults, params)
        cfg = ColdStartConfig.parse(p)  # checked before the (slow) base fit, so a typo fails fast
        weight = number(p, "metadata_weight", 0.0)
        base = self._fit_base(data, p)
        scale = np.where(cold_items(data, cfg), weight * cfg.cold_item_boost, weight)
        return _metadata_model(base, item_feature_matrix(data), scale)

    def load(self, arrays: Mapping[str, np.ndarray]) -> MetadataModel:
        return HrnnMetadata().load(arrays)
