"""Tests for the offline evaluation: the hold-out split, the ranking and the metric maths."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailor.training.base import InteractionData
from tailor.training.evaluation import (
    METRIC_KEYS,
    Split,
    calibrate_temperature,
    evaluate,
    metric_keys,
    metrics_for_rankings,
    split,
)


def make_data(histories: list[list[int]], n_items: int, n_users: int | None = None) -> InteractionData:
    """One list of item indices per user, oldest first; timestamps are unique across the whole data set."""
    n_users = len(histories) if n_users is None else n_users
    users = np.array([u for u, h in enumerate(histories) for _ in h], dtype=np.int32)
    items = np.array([i for h in histories for i in h], dtype=np.int32)
    timestamps = np.array([1_000 * u + j for u, h in enumerate(histories) for j in range(len(h))], dtype=np.int64)
    return InteractionData(
        user_ids=np.array([f"u{u}" for u in range(n_users)]),
        item_ids=np.array([f"i{i}" for i in range(n_items)]),
        users=users,
        items=items,
        timestamps=timestamps,
        weights=np.ones(len(users), dtype=np.float32),
        event_types=np.full(len(users), -1, dtype=np.int16),
    )


def random_data(seed: int, n_users: int = 60, n_items: int = 80, max_events: int = 30) -> InteractionData:
    rng = np.random.default_rng(seed)
    histories = [list(rng.integers(0, n_items, rng.integers(1, max_events + 1))) for _ in range(n_users)]
    return make_data(histories, n_items)


class ConstantModel:
    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        return self.scores

    def arrays(self) -> dict[str, np.ndarray]:
        return {"scores": self.scores}


class OracleModel:
    """Knows each test user's targets (looked up by their input history) and scores them `target_score`."""

    def __init__(self, data: InteractionData, sp: Split, target_score: float, input_score: float = 0.0) -> None:
        self.n_items = data.n_items
        self.target_score = target_score
        self.input_score = input_score
        self.by_history = {
            data.timestamps[idx].tobytes(): target for idx, target in zip(sp.inputs, sp.targets, strict=True)
        }

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        scores = np.linspace(0.5, 0.4, self.n_items)  # distinct middling scores for everything else
        scores[history_items] = self.input_score
        scores[self.by_history[history_times.tobytes()]] = self.target_score
        return scores

    def arrays(self) -> dict[str, np.ndarray]:
        return {}


# --- metric maths -----------------------------------------------------------------------------------------------


def test_metric_keys_are_personalizes() -> None:
    assert METRIC_KEYS == (
        "coverage",
        "mean_reciprocal_rank_at_25",
        "normalized_discounted_cumulative_gain_at_5",
        "normalized_discounted_cumulative_gain_at_10",
        "normalized_discounted_cumulative_gain_at_25",
        "precision_at_5",
        "precision_at_10",
        "precision_at_25",
    )
    assert metric_keys() == METRIC_KEYS
    assert metric_keys([10, 3, 3]) == (
        "coverage",
        "mean_reciprocal_rank_at_25",
        "normalized_discounted_cumulative_gain_at_3",
        "normalized_discounted_cumulative_gain_at_10",
        "precision_at_3",
        "precision_at_10",
    )


def test_dg_worked_example() -> None:
    # relevant items 7 and 9 at ranks 2 and 5 of the top 5
    metrics = metrics_for_rankings([np.array([1, 7, 2, 3, 9])], [np.array([7, 9])], 10, None)
    assert metrics["mean_reciprocal_rank_at_25"] == 0.5
    assert metrics["precision_at_5"] == pytest.approx(0.4)
    expected = (1 / math.log2(3) + 1 / math.log2(6)) / (1 / math.log2(2) + 1 / math.log2(3))
    assert metrics["normalized_discounted_cumulative_gain_at_5"] == pytest.approx(expected)
    assert round(metrics["normalized_discounted_cumulative_gain_at_5"], 4) == 0.6241
    # only 5 items were ranked: precision at 10 and 25 still divide by K
    assert metrics["precision_at_10"] == pytest.approx(0.2)
    assert metrics["precision_at_25"] == pytest.approx(0.08)
    assert metrics["coverage"] == 0.5


def test_ideal_dcg_uses_at_most_k_relevant_items() -> None:
    targets = np.arange(30)
    perfect = metrics_for_rankings([np.arange(25)], [targets], 100, None)
    assert all(perfect[k] == 1.0 for k in METRIC_KEYS if k != "coverage")
    single = metrics_for_rankings([np.array([4, 1, 2])], [np.array([4])], 100, None)
    assert single["normalized_discounted_cumulative_gain_at_5"] == 1.0
    assert single["precision_at_5"] == pytest.approx(0.2)


