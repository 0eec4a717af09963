"""aws-trending-now, aws-personalized-ranking and the HRNN-family equivalents on small catalogs with known answers."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from tailor.training.base import InteractionData, Recipe, TrainingFailed
from tailor.training.recipes.sequence import (
    ColdStartConfig,
    HistoryFilterConfig,
    Hrnn,
    HrnnColdstart,
    HrnnMetadata,
    PersonalizedRanking,
    cold_items,
    item_feature_matrix,
)
from tailor.training.recipes.trending import TrendingNow, frequency_seconds
from tailor.training.recipes.user_personalization import UserPersonalization
from tests.unit.test_recipes import BLOCK_SIZE, BLOCKS, N_ITEMS, best_unseen, block_data, history, make_data, round_trip

T = 1_700_000_000  # the newest event in the trending data sets
HOUR, DAY = 3600, 86_400
COMEDY_COLD, DRAMA_COLD = N_ITEMS - 2, N_ITEMS - 1  # catalog items without events


def events_at(*item_ages: tuple[int, int]) -> InteractionData:
    """One user per (item, age in seconds before T) event, so the events are trivially sorted by user."""
    return make_data(list(range(len(item_ages))), [i for i, _ in item_ages], [T - age for _, age in item_ages])


def many(item: int, ages: range | list[int]) -> list[tuple[int, int]]:
    return [(item, age) for age in ages]


def comedy_data() -> InteractionData:
    """Items 0-3 and COMEDY_COLD are Comedy, 4-6 and DRAMA_COLD Drama; the two cold items have no events.

    Users 0-9 watch comedies 0, 1, 2 in a row; items 3 (Comedy) and 4 (Drama) are each watched by one user who
    watches nothing else, so for a history of 0, 1, 2 they have the same collaborative score (no co-occurrence, no
    transition, one event each). User 12 watches dramas 5 and 6."""
    users, items, times = [], [], []
    for user in range(10):
        users += [user] * 3
        items += [0, 1, 2]
        times += [T + user * 10 + k for k in range(3)]
    users += [10, 11, 12, 12]
    items += [3, 4, 5, 6]
    times += [T, T, T, T + 1]
    genre = np.full(N_ITEMS, "", dtype=object)
    genre[[0, 1, 2, 3, COMEDY_COLD]] = "Comedy"
    genre[[4, 5, 6, DRAMA_COLD]] = "Drama"
    genre[2] = "comedy|Romance"  # multi-valued, case-insensitive
    features = {
        "GENRE": genre.astype(str),
        "DESCRIPTION": np.array([f"film number {i}" for i in range(N_ITEMS)]),  # textual: unique per item
        "YEAR": np.arange(N_ITEMS, dtype=np.float64),  # numeric: not a category
    }
    return dataclasses.replace(make_data(users, items, times), item_features=features)


# ---- aws-trending-now ----------------------------------------------------------------------------------------------


def test_trending_ranks_a_surging_item_above_one_popular_long_ago() -> None:
    # Given item 0 watched 50 times a month ago, item 1 five times in the last hour and item 2 steady
    data = events_at(
        *many(0, range(30 * DAY, 30 * DAY + 50)),
        *many(1, range(0, 3000, 600)),
        *many(2, [10, 20, 3 * HOUR, 3 * HOUR + 10]),
    )
    # When trending is fitted with the default 2-hour windows
    model = TrendingNow().fit(data, {})
    scores = model.score(*history())
    # Then the surging item leads, the long-ago favourite does not, and the steady item has no growth
    assert int(np.argmax(scores)) == 1
    assert scores[1] > scores[2] and scores[1] > scores[0]
    assert np.bincount(data.items).argmax() == 0  # popularity would have said item 0
    assert model.current[2] == model.previous[2] == 2


def test_trending_window_changes_the_answer() -> None:
    # Given item 0 with 6 events in the last 30 minutes but 30 the day before, and item 1 with 20 spread over today
    data = events_at(
        *many(0, range(0, 1500, 250)),
        *many(0, range(DAY + HOUR, DAY + HOUR + 30)),
        *many(1, range(2 * HOUR, 22 * HOUR, HOUR)),
    )
    # When the windows are 30 minutes, item 0 is surging; when they are a day, item 0 is declining and item 1 rises
    short = TrendingNow().fit(data, {"trend_discovery_frequency": "30 minutes"}).score(*history())
    long = TrendingNow().fit(data, {"trend_discovery_frequency": "1 day"}).score(*history())
    assert int(np.argmax(short)) == 0
    assert int(np.argmax(long)) == 1 and long[0] < 0


def test_trending_smoothing_keeps_tiny_counts_from_dominating() -> None:
    # Given item 0 going from 0 to 1 event and item 1 from 20 to 40 across two 2-hour windows
    data = events_at(
        (0, 60),
        *many(1, range(0, 4000, 100)),
        *many(1, range(2 * HOUR, 2 * HOUR + 4000, 200)),
    )
    # Then the default prior prefers the doubling of a real audience; a negligible prior the infinite-rate newcomer
    assert int(np.argmax(TrendingNow().fit(data, {}).score(*history()))) == 1
    assert int(np.argmax(TrendingNow().fit(data, {"trend_smoothing": "0.001"}).score(*history()))) == 0


def test_trending_ignores_the_history_and_breaks_ties_by_popularity() -> None:
    # Given nothing in the last two windows but the newest event, and item 5 the all-time favourite
    data = events_at((7, 0), *many(5, range(DAY, DAY + 9)), *many(6, range(DAY, DAY + 3)))
    model = TrendingNow().fit(data, {})
    # Then every history gets the same list: the grower first, then the items by popularity
    for seen in [(), (5,), (6, 7)]:
        scores = model.score(*history(*seen))
        np.testing.assert_array_equal(scores, model.score(*history()))
        assert list(np.argsort(-scores, kind="stable")[:3]) == [7, 5, 6]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30 minutes", 1800),
        ("30 min", 1800),
        ("1 hour", 3600),
        ("1h", 3600),
        ("2 hours", 7200),
        ("3h", 10_800),
        ("1 day", 86_400),
        (" 1 Day ", 86_400),
        ("7 days", 7 * 86_400),
    ],
)
def test_trend_discovery_frequency_spellings(value: str, seconds: int) -> None:
    assert frequency_seconds({"f": value}, "f") == seconds


# ---- aws-personalized-ranking --------------------------------------------------------------------------------------


def test_personalized_ranking_scores_as_user_personalization() -> None:
    data = block_data()
    ranking = PersonalizedRanking().fit(data, {})
    reference = UserPersonalization().fit(data, {})
    for seen in [(), (0, 1), (9, 10, 11), (3, 20)]:
        np.testing.assert_array_equal(ranking.score(*history(*seen)), reference.score(*history(*seen)))


def test_history_length_filter_drops_the_longest_histories() -> None:
    # Given nine users with 2 events and one (a bot?) with 20
    users = [u for u in range(9) for _ in range(2)] + [9] * 20
    items = [u % 5 for u in range(9) for _ in range(2)] + list(range(20))
    data = make_data(users, items, list(range(len(users))))
    # When the 90th percentile is the maximum, the bot's events leave the training data; the default keeps all
    filtered = HistoryFilterConfig(0.0, 0.9).apply(data)
    assert 9 not in filtered.users and filtered.n_events == 18
    assert HistoryFilterConfig(0.0, 1.0).apply(data) is data
    # And the minimum drops the shortest histories the same way
    assert set(HistoryFilterConfig(0.5, 1.0).apply(make_data([0, 1, 1, 2, 2, 2], [0] * 6, [0] * 6)).users) == {1, 2}


# ---- aws-hrnn ------------------------------------------------------------------------------------------------------


def test_hrnn_ranks_the_next_item_first() -> None:
    model = Hrnn().fit(block_data(), {})
    for block in range(BLOCKS):
        for last in range(BLOCK_SIZE - 1):
            item = block * BLOCK_SIZE + last
            seen = (item,) if last == 0 else (item - 1, item)
            assert best_unseen(model.score(*history(*seen)), seen) == item + 1


def test_hrnn_weighs_the_sequence_more_than_user_personalization() -> None:
    data = block_data()
    hrnn, up = Hrnn().fit(data, {}), UserPersonalization().fit(data, {})
    assert hrnn.sequential_weight > up.sequential_weight and 0 < hrnn.half_life < up.half_life


def test_hrnn_accepts_personalizes_hyper_parameters() -> None:
    # hidden_dimension is ignored; bptt is the transition window and recency_mask the recency switch, as in
    # user-personalization
    params = {
        "hidden_dimension": "64",
        "bptt": "2",
        "recency_mask": "false",
        "min_user_history_length_percentile": "0.05",
        "max_user_history_length_percentile": "0.95",
    }
    model = Hrnn().fit(block_data(), params)
    assert model.bptt == 2 and model.half_life == 0
    assert np.all(np.isfinite(model.score(*history(0, 1))))


# ---- aws-hrnn-metadata and aws-hrnn-coldstart ----------------------------------------------------------------------


def test_item_features_become_shared_categorical_values() -> None:
    matrix = item_feature_matrix(comedy_data())
    # comedy, drama and romance... but romance is on one item only and links nothing, and the description and year
    # columns give no shared category
    assert matrix.shape == (N_ITEMS, 2)
    np.testing.assert_allclose(np.sqrt((matrix.toarray() ** 2).sum(axis=1))[[0, 2, 4, COMEDY_COLD]], 1.0, rtol=1e-6)
    assert matrix[[0]].toarray() @ matrix[[COMEDY_COLD]].toarray().T == pytest.approx(1.0)
    assert (matrix[[0]].toarray() @ matrix[[4]].toarray().T).item() == 0
    assert matrix[[10]].nnz == 0  # no genre


def test_hrnn_metadata_prefers_an_unseen_item_of_the_users_genre() -> None:
    # Given a user who watched comedies 0, 1, 2, and items 3 (Comedy) and 4 (Drama) with equal collaborative scores
    data = comedy_data()
    seen = (0, 1, 2)
    without = HrnnMetadata().fit(data, {"metadata_weight": "0"}).score(*history(*seen))
    assert without[3] == without[4]
    # When the metadata term is on
    scores = HrnnMetadata().fit(data, {}).score(*history(*seen))
    # Then the comedy outranks the drama, and the collaborative scores are otherwise unchanged
    assert scores[3] > scores[4] == without[4]
    assert best_unseen(scores, seen) == 3


def test_hrnn_metadata_without_item_features_is_hrnn() -> None:
    data = block_data()
    metadata, hrnn = HrnnMetadata().fit(data, {}), Hrnn().fit(data, {})
    for seen in [(), (0, 1), (9, 10, 11)]:
        np.testing.assert_array_equal(metadata.score(*history(*seen)), hrnn.score(*history(*seen)))


def test_only_coldstart_reaches_cold_items() -> None:
    data = comedy_data()
    seen = (0, 1, 2)
    # HRNN-Metadata recommends only items with events, as Personalize's did: cold items score 0 whatever their genre
    metadata = HrnnMetadata().fit(data, {}).score(*history(*seen))
    assert metadata[COMEDY_COLD] == metadata[DRAMA_COLD] == 0
    # HRNN-Coldstart scores the cold comedy, boosted, above every unseen item; the cold drama stays at 0. (Every item
    # of this tiny catalog is cold by the default rule, fewer than 15 events; "1" leaves only the ones with none.)
    model = HrnnColdstart().fit(data, {"cold_start_max_interactions": "1"})
    coldstart = model.score(*history(*seen))
    assert coldstart[COMEDY_COLD] > 0 and coldstart[DRAMA_COLD] == 0
    assert best_unseen(coldstart, seen) == COMEDY_COLD
    # and an empty history, with no profile to match, leaves cold items unscored
    assert model.score(*history())[COMEDY_COLD] == 0


def test_cold_items_follow_personalizes_rule() -> None:
    # Given item 0 with many events, item 1 with 2 events today, item 2 with 2 events from 10 days ago
    data = events_at(*many(0, range(20)), (1, 0), (1, HOUR), (2, 10 * DAY), (2, 10 * DAY + 1))
    cfg = ColdStartConfig.parse(HrnnColdstart.defaults)
    cold = cold_items(data, cfg)
    # Then cold means fewer than 15 events and first seen within 5 days of the newest event, plus no events at all
    assert not cold[0] and cold[1] and not cold[2] and cold[3:].all()
    # Relative to the current time (a month later) the recent item has aged out too
    later = dataclasses.replace(cfg, relative_from="currentTime")
    assert not cold_items(data, later, now=T + 30 * DAY)[1]
    # And a creation timestamp older than the first event is when the item was first seen
    created = np.full(N_ITEMS, np.nan)
    created[1] = T - 20 * DAY
    assert not cold_items(dataclasses.replace(data, item_created=created), cfg)[1]


# ---- every recipe here ---------------------------------------------------------------------------------------------

RECIPES: list[Recipe] = [TrendingNow(), PersonalizedRanking(), Hrnn(), HrnnMetadata(), HrnnColdstart()]


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
@pytest.mark.parametrize("make", [block_data, comedy_data], ids=["blocks", "comedy"])
def test_saved_model_scores_the_same(recipe: Recipe, make: Any) -> None:
    model = recipe.fit(make(), {})
    loaded = round_trip(recipe, model)
    for seen in [(), (0, 1, 2), (9, 10, 11), (COMEDY_COLD, 4)]:
        np.testing.assert_array_equal(loaded.score(*history(*seen)), model.score(*history(*seen)))


BAD = [
    (TrendingNow(), "trend_discovery_frequency", "fortnightly"),
    (TrendingNow(), "trend_discovery_frequency", "0 hours"),
    (TrendingNow(), "trend_discovery_frequency", "-1 day"),
    (TrendingNow(), "trend_discovery_frequency", "2 seconds"),
    (TrendingNow(), "trend_smoothing", "0"),
    (TrendingNow(), "trend_smoothing", "x"),
    (PersonalizedRanking(), "bptt", "0"),
    (PersonalizedRanking(), "max_user_history_length_percentile", "1.5"),
    (Hrnn(), "hidden_dimension", "x"),
    (Hrnn(), "recency_mask", "maybe"),
    (Hrnn(), "min_user_history_length_percentile", "-0.1"),
    (HrnnMetadata(), "metadata_weight", "-1"),
    (HrnnMetadata(), "metadata_weight", "nan"),
    (HrnnColdstart(), "cold_item_boost", "-1"),
    (HrnnColdstart(), "cold_start_max_interactions", "0"),
    (HrnnColdstart(), "cold_start_max_duration", "0"),
    (HrnnColdstart(), "cold_start_relative_from", "yesterday"),
]


@pytest.mark.parametrize(("recipe", "name", "value"), BAD, ids=lambda x: getattr(x, "name", x))
def test_bad_hyper_parameter_is_refused_by_name(recipe: Recipe, name: str, value: str) -> None:
    with pytest.raises(TrainingFailed, match=name) as failure:
        recipe.fit(comedy_data(), {name: value})
    assert value in failure.value.reason


@pytest.mark.parametrize("recipe", RECIPES[1:], ids=lambda r: r.name)
def test_percentiles_out_of_order_are_refused(recipe: Recipe) -> None:
    params = {"min_user_history_length_percentile": "0.8", "max_user_history_length_percentile": "0.2"}
    with pytest.raises(TrainingFailed, match=r"min_user_history_length_percentile.*max_user_history_length_percentile"):
        recipe.fit(block_data(), params)
