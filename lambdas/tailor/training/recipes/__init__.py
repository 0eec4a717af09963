"""The recipes Tailor can train, by Personalize recipe name."""

from __future__ import annotations

from tailor.training.base import Recipe, TrainingFailed
from tailor.training.recipes.popularity import PopularityCount
from tailor.training.recipes.related import SimilarItems, Sims
from tailor.training.recipes.segmentation import ItemAffinity, ItemAttributeAffinity
from tailor.training.recipes.sequence import Hrnn, HrnnColdstart, HrnnMetadata, PersonalizedRanking
from tailor.training.recipes.trending import TrendingNow
from tailor.training.recipes.user_personalization import UserPersonalization

RECIPES: dict[str, Recipe] = {
    recipe.name: recipe
    for recipe in (
        PopularityCount(),
        UserPersonalization(),
        TrendingNow(),
        PersonalizedRanking(),
        Hrnn(),
        HrnnMetadata(),
        HrnnColdstart(),
        Sims(),
        SimilarItems(),
        ItemAffinity(),
        ItemAttributeAffinity(),
    )
}

_ARN_PREFIX = "arn:aws:personalize:::recipe/"


def get_recipe(name: str) -> Recipe:
    """The recipe for a name such as 'aws-user-personalization' (its recipe ARN is accepted too)."""
    key = name.removeprefix(_ARN_PREFIX)
    try:
        return RECIPES[key]
    except KeyError:
        raise TrainingFailed(
            f"Recipe {name} is not supported by this deployment; supported recipes: {', '.join(sorted(RECIPES))}"
        ) from None