def test_miss_scores_zero_and_users_average() -> None:
    rankings = [np.array([0, 1, 2]), np.array([5, 6, 7])]
    metrics = metrics_for_rankings(rankings, [np.array([0]), np.array([99])], 100, None)
    assert metrics["mean_reciprocal_rank_at_25"] == 0.5
    assert metrics["normalized_discounted_cumulative_gain_at_10"] == 0.5
    assert metrics["precision_at_5"] == pytest.approx(0.1)


def test_first_relevant_item_past_25_does_not_count_for_mrr() -> None:
    ranking = np.arange(40)
    metrics = metrics_for_rankings([ranking], [np.array([30])], 100, None)
    assert metrics["mean_reciprocal_rank_at_25"] == 0.0
    assert metrics["precision_at_25"] == 0.0


def test_coverage_is_the_top_25_union_or_the_given_set() -> None:
    rankings = [np.array([0, 1, 2]), np.array([2, 3]), np.array([8, 9])]
    targets = [np.array([0]), np.array([5]), np.array([], dtype=np.int64)]  # the third user is skipped
    assert metrics_for_rankings(rankings, targets, 10, None)["coverage"] == pytest.approx(0.4)
    assert metrics_for_rankings(rankings, targets, 10, {1, 2, 3})["coverage"] == pytest.approx(0.3)
    assert metrics_for_rankings(rankings, targets, 10, np.array([1, 1, 12]))["coverage"] == pytest.approx(0.1)
    beyond = [np.arange(30)]
    assert metrics_for_rankings(beyond, [np.array([0])], 100, None)["coverage"] == pytest.approx(0.25)


def test_no_evaluable_user_gives_zeros() -> None:
    assert metrics_for_rankings([], [], 10, None) == dict.fromkeys(METRIC_KEYS, 0.0)
    empty = [np.array([], dtype=np.int64)]
    assert metrics_for_rankings([np.array([1])], empty, 10, {1}) == dict.fromkeys(METRIC_KEYS, 0.0)


def test_metric_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="repeats"):
        metrics_for_rankings([np.array([1, 2, 1])], [np.array([1])], 10, None)
    with pytest.raises(ValueError, match="rankings for"):
        metrics_for_rankings([np.array([1])], [], 10, None)
    with pytest.raises(ValueError, match="non-negative"):
        metrics_for_rankings([np.array([-1, 2])], [np.array([2])], 10, None)
    with pytest.raises(ValueError, match="k_values"):
        metrics_for_rankings([np.array([1])], [np.array([1])], 10, None, k_values=(0, 5))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.integers(0, 40), max_size=40, unique=True),
            st.lists(st.integers(0, 40), max_size=10),
        ),
        max_size=8,
    )
)
def test_metrics_always_in_unit_interval(cases: list[tuple[list[int], list[int]]]) -> None:
    rankings = [np.array(r, dtype=np.int64) for r, _ in cases]
    targets = [np.array(t, dtype=np.int64) for _, t in cases]
    metrics = metrics_for_rankings(rankings, targets, 41, None)
    assert tuple(metrics) == METRIC_KEYS
    assert all(0.0 <= v <= 1.0 for v in metrics.values())


# --- split ------------------------------------------------------------------------------------------------------


def test_split_cut_is_floor_90_percent_input_and_targets_are_deduplicated() -> None:
    # Only user 0 is eligible (user 1 has one event), so it is the one test user.
    cases = {
        2: ([5, 6], [0], [6]),
        10: ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], list(range(9)), [9]),
        11: ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], list(range(9)), [9, 10]),
        # newest two events repeat one item: one target
        20: ([*range(18), 30, 30], list(range(18)), [30]),
        # a newest item already in the input is dropped from the targets
        21: ([*range(18), 3, 31, 32], list(range(18)), [31, 32]),
    }
    for n, (history, expected_input, expected_targets) in cases.items():
        assert len(history) == n
        data = make_data([history, [1]], n_items=40)
        sp = split(data)
        assert sp.test_users.tolist() == [0]
        assert sp.inputs[0].tolist() == expected_input  # event indices into the original data
        assert sp.targets[0].tolist() == expected_targets
        assert data.items[sp.inputs[0]].tolist() == history[: len(expected_input)]


