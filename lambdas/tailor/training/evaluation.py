"""Offline metrics for GetSolutionMetrics: Personalize's hold-out-users evaluation protocol.

The protocol, exactly (AWS DG "working-with-training-metrics"; reference §4.3):

1. Test users. Only users with at least 2 events are eligible. ``round(test_fraction * eligible)`` of them (at least
   1, rounding half up) are drawn without replacement with ``np.random.default_rng(seed)``. The draw is capped so
   that at least one user with events stays in training; a dataset with a single active user has no test users.
2. Training data. ``Split.train`` is the data with every event of every test user removed. The user and item
   vocabularies (and item metadata) are kept as they are, so indices stay valid; test users simply have no events.
   The caller fits the recipe on ``Split.train`` and passes the model to ``evaluate``.
3. Input and targets. A test user's n events, in time order, are cut into the oldest ``floor(0.9 n)`` (the input)
   and the newest ``ceil(0.1 n)`` (the targets). With n >= 2 both parts have at least one event, so no clamping is
   needed. The targets are the distinct items of the newest events minus every item already in the input. A test
   user left with no target is skipped: not scored and not counted in any average (nor in coverage). Their events
   still stay out of training, as they were drawn as test users.
4. Ranking. ``scores = model.score(input items, input weights, input times)``; the input's items are excluded (their
   score becomes -inf and they never appear in a ranking) and the rest of the catalog is ranked by score, best
   first; the top max(25, max K) are kept. NaN and -inf scores from the model rank below every finite score but
   above excluded items. Ties at the top-K cut are broken by ``np.argpartition`` (deterministic, arbitrary); inside
   the top list ties go to the lower item index.
5. Metrics, each averaged over the evaluated test users:
   * ``precision_at_K`` = relevant items in the top K / K (K even when fewer than K items could be ranked).
   * ``mean_reciprocal_rank_at_25`` = 1 / rank of the first relevant item in the top 25, 0 if there is none.
   * ``normalized_discounted_cumulative_gain_at_K``: DCG with gain 1/log2(1 + rank) (rank 1 = top) over the top K,
     divided by the ideal DCG of min(|targets|, K) relevant items at ranks 1..min(|targets|, K).
   * ``coverage`` = distinct items in the union of every evaluated user's top 25 / catalog size (``data.n_items``:
     items in Interactions plus items only in the Items dataset). Personalize words it as "unique recommendable
     items / unique items in Interactions + Items"; "recommendable" is not observable for an arbitrary model, so
     the items the evaluation actually recommended are what is counted. ``metrics_for_rankings`` also takes an
     explicit recommendable set for callers that know one.
   The DG's worked example (relevant items at ranks 2 and 5 of the top 5, 2 targets) gives reciprocal rank 0.5,
   NDCG@5 = (1/log2 3 + 1/log2 6) / (1/log2 2 + 1/log2 3) = 0.6241 and precision@5 = 0.4.
6. Empty cases. When no test user can be evaluated (no eligible user, or none with a target left) every metric,
   coverage included, is 0.0; the keys are always all present and every value is in [0, 1].
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from tailor.training.base import InteractionData, Model

MRR_DEPTH = 25  # mean_reciprocal_rank_at_25 and coverage both look at the top 25
DEFAULT_K = (5, 10, 25)
METRIC_KEYS: tuple[str, ...] = (
    "coverage",
    "mean_reciprocal_rank_at_25",
    "normalized_discounted_cumulative_gain_at_5",
    "normalized_discounted_cumulative_gain_at_10",
    "normalized_discounted_cumulative_gain_at_25",
    "precision_at_5",
    "precision_at_10",
    "precision_at_25",
)

# Scores are ranked in blocks of users: one argpartition call per block instead of one per user, with the block's
# score matrix kept to about 32 MiB whatever the catalog size.
_BLOCK_BYTES = 32 << 20


@dataclass(frozen=True, eq=False)
class Split:
    """Training data without the test users, and each test user's input events and target items."""

    train: InteractionData
    test_users: np.ndarray  # user indices drawn as test users, ascending
    inputs: list[np.ndarray]  # per test user: event indices into the ORIGINAL data, the oldest 90%, in time order
    targets: list[np.ndarray]  # per test user: distinct item indices of the newest 10% not in the input (may be empty)


