"""aws-sims and aws-similar-items on small catalogs whose neighbours are known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tailor.training.base import InteractionData, Model, Recipe, TrainingFailed
from tailor.training.recipes import related
from tailor.training.recipes.related import SimilarItems, Sims
from tests.unit.test_recipes import (
    BLOCK_SIZE,
    BLOCKS,
    COLD,
    N_ITEMS,
    best_unseen,
    block_data,
    history,
    make_data,
    round_trip,
)

RECIPES: list[Recipe] = [Sims(), SimilarItems()]
COLD_IN_BLOCK_1, COLD_BARE = N_ITEMS - COLD, N_ITEMS - 1  # catalog items without events


def neighbours_of(model: Model, item: int) -> np.ndarray:
    """The items a RELATED_ITEMS request about `item` ranks above the popularity fallback, best first."""
    scores = model.score(*history(item))
    ranked = np.argsort(-scores, kind="stable")
    return ranked[scores[ranked] > related.NEIGHBOUR_TIER]


def with_metadata(data: InteractionData) -> InteractionData:
    """Block data plus a GENRE per block ('G1|new' for the first cold item, none for the second) and a PRICE that
    rises block by block (none for the first cold item, 5 for the second)."""
    genre = np.array([f"g{i // BLOCK_SIZE}" for i in range(BLOCKS * BLOCK_SIZE)] + ["G1|new", ""])
    price = np.array(
        [10.0 * (i // BLOCK_SIZE) + 0.1 * (i % BLOCK_SIZE) for i in range(BLOCKS * BLOCK_SIZE)] + [np.nan, 5]
    )
    return dataclasses.replace(data, item_features={"GENRE": genre, "PRICE": price})


@pytest.fixture(scope="module")
def data() -> InteractionData:
    return block_data()


@pytest.fixture(scope="module", params=RECIPES, ids=lambda recipe: recipe.name)
def recipe(request: pytest.FixtureRequest) -> Recipe:
    chosen: Recipe = request.param
    return chosen


# ---- both recipes ----------------------------------------------------------------------------------------------------


def test_an_items_neighbours_are_in_its_block(recipe: Recipe, data: InteractionData) -> None:
    # Given a model fitted on users who each stay within one block
    model = recipe.fit(data, {})
    for item in range(BLOCKS * BLOCK_SIZE):
        # When a RELATED_ITEMS request asks about one item
        found = neighbours_of(model, item)
        # Then every neighbour is another item of its block, and some are
        assert len(found) > 0
        assert np.all(found // BLOCK_SIZE == item // BLOCK_SIZE) and item not in found


def test_a_longer_history_favours_its_newest_item(recipe: Recipe, data: InteractionData) -> None:
    model = recipe.fit(data, {"recency_half_life": "1"})
    old, new = 2, BLOCK_SIZE + 2  # same position in blocks 0 and 1
    for first, second in [(old, new), (new, old)]:
        assert best_unseen(model.score(*history(first, second)), (first, second)) // BLOCK_SIZE == second // BLOCK_SIZE


def test_scores_are_finite_one_per_item(recipe: Recipe, data: InteractionData) -> None:
    model = recipe.fit(data, {})
    for seen in [(), (0,), (3, 9, 17), (COLD_IN_BLOCK_1,), (-1,), (N_ITEMS + 3, 4)]:
        scores = model.score(*history(*seen))
        assert scores.shape == (N_ITEMS,) and np.all(np.isfinite(scores))


def test_the_asked_item_is_never_its_own_answer(recipe: Recipe, data: InteractionData) -> None:
    model = recipe.fit(data, {})
    for item in (3, COLD_BARE):  # the most popular item, and one that falls back to popularity
        scores = model.score(*history(item))
        assert scores[item] < scores[np.arange(N_ITEMS) != item].min()


def test_saved_model_scores_the_same(recipe: Recipe, data: InteractionData) -> None:
    model = recipe.fit(with_metadata(data), {})
    loaded = round_trip(recipe, model)
    for seen in [(), (1,), (9, 10, 11), (COLD_IN_BLOCK_1,), (-1,)]:
        np.testing.assert_array_equal(loaded.score(*history(*seen)), model.score(*history(*seen)))


@pytest.mark.parametrize("chunk_cells", [10**9, 3 * N_ITEMS, 1])
def test_sparse_and_chunked_selection_match_the_dense_one(
    recipe: Recipe, data: InteractionData, monkeypatch: pytest.MonkeyPatch, chunk_cells: int
) -> None:
    # Given the block data, where every chunk is dense enough to be selected as a dense matrix
    rich = with_metadata(data)
    dense = recipe.fit(rich, {}).arrays()
    # When every chunk is selected sparse instead, whole or 3 rows or 1 row at a time
    monkeypatch.setattr(related, "_DENSE_SHARE", 2.0)
    monkeypatch.setattr(related, "_CHUNK_CELLS", chunk_cells)
    sparse = recipe.fit(rich, {}).arrays()
    # Then the neighbour lists are the same
    for name in dense:
        np.testing.assert_array_equal(sparse[name], dense[name])


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("popularity_discount_factor", "1.5"),
        ("popularity_discount_factor", "much"),
        ("min_cointeraction_count", "11"),
        ("min_cointeraction_count", "2.5"),
        ("neighbours", "0"),
        ("history_length_discount", "-1"),
        ("recency_half_life", "nan"),
    ],
)
def test_bad_hyper_parameter_is_refused_by_name(recipe: Recipe, data: InteractionData, name: str, value: str) -> None:
    with pytest.raises(TrainingFailed, match=name) as failure:
        recipe.fit(data, {name: value})
    assert value in failure.value.reason


def test_unknown_hyper_parameter_is_refused(recipe: Recipe, data: InteractionData) -> None:
    with pytest.raises(TrainingFailed, match="no_such_parameter"):
        recipe.fit(data, {"no_such_parameter": "1"})


# ---- aws-sims --------------------------------------------------------------------------------------------------------


def assert_popularity_order(scores: np.ndarray, data: InteractionData, leave_out: tuple[int, ...] = ()) -> None:
    """The scores rank the catalog (but `leave_out`) as popularity does, ties aside."""
    counts = np.bincount(data.items, minlength=N_ITEMS)
    rest = np.setdiff1d(np.arange(N_ITEMS), leave_out)
    ranked = rest[np.argsort(-scores[rest], kind="stable")]
    assert np.all(np.diff(counts[ranked]) <= 0)


def test_unknown_or_cold_item_gets_the_popular_items(data: InteractionData) -> None:
    model = Sims().fit(data, {})
    # An item outside the catalog, or no item at all: the catalog by popularity
    for seen in [(-1,), (N_ITEMS + 5,), ()]:
        assert_popularity_order(model.score(*history(*seen)), data)
    # A cold item (in the catalog, no events): the others by popularity
    assert_popularity_order(model.score(*history(COLD_IN_BLOCK_1)), data, leave_out=(COLD_IN_BLOCK_1,))
    assert len(neighbours_of(model, COLD_IN_BLOCK_1)) == 0


def test_too_few_cointeractions_fall_back_to_popularity() -> None:
    # Given items 0 and 1 watched together by five users, 2 and 3 by two users, and 4 by one user alone
    users = [u for u in range(5) for _ in range(2)] + [5, 5, 6, 6, 7]
    items = [0, 1] * 5 + [2, 3, 2, 3, 4]
    data = make_data(users, items, list(range(len(users))))
    # When at least three users must share a pair (Personalize's default)
    model = Sims().fit(data, {})
    # Then 0 and 1 are each other's neighbours, and 2 has none: it gets the popular items (0 and 1) first
    assert list(neighbours_of(model, 0)) == [1]
    assert len(neighbours_of(model, 2)) == 0 and int(np.argmax(model.score(*history(2)))) in (0, 1)
    # And with two users enough, 3 is 2's neighbour
    assert list(neighbours_of(Sims().fit(data, {"min_cointeraction_count": "2"}), 2)) == [3]


def test_popularity_discount_demotes_a_popular_item() -> None:
    # Given an item Q whose 6 users all also watched the popular item P (30 users), and 4 of them the niche item N
    q, p, n = 0, 1, 2
    users, items = [], []
    for user in range(30):
        watched = [p] + ([q] if user < 6 else []) + ([n] if user < 4 else [])
        users += [user] * len(watched)
        items += watched
    data = make_data(users, items, list(range(len(users))))
    params = {"history_length_discount": "0"}  # every user counts alike, so the counts above are C
    # When popularity is not discounted, the co-count decides: P (6) before N (4)
    assert list(neighbours_of(Sims().fit(data, {**params, "popularity_discount_factor": "0"}), q)) == [p, n]
    # And with Personalize's default 0.5 (cosine) or full discount, the niche item comes first
    for discount in ("0.5", "1"):
        model = Sims().fit(data, {**params, "popularity_discount_factor": discount})
        assert list(neighbours_of(model, q)) == [n, p]
    assert list(neighbours_of(Sims().fit(data, {}), q)) == [n, p]


def test_event_weights_count_users_not_weight_for_the_minimum() -> None:
    # Two users share items 0 and 1 with heavy events: still only two users, under the minimum of three
    data = make_data([0, 0, 1, 1], [0, 1, 0, 1], [1, 2, 3, 4], weights=[5.0, 5.0, 5.0, 5.0])
    assert len(neighbours_of(Sims().fit(data, {}), 0)) == 0
    assert list(neighbours_of(Sims().fit(data, {"min_cointeraction_count": "2"}), 0)) == [1]


def test_featurization_percentiles_are_accepted_and_checked(data: InteractionData) -> None:
    params = {"min_user_history_length_percentile": "0.05", "max_user_history_length_percentile": "0.95"}
    model = Sims().fit(data, {**params, "max_item_interaction_count_percentile": "0.9"})
    assert np.all(np.isfinite(model.score(*history(0))))
    for low, high in [
        ("min_user_history_length_percentile", "max_user_history_length_percentile"),
        ("min_item_interaction_count_percentile", "max_item_interaction_count_percentile"),
    ]:
        with pytest.raises(TrainingFailed, match=low):
            Sims().fit(data, {low: "0.8", high: "0.2"})


def test_leaving_out_the_most_popular_items_leaves_them_no_neighbours(data: InteractionData) -> None:
    # Items 3 and 4 of every block have the most events; a 0.8 maximum percentile leaves them out of co-occurrence
    model = Sims().fit(data, {"max_item_interaction_count_percentile": "0.8"})
    counts = np.bincount(data.items, minlength=N_ITEMS)
    top = int(np.argmax(counts))
    assert len(neighbours_of(model, top)) == 0
    assert top not in neighbours_of(model, top + 1)


# ---- aws-similar-items -----------------------------------------------------------------------------------------------


def test_cold_item_gets_its_metadata_neighbours(data: InteractionData) -> None:
    # Given a cold item sharing block 1's genre (upper case, multi-valued) and the second cold item with no genre
    model = SimilarItems().fit(with_metadata(data), {})
    # Then the first gets block 1's items, the most popular first among equals, and the second the popular items
    found = neighbours_of(model, COLD_IN_BLOCK_1)
    assert len(found) == BLOCK_SIZE and np.all(found // BLOCK_SIZE == 1)
    counts = np.bincount(data.items, minlength=N_ITEMS)
    assert np.all(np.diff(counts[found]) <= 0)
    assert len(neighbours_of(model, COLD_BARE)) > 0  # its price (5) shares a decile with block 1's cheapest item


def test_numeric_metadata_alone_finds_neighbours(data: InteractionData) -> None:
    # Prices 0-7, 100-107 and 200-207 by block, the first cold item 103.5, cut into 3 quantile buckets
    price = np.array([100.0 * (i // BLOCK_SIZE) + i % BLOCK_SIZE for i in range(BLOCKS * BLOCK_SIZE)] + [103.5, np.nan])
    model = SimilarItems().fit(dataclasses.replace(data, item_features={"PRICE": price}), {"numeric_buckets": "3"})
    found = neighbours_of(model, COLD_IN_BLOCK_1)
    assert len(found) > 0 and np.all(found // BLOCK_SIZE == 1)
    assert len(neighbours_of(model, COLD_BARE)) == 0  # no events, no price


def test_warm_items_list_the_cold_item_after_their_cooccurring_ones(data: InteractionData) -> None:
    rich = with_metadata(data)
    model = SimilarItems().fit(rich, {})
    found = list(neighbours_of(model, BLOCK_SIZE + 3))
    assert COLD_IN_BLOCK_1 in found and found.index(COLD_IN_BLOCK_1) >= 1
    # With no metadata weight the model is Sims': the cold item is nobody's neighbour
    bare = SimilarItems().fit(rich, {"metadata_weight": "0"})
    assert all(COLD_IN_BLOCK_1 not in neighbours_of(bare, item) for item in range(BLOCKS * BLOCK_SIZE))


def test_without_metadata_it_is_sims(data: InteractionData) -> None:
    similar, sims = SimilarItems().fit(data, {}), Sims().fit(data, {})
    for seen in [(0,), (9, 10), (COLD_IN_BLOCK_1,)]:
        np.testing.assert_array_equal(similar.score(*history(*seen)), sims.score(*history(*seen)))


def test_personalize_hyper_parameters_are_accepted(data: InteractionData) -> None:
    params = {
        "item_id_hidden_dimension": "64",
        "item_metadata_hidden_dimension": "32",
        "popularity_discount_factor": "0.3",
    }
    model = SimilarItems().fit(with_metadata(data), params)
    assert np.all(np.isfinite(model.score(*history(0))))
    with pytest.raises(TrainingFailed, match="item_id_hidden_dimension"):
        SimilarItems().fit(data, {"item_id_hidden_dimension": "10"})
    with pytest.raises(TrainingFailed, match="metadata_weight"):
        SimilarItems().fit(data, {"metadata_weight": "2"})