def test_user_whose_targets_all_appear_in_the_input_is_skipped() -> None:
    data = make_data([[1, 2, 3, 1], [0]], n_items=5)
    sp = split(data)
    assert sp.targets[0].size == 0
    assert sp.train.n_events == 1  # still held out of training
    scores = np.arange(5, dtype=np.float64)
    assert evaluate(ConstantModel(scores), data, sp) == dict.fromkeys(METRIC_KEYS, 0.0)


def test_split_is_deterministic_and_disjoint() -> None:
    data = random_data(1, n_users=200)
    first, again = split(data, seed=7), split(data, seed=7)
    assert np.array_equal(first.test_users, again.test_users)
    assert all(np.array_equal(a, b) for a, b in zip(first.inputs, again.inputs, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(first.targets, again.targets, strict=True))
    assert not np.array_equal(first.test_users, split(data, seed=8).test_users)

    counts = np.bincount(data.users, minlength=data.n_users)
    eligible = int(np.count_nonzero(counts >= 2))
    assert len(first.test_users) == max(1, math.floor(0.1 * eligible + 0.5))
    assert np.all(counts[first.test_users] >= 2)
    assert len(np.unique(first.test_users)) == len(first.test_users)

    train = first.train
    assert not np.isin(train.users, first.test_users).any()
    assert train.n_events == data.n_events - counts[first.test_users].sum()
    assert train.user_ids is data.user_ids and train.item_ids is data.item_ids
    for field in ("users", "items", "timestamps", "weights", "event_types"):
        assert len(getattr(train, field)) == train.n_events
    kept = ~np.isin(data.users, first.test_users)
    assert np.array_equal(train.items, data.items[kept])
    assert np.array_equal(train.timestamps, data.timestamps[kept])
    for user, idx in zip(first.test_users, first.inputs, strict=True):
        assert np.all(data.users[idx] == user)


def test_split_edge_cases() -> None:
    nobody = make_data([[1], [2], [3]], n_items=4)
    sp = split(nobody)
    assert sp.test_users.size == 0 and sp.inputs == [] and sp.train.n_events == 3
    assert evaluate(ConstantModel(np.zeros(4)), nobody, sp) == dict.fromkeys(METRIC_KEYS, 0.0)
    alone = make_data([[1, 2, 3]], n_items=4)  # the only user must stay in training
    assert split(alone).test_users.size == 0
    assert split(make_data([[1, 2], [2, 3]], n_items=4)).test_users.size == 1
    with pytest.raises(ValueError, match="test_fraction"):
        split(nobody, test_fraction=1.0)
    unsorted = make_data([[1, 2], [3, 1]], n_items=4)
    unsorted = InteractionData(
        unsorted.user_ids,
        unsorted.item_ids,
        unsorted.users[::-1].copy(),
        unsorted.items,
        unsorted.timestamps,
        unsorted.weights,
        unsorted.event_types,
    )
    with pytest.raises(ValueError, match="sorted"):
        split(unsorted)


# --- evaluate ---------------------------------------------------------------------------------------------------


def test_perfect_model_scores_one_where_achievable() -> None:
    data = random_data(2, n_users=100, n_items=200, max_events=60)
    sp = split(data, seed=3)
    # input items scored highest too: they must be excluded, not ranked above the targets
    metrics = evaluate(OracleModel(data, sp, target_score=1.0, input_score=2.0), data, sp)
    evaluated = [t for t in sp.targets if len(t)]
    assert evaluated
    assert metrics["mean_reciprocal_rank_at_25"] == 1.0
    for k in (5, 10, 25):
        assert metrics[f"normalized_discounted_cumulative_gain_at_{k}"] == pytest.approx(1.0)
        expected = np.mean([min(len(t), k) / k for t in evaluated])
        assert metrics[f"precision_at_{k}"] == pytest.approx(expected)


def test_model_ranking_targets_last_scores_zero() -> None:
    data = random_data(4, n_users=100, n_items=200, max_events=20)
    sp = split(data, seed=5)
    metrics = evaluate(OracleModel(data, sp, target_score=-1.0), data, sp)
    assert all(metrics[k] == 0.0 for k in METRIC_KEYS if k != "coverage")
    assert metrics["coverage"] > 0.0


def test_evaluate_coverage_and_ranking_exclude_the_input() -> None:
    data = make_data([[0, 1, 2, 3, 4, 5, 6, 7, 8, 29], [10, 11], [12, 13, 14]], n_items=30)
    sp = split(data, test_fraction=0.3)  # 0.3 * 3 eligible users rounds to 1
    assert len(sp.test_users) == 1
    scores = np.linspace(1.0, 0.0, 30)  # item 0 best
    model = ConstantModel(scores)
    metrics = evaluate(model, data, sp)
    assert np.array_equal(model.scores, np.linspace(1.0, 0.0, 30))  # the model's array is left alone
    input_items = set(data.items[sp.inputs[0]].tolist())
    top = [i for i in range(30) if i not in input_items][:25]
    assert metrics["coverage"] == pytest.approx(len(top) / 30)
    target = int(sp.targets[0][0])
    rank = top.index(target) + 1 if target in top else 0
    assert metrics["mean_reciprocal_rank_at_25"] == pytest.approx(1 / rank if rank else 0.0)


def test_small_catalog_and_nan_scores() -> None:
    data = make_data([[0, 1, 2, 3], [4, 0]], n_items=6)
    sp = split(data, test_fraction=0.5)
    nan_model = ConstantModel(np.full(6, np.nan))
    metrics = evaluate(nan_model, data, sp)
    # fewer candidates than 25: every non-input item is ranked, so the target is always found
    assert metrics["precision_at_25"] == pytest.approx(1 / 25)
    assert metrics["mean_reciprocal_rank_at_25"] > 0.0
    with pytest.raises(ValueError, match="shape"):
        evaluate(ConstantModel(np.zeros(5)), data, sp)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_random_model_metrics_in_unit_interval(data_seed: int, model_seed: int) -> None:
    data = random_data(data_seed, n_users=40, n_items=50, max_events=15)
    sp = split(data, seed=model_seed)
    rng = np.random.default_rng(model_seed)

    class RandomModel:
        def score(self, items: np.ndarray, weights: np.ndarray, times: np.ndarray) -> np.ndarray:
            return rng.normal(size=data.n_items)

        def arrays(self) -> dict[str, np.ndarray]:
            return {}

    metrics = evaluate(RandomModel(), data, sp)
    assert tuple(metrics) == METRIC_KEYS
    assert all(0.0 <= v <= 1.0 for v in metrics.values())


class NoisyOracle:
    """Scores each test user's targets `margin` above the rest, plus fixed noise: a known best temperature exists."""

    def __init__(self, data: InteractionData, sp: Split, margin: float) -> None:
        self.inner = OracleModel(data, sp, target_score=margin)
        self.noise = np.random.default_rng(0).normal(0.0, 0.3, data.n_items)

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        return np.asarray(self.inner.score(history_items, history_weights, history_times)) + self.noise

    def arrays(self) -> dict[str, np.ndarray]:
        return {}


def _mean_log_likelihood(model: NoisyOracle, data: InteractionData, sp: Split, temperature: float) -> float:
    total, count = 0.0, 0
    for inputs, targets in zip(sp.inputs, sp.targets, strict=True):
        if not len(targets):
            continue
        raw = model.score(data.items[inputs], data.weights[inputs], data.timestamps[inputs])
        scores = np.asarray(raw) / temperature
        candidates = np.setdiff1d(np.arange(data.n_items), data.items[inputs])
        log_z = np.log(np.sum(np.exp(scores[candidates] - scores.max()))) + scores.max()
        total += float(np.sum(scores[targets] - log_z))
        count += len(targets)
    return total / count


def test_calibrated_temperature_maximises_the_held_out_likelihood() -> None:
    # Given a model that scores held-out targets higher than the rest, with noise
    data = random_data(3, n_users=200, n_items=60)
    sp = split(data, seed=1)
    model = NoisyOracle(data, sp, margin=2.0)
    # When the temperature is calibrated
    t = calibrate_temperature(model, data, sp)
    # Then no nearby temperature explains the targets better
    best = _mean_log_likelihood(model, data, sp, t)
    for other in (t / 1.5, t / 1.1, t * 1.1, t * 1.5):
        assert _mean_log_likelihood(model, data, sp, other) <= best + 1e-9


def test_temperature_is_one_when_nothing_can_be_calibrated() -> None:
    data = random_data(4, n_users=20, n_items=10)
    sp = split(data, seed=1)
    assert calibrate_temperature(ConstantModel(np.zeros(10)), data, sp) == 1.0
    assert calibrate_temperature(ConstantModel(np.arange(10.0)), data, Split(data, np.zeros(0, np.int64), [], [])) \
        == 1.0