def metric_keys(k_values: Iterable[int] = DEFAULT_K) -> tuple[str, ...]:
    """The metric names for these cut-offs, in METRIC_KEYS order (METRIC_KEYS itself for the default ones)."""
    ks = _check_k_values(k_values)
    return (
        "coverage",
        f"mean_reciprocal_rank_at_{MRR_DEPTH}",
        *(f"normalized_discounted_cumulative_gain_at_{k}" for k in ks),
        *(f"precision_at_{k}" for k in ks),
    )


def split(data: InteractionData, seed: int = 42, test_fraction: float = 0.1) -> Split:
    """Hold out a seeded fraction of users (those with >= 2 events) and cut each one's events 90/10 by time."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    users = np.asarray(data.users)
    timestamps = np.asarray(data.timestamps)
    # The slicing below relies on each user's events being contiguous and in time order (InteractionData contract).
    same_user = users[1:] == users[:-1]
    if np.any(users[1:] < users[:-1]) or np.any(same_user & (timestamps[1:] < timestamps[:-1])):
        raise ValueError("InteractionData events must be sorted by (user, timestamp)")

    counts = np.bincount(users, minlength=data.n_users)
    eligible = np.flatnonzero(counts >= 2)
    n_active = int(np.count_nonzero(counts))
    n_test = max(1, math.floor(test_fraction * len(eligible) + 0.5)) if len(eligible) else 0
    n_test = min(n_test, len(eligible), n_active - 1) if n_test else 0  # keep at least one user to train on
    rng = np.random.default_rng(seed)
    test_users = np.sort(rng.choice(eligible, size=n_test, replace=False)) if n_test > 0 else np.zeros(0, np.int64)

    starts = np.zeros(data.n_users + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    items = np.asarray(data.items)
    inputs: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    for user in test_users:
        begin, end = int(starts[user]), int(starts[user + 1])
        n = end - begin
        cut = end - (n + 9) // 10  # ceil(0.1 n) newest events are targets, so floor(0.9 n) oldest are the input
        inputs.append(np.arange(begin, cut, dtype=np.int64))
        # setdiff1d returns distinct sorted items: repeats of a target collapse and input items drop out
        targets.append(np.setdiff1d(items[cut:end], items[begin:cut]).astype(np.int64))

    keep = ~np.isin(users, test_users)
    train = dataclasses.replace(
        data,
        users=users[keep],
        items=items[keep],
        timestamps=timestamps[keep],
        weights=np.asarray(data.weights)[keep],
        event_types=np.asarray(data.event_types)[keep],
    )
    return Split(train=train, test_users=test_users.astype(np.int64), inputs=inputs, targets=targets)


def evaluate(
    model: Model, data: InteractionData, split: Split, k_values: Iterable[int] = DEFAULT_K
) -> dict[str, float]:
    """Score every test user with a target, rank the catalog minus the input, and compute the offline metrics.

    `model` must have been fitted on `split.train`; `data` is the data `split` was made from."""
    ks = _check_k_values(k_values)
    depth = max(MRR_DEPTH, ks[-1])
    n_items = data.n_items
    evaluated = [i for i, t in enumerate(split.targets) if len(t)]
    rankings: list[np.ndarray] = []
    block = max(1, _BLOCK_BYTES // (8 * max(n_items, 1)))
    lowest = np.finfo(np.float64).min
    for first in range(0, len(evaluated), block):
        rows = evaluated[first : first + block]
        scores = np.empty((len(rows), n_items), dtype=np.float64)
        for r, i in enumerate(rows):
            idx = split.inputs[i]
            row = np.asarray(model.score(data.items[idx], data.weights[idx], data.timestamps[idx]), dtype=np.float64)
            if row.shape != (n_items,):
                raise ValueError(f"model.score returned shape {row.shape}, expected ({n_items},)")
            scores[r] = row  # a copy: the model's own array is never modified
        # Model NaN/-inf become the lowest finite score so that only excluded items carry -inf and rank last.
        np.nan_to_num(scores, copy=False, nan=lowest, neginf=lowest, posinf=np.inf)
        input_items = [data.items[split.inputs[i]] for i in rows]
        row_of = np.repeat(np.arange(len(rows)), [len(a) for a in input_items])
        scores[row_of, np.concatenate(input_items).astype(np.int64)] = -np.inf
        rankings.extend(_top(scores, depth))
    return metrics_for_rankings(rankings, [split.targets[i] for i in evaluated], n_items, None, ks)


CALIBRATION_USERS = 300  # test users the softmax temperature is fitted on: enough for one scalar, cheap at any scale
_CALIBRATION_CELLS = 6_000_000  # users x catalog items scored at once (about 50 MB): fewer users on a huge catalog


def calibrate_temperature(model: Model, data: InteractionData, split: Split, max_users: int = CALIBRATION_USERS,
                          seed: int = 0) -> float:
    """The softmax temperature T that makes exp(score / T), normalised over the catalog minus the input, the best
    probability of the held-out target items (maximum likelihood over up to `max_users` test users).

    GetRecommendations reports `score` as that softmax over the whole catalog (reference §4.9), so a score reads as
    the chance the item is the user's next one. One scalar per model; 1.0 when nothing can be calibrated (no test
    user with a target, or scores that do not vary). `model` must have been fitted on `split.train`."""
    evaluated = [i for i, t in enumerate(split.targets) if len(t)]
    if not evaluated:
        return 1.0
    max_users = max(20, min(max_users, _CALIBRATION_CELLS // max(data.n_items, 1)))
    if len(evaluated) > max_users:
        evaluated = sorted(np.random.default_rng(seed).choice(evaluated, size=max_users, replace=False).tolist())
    rows, targets = [], []
    for i in evaluated:
        idx = split.inputs[i]
        row = np.array(model.score(data.items[idx], data.weights[idx], data.timestamps[idx]), dtype=np.float64)
        row[~np.isfinite(row)] = np.nan
        row[data.items[idx]] = np.nan  # the input's items are not candidates (as in evaluate)
        rows.append(row)
        targets.append(split.targets[i])
    scores = np.vstack(rows)
    spread = float(np.nanstd(scores)) if np.isfinite(scores).any() else 0.0
    if not spread > 0:
        return 1.0
    lowest = np.nanmin(scores)
    candidates = ~np.isnan(scores)
    scores = np.where(candidates, scores, lowest)
    owner = np.repeat(np.arange(len(targets)), [len(t) for t in targets])
    target_scores = scores[owner, np.concatenate(targets)]

    def log_likelihood(log_beta: float) -> float:
        beta = math.exp(log_beta)
        shifted = (scores - scores.max(axis=1, keepdims=True)) * beta
        log_z = np.log(np.sum(np.exp(shifted) * candidates, axis=1)) + scores.max(axis=1) * beta
        return float(np.mean(target_scores * beta - log_z[owner]))

    # The log-likelihood is concave in beta = 1/T; a golden-section search on log(beta) around 1/spread finds it.
    low, high = math.log(1e-3 / spread), math.log(1e4 / spread)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = log_likelihood(a), log_likelihood(b)
    for _ in range(40):
        if fa < fb:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = log_likelihood(b)
        else:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = log_likelihood(a)
    return float(1.0 / math.exp((low + high) / 2))


def metrics_for_rankings(
    rankings: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    n_items_catalog: int,
    recommendable: set[int] | np.ndarray | None = None,
    k_values: Iterable[int] = DEFAULT_K,
) -> dict[str, float]:
    """The metric maths: per-user rankings (distinct item indices, best first) against per-user relevant items.

    Users with no target are skipped. `recommendable` is the item set coverage counts; None means the union of the
    rankings' top 25 (what `evaluate` uses)."""
    ks = _check_k_values(k_values)
    keys = metric_keys(ks)
    if len(rankings) != len(targets):
        raise ValueError(f"{len(rankings)} rankings for {len(targets)} target lists")
    kept = [i for i, t in enumerate(targets) if len(t)]
    if not kept:
        return dict.fromkeys(keys, 0.0)

    depth = max(MRR_DEPTH, ks[-1])
    n_users = len(kept)
    # Rankings padded with -1 into one matrix so every metric is a vectorised reduction over it.
    rows = [np.asarray(rankings[i], dtype=np.int64)[:depth] for i in kept]
    lengths = np.array([len(r) for r in rows], dtype=np.int64)
    ranked = np.full((n_users, depth), -1, dtype=np.int64)
    flat = np.concatenate(rows)
    if np.any(flat < 0):
        raise ValueError("rankings must hold non-negative item indices")
    ranked[np.arange(depth) < lengths[:, None]] = flat
    present = ranked >= 0
    ordered = np.sort(ranked, axis=1)
    if np.any((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)):
        raise ValueError("a ranking repeats an item")  # a repeat would count one relevant item twice

    # Membership of (user, item) pairs, encoded as user * width + item, decides every hit in one np.isin call.
    target_rows = [np.unique(np.asarray(targets[i], dtype=np.int64)) for i in kept]
    all_targets = np.concatenate(target_rows)
    if np.any(all_targets < 0):
        raise ValueError("targets must hold non-negative item indices")
    width = int(max(n_items_catalog, ranked.max() + 1, all_targets.max() + 1))
    owner = np.repeat(np.arange(n_users, dtype=np.int64), [len(t) for t in target_rows])
    target_keys = owner * width + all_targets
    hits = np.isin(np.arange(n_users, dtype=np.int64)[:, None] * width + ranked, target_keys) & present
    n_relevant = np.array([len(t) for t in target_rows], dtype=np.int64)

    discount = 1.0 / np.log2(np.arange(2, depth + 2, dtype=np.float64))
    ideal = np.cumsum(discount)
    # cumsum for both DCG and ideal DCG, so a perfect ranking gives exactly 1.0 rather than 1 +/- an ulp
    dcg = np.cumsum(hits * discount, axis=1)
    hit_counts = np.cumsum(hits, axis=1)

    top = hits[:, :MRR_DEPTH]
    reciprocal = np.where(top.any(axis=1), 1.0 / (np.argmax(top, axis=1) + 1), 0.0)

    if recommendable is None:
        head = ranked[:, :MRR_DEPTH]
        shown = np.unique(head[head >= 0])
    else:
        values = recommendable if isinstance(recommendable, np.ndarray) else list(recommendable)
        shown = np.unique(np.asarray(values, dtype=np.int64))
    n_shown = int(np.count_nonzero((shown >= 0) & (shown < n_items_catalog)))

    result = {
        "coverage": n_shown / n_items_catalog if n_items_catalog > 0 else 0.0,
        f"mean_reciprocal_rank_at_{MRR_DEPTH}": float(reciprocal.mean()),
    }
    for k in ks:
        ndcg = dcg[:, k - 1] / ideal[np.minimum(n_relevant, k) - 1]
        result[f"normalized_discounted_cumulative_gain_at_{k}"] = float(np.minimum(ndcg, 1.0).mean())
    for k in ks:
        result[f"precision_at_{k}"] = float((hit_counts[:, k - 1] / k).mean())
    return {key: result[key] for key in keys}


def _top(scores: np.ndarray, depth: int) -> list[np.ndarray]:
    """Each row's best `depth` item indices, best first, leaving out excluded (-inf) items."""
    n = scores.shape[1]
    kk = min(depth, n)
    if kk == 0:
        return [np.zeros(0, dtype=np.int64) for _ in range(scores.shape[0])]
    # argpartition on the ascending order: the last kk positions hold the kk largest scores
    part = np.argpartition(scores, n - kk, axis=1)[:, n - kk :] if kk < n else np.tile(np.arange(n), (len(scores), 1))
    values = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -values), axis=-1)  # score descending, then lower item index first
    part = np.take_along_axis(part, order, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    counts = np.count_nonzero(values > -np.inf, axis=1)  # excluded items sort last: cut them off
    return [part[r, : counts[r]].astype(np.int64) for r in range(len(part))]


def _check_k_values(k_values: Iterable[int]) -> tuple[int, ...]:
    given = list(k_values)
    ks = tuple(sorted({int(k) for k in given}))
    if not ks or ks[0] < 1:
        raise ValueError(f"k_values must be positive integers, got {given}")
    return ks
