"""Every recipe on a synthetic catalog whose right answer is known, plus each recipe's own behaviour."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest

from tailor.training.base import InteractionData, Model, Recipe, TrainingFailed
from tailor.training.recipes import RECIPES, get_recipe

# Which recipes read the user's history. A new recipe must be listed here before the shared test will pass it.
PERSONALISED = {
    "aws-popularity-count": False,
    "aws-user-personalization": True,
    "aws-trending-now": False,
    "aws-personalized-ranking": True,
    "aws-hrnn": True,
    "aws-hrnn-metadata": True,
    "aws-hrnn-coldstart": True,
    "aws-sims": True,
    "aws-similar-items": True,
    "aws-item-affinity": True,
    "aws-item-attribute-affinity": True,
}

BLOCKS, BLOCK_SIZE, RUN, USERS_PER_BLOCK, COLD = 3, 8, 5, 12, 2
N_ITEMS = BLOCKS * BLOCK_SIZE + COLD  # the last COLD items are in the catalog but have no events


def block_data() -> InteractionData:
    """Users of block g see only block g's items, in runs where the next item is always item + 1.

    User k of block g watches RUN consecutive items starting at offset k mod (BLOCK_SIZE - RUN + 1), so items 3 and 4
    of each block are seen most. Block 0 has one extra user watching items 0-3, which makes item 3 the single most
    popular item."""
    users: list[int] = []
    items: list[int] = []
    times: list[int] = []
    user = 0
    for block in range(BLOCKS):
        for k in range(USERS_PER_BLOCK + (block == 0)):
            start = block * BLOCK_SIZE + k % (BLOCK_SIZE - RUN + 1)
            run = RUN if k < USERS_PER_BLOCK else RUN - 1
            users += [user] * run
            items += range(start, start + run)
            times += range(1_700_000_000 + user * 100, 1_700_000_000 + user * 100 + run)
            user += 1
    return make_data(users, items, times)


def make_data(
    users: list[int], items: list[int], times: list[int], weights: list[float] | None = None
) -> InteractionData:
    n = len(users)
    return InteractionData(
        user_ids=np.array([f"u{u}" for u in range(max(users, default=0) + 1)]),
        item_ids=np.array([f"i{i}" for i in range(N_ITEMS)]),
        users=np.array(users, dtype=np.int32),
        items=np.array(items, dtype=np.int32),
        timestamps=np.array(times, dtype=np.int64),
        weights=np.ones(n, dtype=np.float32) if weights is None else np.array(weights, dtype=np.float32),
        event_types=np.full(n, -1, dtype=np.int16),
    )


def history(*items: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(items)
    return np.array(items, dtype=np.int32), np.ones(n, dtype=np.float32), np.arange(n, dtype=np.int64) + 1_800_000_000


def best_unseen(scores: np.ndarray, seen: tuple[int, ...]) -> int:
    masked = scores.copy()
    masked[list(seen)] = -np.inf
    return int(np.argmax(masked))


@pytest.fixture(scope="module")
def data() -> InteractionData:
    return block_data()


@pytest.fixture(scope="module", params=sorted(RECIPES))
def fitted(request: pytest.FixtureRequest, data: InteractionData) -> tuple[Recipe, Model]:
    recipe = RECIPES[request.param]
    return recipe, recipe.fit(data, {})


# ---- the shared test every recipe passes -------------------------------------------------------------------------


def test_every_recipe_is_classified() -> None:
    assert set(RECIPES) == set(PERSONALISED)


def test_recommends_the_right_items(fitted: tuple[Recipe, Model], data: InteractionData) -> None:
    # Given a user whose history is the first two items of block g
    recipe, model = fitted
    counts = np.bincount(data.items, minlength=N_ITEMS)
    for block in range(BLOCKS):
        seen = (block * BLOCK_SIZE, block * BLOCK_SIZE + 1)
        # When the model scores the catalog
        scores = model.score(*history(*seen))
        # Then a personalised recipe puts an unseen item of the same block first; popularity its most popular item
        top = best_unseen(scores, seen)
        if PERSONALISED[recipe.name]:
            assert top // BLOCK_SIZE == block and top not in seen
        else:
            assert counts[top] == counts.max() and np.sum(counts == counts.max()) == 1


def test_scores_are_finite_for_every_item(fitted: tuple[Recipe, Model]) -> None:
    _, model = fitted
    for seen in [(), (0,), (3, 9, 17), (N_ITEMS - 1,)]:
        scores = model.score(*history(*seen))
        assert scores.shape == (N_ITEMS,) and np.all(np.isfinite(scores))


@pytest.mark.parametrize("n_events", [0, 1])
def test_fits_and_scores_almost_no_data(fitted: tuple[Recipe, Model], n_events: int) -> None:
    # The minimum-data rule is enforced before training; a recipe still must not crash below it.
    recipe, _ = fitted
    model = recipe.fit(make_data([0] * n_events, [5] * n_events, [1] * n_events), {})
    for seen in [(), (5,), (5, 6)]:
        scores = model.score(*history(*seen))
        assert scores.shape == (N_ITEMS,) and np.all(np.isfinite(scores))


def round_trip(recipe: Any, model: Model) -> Any:
    """The model saved as an artifact is (np.savez) and loaded back without pickle, by its recipe."""
    buffer = io.BytesIO()
    saved: dict[str, Any] = model.arrays()  # Any: numpy's stub would read ** as its allow_pickle flag
    np.savez(buffer, **saved)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as arrays:
        return recipe.load({name: arrays[name] for name in arrays.files})


def test_saved_model_scores_the_same(fitted: tuple[Recipe, Model]) -> None:
    # Given a fitted model saved the way an artifact is, when it is loaded without pickle
    recipe, model = fitted
    loaded = round_trip(recipe, model)
    # Then it scores every history exactly as before
    for seen in [(), (1, 2), (9, 10, 11)]:
        np.testing.assert_array_equal(loaded.score(*history(*seen)), model.score(*history(*seen)))


def test_unknown_hyper_parameter_is_refused(fitted: tuple[Recipe, Model], data: InteractionData) -> None:
    recipe, _ = fitted
    with pytest.raises(TrainingFailed, match="no_such_parameter"):
        recipe.fit(data, {"no_such_parameter": "1"})


# ---- the registry --------------------------------------------------------------------------------------------------


def test_get_recipe_by_name_or_arn() -> None:
    assert get_recipe("aws-user-personalization").name == "aws-user-personalization"
    assert get_recipe("arn:aws:personalize:::recipe/aws-popularity-count").name == "aws-popularity-count"


def test_get_recipe_refuses_an_unsupported_recipe() -> None:
    with pytest.raises(TrainingFailed, match="aws-not-a-recipe"):
        get_recipe("aws-not-a-recipe")


# ---- aws-popularity-count ------------------------------------------------------------------------------------------


def test_popularity_counts_weighted_events() -> None:
    # Given item 1 viewed twice (weight 1) and item 2 bought once (weight 3)
    data = make_data([0, 0, 1, 1], [1, 2, 1, 0], [1, 2, 3, 4], weights=[1.0, 3.0, 1.0, 0.5])
    # When popularity is fitted
    model = get_recipe("aws-popularity-count").fit(data, {})
    # Then each item scores its summed event-type weights, whatever the history
    expected = np.zeros(N_ITEMS)
    expected[:3] = [0.5, 2.0, 3.0]
    np.testing.assert_array_equal(model.score(*history(2)), expected)
    np.testing.assert_array_equal(model.score(*history()), expected)


# ---- aws-user-personalization --------------------------------------------------------------------------------------


def test_sequential_term_ranks_the_next_item_first(data: InteractionData) -> None:
    model = get_recipe("aws-user-personalization").fit(data, {})
    for block in range(BLOCKS):
        for last in range(BLOCK_SIZE - 1):
            item = block * BLOCK_SIZE + last
            seen = (item,) if last == 0 else (item - 1, item)
            assert best_unseen(model.score(*history(*seen)), seen) == item + 1


def test_transitions_keep_the_most_likely_successors_with_their_share_of_the_row() -> None:
    # Given item 0 followed by item 1 three times and by item 2 once (next event only: bptt 1)
    data = make_data([0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 0, 1, 0, 1, 0, 2], list(range(8)))
    params = {"bptt": "1", "lambda": "1", "popularity_weight": "0", "recency_mask": "false"}
    full = get_recipe("aws-user-personalization").fit(data, params)
    bounded = get_recipe("aws-user-personalization").fit(data, {**params, "max_successors": "1"})
    # Then the full model keeps both with their probabilities, the bounded one only item 1 with its 3/4
    np.testing.assert_allclose(full.arrays()["seq_data"][:2], [0.75, 0.25])
    np.testing.assert_array_equal(full.arrays()["seq_indices"][:2], [1, 2])
    np.testing.assert_array_equal(bounded.arrays()["seq_indices"], [1])
    np.testing.assert_allclose(bounded.arrays()["seq_data"], [0.75])
    # And scoring a history of item 0 still puts item 1 first
    assert best_unseen(bounded.score(*history(0)), (0,)) == 1


def test_repeats_of_an_item_do_not_age_the_history(data: InteractionData) -> None:
    # Given a user who clicked then watched each item (two events per item, as in Personalize's POC data)
    model = get_recipe("aws-user-personalization").fit(data, {})
    once, twice = history(2, 3, 4), history(2, 2, 3, 3, 4, 4)
    # Then the scores are those of the same items seen once: repeats are not extra steps back in time
    np.testing.assert_allclose(model.score(*twice), model.score(*once))
    # And a repeat keeps the item at its first position, with its heaviest weight
    reweighted = (np.array([2, 3, 2]), np.array([1.0, 1.0, 3.0]), np.arange(3))
    expected = model.score(np.array([2, 3]), np.array([3.0, 1.0]), np.arange(2))
    np.testing.assert_allclose(model.score(*reweighted), expected)


def test_newest_items_neighbours_outrank_an_old_items(data: InteractionData) -> None:
    # Given EASE alone, so only the recency weighting can tell the two history items apart
    model = get_recipe("aws-user-personalization").fit(data, {"sequential_weight": "0", "recency_half_life": "1"})
    old, new = 2, BLOCK_SIZE + 2  # same position in blocks 0 and 1
    for first, second in [(old, new), (new, old)]:
        # When the same two items come in either order
        scores = model.score(*history(first, second))
        # Then the newest item's block wins
        assert best_unseen(scores, (first, second)) // BLOCK_SIZE == second // BLOCK_SIZE


def test_recency_mask_false_weighs_the_history_equally(data: InteractionData) -> None:
    model = get_recipe("aws-user-personalization").fit(data, {"sequential_weight": "0", "recency_mask": "False"})
    a, b = model.score(*history(2, BLOCK_SIZE + 2)), model.score(*history(BLOCK_SIZE + 2, 2))
    np.testing.assert_allclose(a, b)


def test_cold_items_score_zero(data: InteractionData) -> None:
    model = get_recipe("aws-user-personalization").fit(data, {})
    assert np.all(model.score(*history(0, 1, 2))[-COLD:] == 0)


def test_personalize_hyper_parameters_are_accepted(data: InteractionData) -> None:
    params = {"hidden_dimension": "64", "bptt": "22", "recency_mask": "true"}
    model = get_recipe("aws-user-personalization").fit(data, params)
    assert np.all(np.isfinite(model.score(*history(0, 1))))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("lambda", "0"),
        ("lambda", "many"),
        ("recency_half_life", "-1"),
        ("recency_mask", "maybe"),
        ("sequential_weight", "nan"),
        ("sequential_decay", "1.5"),
        ("bptt", "0"),
        ("bptt", "2.5"),
        ("hidden_dimension", "x"),
    ],
)
def test_bad_hyper_parameter_is_refused_by_name(data: InteractionData, name: str, value: str) -> None:
    with pytest.raises(TrainingFailed, match=name) as failure:
        get_recipe("aws-user-personalization").fit(data, {name: value})
    assert value in failure.value.reason


def test_ease_part_is_the_closed_form(data: InteractionData) -> None:
    # Given EASE alone on the block data
    params = {"sequential_weight": "0", "popularity_weight": "0", "recency_mask": "false", "lambda": "5"}
    model = get_recipe("aws-user-personalization").fit(data, params)
    # Then a history scores x·B with B = I - P·diag(1/diag(P)), P = (XᵀX + λI)⁻¹ over the items that have events
    x = np.zeros((data.n_users, N_ITEMS))
    x[data.users, data.items] = 1.0
    warm = np.flatnonzero(x.sum(axis=0))
    p = np.linalg.inv(x[:, warm].T @ x[:, warm] + 5.0 * np.eye(len(warm)))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    expected = np.zeros(N_ITEMS)
    expected[warm] = b[[0, 9]].sum(axis=0)
    # (B is computed in single precision, hence the tolerance)
    np.testing.assert_allclose(model.score(*history(0, 9)), expected, rtol=1e-4, atol=1e-5)


def test_unknown_item_indices_in_the_history_are_ignored(data: InteractionData) -> None:
    model = get_recipe("aws-user-personalization").fit(data, {})
    with_unknown = model.score(np.array([-1, 1, N_ITEMS + 3]), np.ones(3), np.arange(3))
    # The unknown events still count as events: item 1 is one event old either way.
    np.testing.assert_allclose(with_unknown, model.score(np.array([1, -1]), np.ones(2), np.arange(2)))
