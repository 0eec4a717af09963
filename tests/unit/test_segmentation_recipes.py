"""aws-item-affinity and aws-item-attribute-affinity: segments of users for items and item-attribute queries."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tailor.training.base import InteractionData, TrainingFailed
from tailor.training.recipes.segmentation import (
    ItemAffinity,
    ItemAffinityModel,
    ItemAttributeAffinity,
    ItemAttributeAffinityModel,
    parse_item_attributes,
)
from tests.unit.test_recipes import BLOCK_SIZE, BLOCKS, N_ITEMS, block_data, make_data, round_trip

GENRES = ("Comedy", "Action|Drama", "Horror")  # block g's items carry GENRES[g]; cold items have none


def _block_of_user(data: InteractionData) -> np.ndarray:
    return np.bincount(data.users, weights=data.items // BLOCK_SIZE, minlength=data.n_users) // np.bincount(
        data.users, minlength=data.n_users
    )


@pytest.fixture(scope="module")
def data() -> InteractionData:
    base = block_data()
    genres = np.array([GENRES[i // BLOCK_SIZE] if i < BLOCKS * BLOCK_SIZE else "" for i in range(N_ITEMS)])
    year = np.array([2000.0 + i % 2 for i in range(N_ITEMS)])
    return dataclasses.replace(base, item_features={"GENRES": genres, "YEAR": year})


@pytest.fixture(scope="module")
def item_model(data: InteractionData) -> ItemAffinityModel:
    return ItemAffinity().fit(data, {})


@pytest.fixture(scope="module")
def attribute_model(data: InteractionData) -> ItemAttributeAffinityModel:
    return ItemAttributeAffinity().fit(data, {})


def test_users_of_an_items_block_rank_first(item_model: ItemAffinityModel, data: InteractionData) -> None:
    blocks = _block_of_user(data)
    for block in range(BLOCKS):
        for offset in (0, 4, BLOCK_SIZE - 1):
            item = block * BLOCK_SIZE + offset
            in_block = int(np.sum(blocks == block))
            users, scores = item_model.users_for_items(np.array([item]), in_block)
            assert len(users) == in_block and np.all(blocks[users] == block)
            assert np.all(np.diff(scores) <= 0)


def test_affinity_is_the_users_score_for_the_item(item_model: ItemAffinityModel, data: InteractionData) -> None:
    # Each user's affinity is exactly what score() gives the item for that user's training history.
    items = np.array([3, 12])
    affinity = item_model.affinity(items, np.ones(2))
    for user in range(data.n_users):
        mine = data.users == user
        scores = item_model.score(data.items[mine], data.weights[mine], data.timestamps[mine])
        assert affinity[user] == pytest.approx(scores[items].sum(), rel=1e-6, abs=1e-9)  # B is float32


def test_all_users_are_ranked_and_ties_are_deterministic(item_model: ItemAffinityModel, data: InteractionData) -> None:
    users, scores = item_model.users_for_items(np.array([N_ITEMS - 1]), 1000)  # a cold item: every user ties
    assert sorted(users.tolist()) == list(range(data.n_users))
    assert np.all(scores == scores[0])
    counts = np.bincount(data.users, minlength=data.n_users)
    assert np.all(np.diff(counts[users]) <= 0)  # the most active users first
    assert item_model.users_for_items(np.array([], dtype=np.int64), 5)[0].size == 0
    with pytest.raises(ValueError, match="Item indices"):
        item_model.users_for_items(np.array([N_ITEMS]), 5)


def test_attribute_query_ranks_the_matching_block_first(
    attribute_model: ItemAttributeAffinityModel, data: InteractionData
) -> None:
    blocks = _block_of_user(data)
    for block, query in enumerate(['ITEMS.GENRES = "Comedy"', 'items.genres = "drama"', 'ITEMS.GENRES = "Horror"']):
        in_block = int(np.sum(blocks == block))
        users, _ = attribute_model.users_for_query(query, in_block)
        assert np.all(blocks[users] == block)
        mask = parse_item_attributes(query, data)
        np.testing.assert_array_equal(users, attribute_model.users_for_attributes(mask, in_block)[0])
    assert attribute_model.users_for_query('ITEMS.GENRES = "Western"', 5)[0].size == 0


def test_parser_and_or_and_multi_values(data: InteractionData) -> None:
    def items(query: str) -> list[int]:
        return np.flatnonzero(parse_item_attributes(query, data)).tolist()

    block = [list(range(g * BLOCK_SIZE, (g + 1) * BLOCK_SIZE)) for g in range(BLOCKS)]
    assert items('ITEMS.GENRES = "Action"') == block[1]  # any part of 'Action|Drama'
    assert items('ITEMS.GENRES = "Action" AND ITEMS.GENRES = "Drama"') == block[1]
    assert items('ITEMS.GENRES = "Comedy" and ITEMS.GENRES = "Action"') == []
    assert items('ITEMS.GENRES = "Comedy" OR ITEMS.GENRES = "Horror"') == block[0] + block[2]
    # AND binds tighter than OR; parentheses regroup.
    assert items('ITEMS.GENRES = "Comedy" OR ITEMS.GENRES = "Horror" AND ITEMS.YEAR = "2001"') == block[0] + [
        i for i in block[2] if i % 2
    ]
    assert items('(ITEMS.GENRES = "Comedy" OR ITEMS.GENRES = "Horror") AND ITEMS.YEAR = "2001"') == [
        i for i in block[0] + block[2] if i % 2
    ]
    assert items(r'ITEMS.GENRES = "Com\"edy"') == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty"),
        ('ITEMS.COLOUR = "red"', "Unknown item field 'COLOUR'.*GENRES, YEAR"),
        ('USERS.GENRES = "Comedy"', "Expected ITEMS"),
        ('ITEMS.GENRES "Comedy"', 'Expected "="'),
        ("ITEMS.GENRES = Comedy", "double-quoted"),
        ('ITEMS.GENRES = "Comedy" AND', "ends where"),
        ('ITEMS.GENRES = "Comedy" ITEMS.YEAR = "2000"', "Unexpected 'ITEMS.YEAR'"),
        ('(ITEMS.GENRES = "Comedy"', "ends where"),
        ('ITEMS.GENRES = "Comedy" & ITEMS.YEAR = "2000"', "Unexpected character '&' at position 24"),
        ('ITEMS.YEAR = "recent"', "numeric"),
    ],
)
def test_parser_refuses_bad_queries(data: InteractionData, query: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_item_attributes(query, data)


def test_saved_models_give_the_same_segments(
    item_model: ItemAffinityModel, attribute_model: ItemAttributeAffinityModel
) -> None:
    loaded = round_trip(ItemAffinity(), item_model)
    for items in ([0], [9, 10], [N_ITEMS - 1]):
        got, want = loaded.users_for_items(np.array(items), 7), item_model.users_for_items(np.array(items), 7)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    loaded_attr = round_trip(ItemAttributeAffinity(), attribute_model)
    query = 'ITEMS.GENRES = "Drama" OR ITEMS.YEAR = "2000"'
    got, want = loaded_attr.users_for_query(query, 9), attribute_model.users_for_query(query, 9)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    np.testing.assert_array_equal(
        loaded_attr.score(np.array([1, 2]), np.ones(2), np.arange(2)),
        attribute_model.score(np.array([1, 2]), np.ones(2), np.arange(2)),
    )


def test_user_personalization_hyper_parameters_pass_through(data: InteractionData) -> None:
    model = ItemAffinity().fit(data, {"sequential_weight": "0", "hidden_dimension": "64", "bptt": "10"})
    assert model.base.sequential_weight == 0 and model.steps.nnz == 0
    users, _ = model.users_for_items(np.array([BLOCK_SIZE + 2]), 5)
    assert np.all(_block_of_user(data)[users] == 1)
    with pytest.raises(TrainingFailed, match="no_such_parameter"):
        ItemAttributeAffinity().fit(data, {"no_such_parameter": "1"})


def test_fits_almost_no_data() -> None:
    for n_events in (0, 1):
        model = ItemAttributeAffinity().fit(make_data([0] * n_events, [5] * n_events, [1] * n_events), {})
        users, scores = model.users_for_items(np.array([5]), 3)
        # make_data always has user u0, with or without events
        assert users.tolist() == [0] and np.all(np.isfinite(scores))
        assert model.users_for_attributes(np.ones(N_ITEMS, dtype=bool), 3)[0].tolist() == [0]
