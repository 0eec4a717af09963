"""The built-in recipe, algorithm and feature-transformation catalog (reference §4.1): read-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tailor.errors import ResourceNotFoundException
from tailor.operations.common import DEFAULT_PAGE
from tailor.service import Service

CATALOG_TIME = 1560124800.0  # the catalog is fixed; Personalize reports a creation time for it anyway


@dataclass(frozen=True)
class Recipe:
    name: str
    recipe_type: str
    description: str
    algorithm: str | None = None
    feature_transformation: str | None = None
    domain: str | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:personalize:::recipe/{self.name}"


RECIPES: tuple[Recipe, ...] = (
    Recipe("aws-user-personalization", "USER_PERSONALIZATION",
           "Top-N items for a user from their interactions, with exploration of new items and real-time "
           "updates from the user's latest events.", "aws-user-personalization"),
    Recipe("aws-user-personalization-v2", "USER_PERSONALIZATION",
           "User personalization for large catalogs.", "aws-user-personalization-v2"),
    Recipe("aws-hrnn", "USER_PERSONALIZATION",
           "Legacy: sequence-aware user personalization (Tailor: a recency-weighted sequence model).",
           "aws-hrnn", "JSON-percentile-filtering"),
    Recipe("aws-hrnn-metadata", "USER_PERSONALIZATION",
           "Legacy: sequence-aware user personalization using user and item metadata.",
           "aws-hrnn-metadata", "featurize_metadata"),
    Recipe("aws-hrnn-coldstart", "USER_PERSONALIZATION",
           "Legacy: user personalization that explores new (cold-start) items.",
           "aws-hrnn-coldstart", "featurize_coldstart"),
    Recipe("aws-popularity-count", "USER_PERSONALIZATION",
           "The most popular items by event count; a baseline for other recipes.",
           "aws-popularity-count", "sims"),
    Recipe("aws-trending-now", "POPULAR_ITEMS",
           "Items whose popularity is growing fastest in a recent window.", "aws-trending-now-custom"),
    Recipe("aws-personalized-ranking", "PERSONALIZED_RANKING",
           "Ranks a given list of items for a user.", "aws-personalized-ranking", "JSON-percentile-filtering"),
    Recipe("aws-personalized-ranking-v2", "PERSONALIZED_RANKING",
           "Personalized ranking for large catalogs.", "aws-personalized-ranking-v2"),
    Recipe("aws-sims", "RELATED_ITEMS",
           "Items similar to a given item, from co-occurrence in user histories.", "aws-sims", "sims"),
    Recipe("aws-similar-items", "RELATED_ITEMS",
           "Items similar to a given item, from co-occurrence and item metadata.", "aws-similar-items"),
    Recipe("aws-semantic-similarity", "RELATED_ITEMS",
           "Items similar to a given item by the meaning of their text.", "aws-semantic-similarity",
           "aws-semantic-similarity"),
    Recipe("aws-item-affinity", "USER_SEGMENTATION",
           "Users most likely to interact with given items.", "aws-item-affinity", "item-affinity"),
    Recipe("aws-item-attribute-affinity", "USER_SEGMENTATION",
           "Users most likely to interact with items having given attribute values.",
           "aws-item-attribute-affinity", "item-attribute-affinity"),
    Recipe("aws-next-best-action", "PERSONALIZED_ACTIONS",
           "The actions a user is most likely to take next.", "aws-next-best-action"),
    Recipe("aws-ecomm-popular-items-by-views", "POPULAR_ITEMS", "Most viewed items.", domain="ECOMMERCE"),
    Recipe("aws-ecomm-popular-items-by-purchases", "POPULAR_ITEMS", "Best sellers.", domain="ECOMMERCE"),
    Recipe("aws-ecomm-frequently-bought-together", "RELATED_ITEMS", "Frequently bought together.",
           domain="ECOMMERCE"),
    Recipe("aws-ecomm-customers-who-viewed-x-also-viewed", "RELATED_ITEMS",
           "Customers who viewed X also viewed.", domain="ECOMMERCE"),
    Recipe("aws-ecomm-recommended-for-you", "USER_PERSONALIZATION", "Recommended for you.",
           domain="ECOMMERCE"),
    Recipe("aws-vod-because-you-watched-x", "RELATED_ITEMS", "Because you watched X.",
           domain="VIDEO_ON_DEMAND"),
    Recipe("aws-vod-more-like-x", "RELATED_ITEMS", "More like X.", domain="VIDEO_ON_DEMAND"),
    Recipe("aws-vod-most-popular", "POPULAR_ITEMS", "Most popular.", domain="VIDEO_ON_DEMAND"),
    Recipe("aws-vod-trending-now", "POPULAR_ITEMS", "Trending now.", domain="VIDEO_ON_DEMAND"),
    Recipe("aws-vod-top-picks", "USER_PERSONALIZATION", "Top picks for you.", domain="VIDEO_ON_DEMAND"),
)

# Documented defaults for the user-personalization family (reference §4.2); values travel as strings.
_USER_PERSONALIZATION_HP = {"hidden_dimension": "149", "bptt": "32", "recency_mask": "True"}
_FEATURE_DEFAULTS = {"min_user_history_length_percentile": "0.0", "max_user_history_length_percentile": "0.99"}


def _recipe_doc(recipe: Recipe) -> dict[str, Any]:
    return {
        "name": recipe.name,
        "recipeArn": recipe.arn,
        "algorithmArn": f"arn:aws:personalize:::algorithm/{recipe.algorithm}" if recipe.algorithm else None,
        "featureTransformationArn": (
            f"arn:aws:personalize:::feature-transformation/{recipe.feature_transformation}"
            if recipe.feature_transformation else None
        ),
        "status": "ACTIVE",
        "description": recipe.description,
        "creationDateTime": CATALOG_TIME,
        "recipeType": recipe.recipe_type,
        "lastUpdatedDateTime": CATALOG_TIME,
        "domain": recipe.domain,
    }


def find_recipe(arn: str) -> Recipe:
    for recipe in RECIPES:
        if recipe.arn == arn:
            return recipe
    raise ResourceNotFoundException(f"Could not find recipe with ARN {arn}")


def list_recipes(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    domain = req.get("domain")
    recipes = [r for r in RECIPES if domain is None or r.domain == domain]
    scope = f"recipes|{domain or ''}|{req.get('recipeProvider') or ''}"
    start = int(svc.decode_token(req["nextToken"], scope).get("o", 0)) if req.get("nextToken") else 0
    limit = int(req.get("maxResults") or DEFAULT_PAGE)
    page = recipes[start : start + limit]
    keys = ("name", "recipeArn", "status", "creationDateTime", "lastUpdatedDateTime", "domain")
    out: dict[str, Any] = {
        "recipes": [{k: v for k, v in _recipe_doc(r).items() if k in keys and v is not None} for r in page]
    }
    if start + limit < len(recipes):
        out["nextToken"] = svc.encode_token({"o": start + limit}, scope)
    return out


def describe_recipe(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return {"recipe": _recipe_doc(find_recipe(req["recipeArn"]))}


def _default_ranges(recipe_name: str) -> dict[str, Any]:
    """What HPO tunes when the hpoConfig names no ranges (every one tunable); none for a recipe Tailor does not
    train. Loads the training modules (numpy): DescribeAlgorithm is not on a request path that matters."""
    from tailor.training.recipes import RECIPES as TRAINABLE
    from tailor.training.search import default_ranges

    if recipe_name not in TRAINABLE:
        return {}
    ranges = default_ranges(TRAINABLE[recipe_name].defaults)
    return {kind: [{**r, "isTunable": True} for r in values] for kind, values in ranges.items() if values}


def describe_algorithm(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    arn = req["algorithmArn"]
    for recipe in RECIPES:
        if recipe.algorithm and f"arn:aws:personalize:::algorithm/{recipe.algorithm}" == arn:
            user_pers = recipe.recipe_type == "USER_PERSONALIZATION" and recipe.name != "aws-popularity-count"
            return {"algorithm": {
                "name": recipe.algorithm,
                "algorithmArn": arn,
                "algorithmImage": {"name": f"tailor/{recipe.algorithm}"},
                "defaultHyperParameters": dict(_USER_PERSONALIZATION_HP) if user_pers else {},
                "defaultHyperParameterRanges": _default_ranges(recipe.name),
                "defaultResourceConfig": {},
                "trainingInputMode": "File",
                "creationDateTime": CATALOG_TIME,
                "lastUpdatedDateTime": CATALOG_TIME,
            }}
    raise ResourceNotFoundException(f"Could not find algorithm with ARN {arn}")


def describe_feature_transformation(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    arn = req["featureTransformationArn"]
    for recipe in RECIPES:
        ft = recipe.feature_transformation
        if ft and f"arn:aws:personalize:::feature-transformation/{ft}" == arn:
            return {"featureTransformation": {
                "name": ft,
                "featureTransformationArn": arn,
                "defaultParameters": dict(_FEATURE_DEFAULTS) if ft == "JSON-percentile-filtering" else {},
                "creationDateTime": CATALOG_TIME,
                "lastUpdatedDateTime": CATALOG_TIME,
                "status": "ACTIVE",
            }}
    raise ResourceNotFoundException(f"Could not find feature transformation with ARN {arn}")
