"""Recipes, algorithms, feature transformations and tags through a stock boto3 client."""

from __future__ import annotations

import pytest

USER_PERSONALIZATION = "arn:aws:personalize:::recipe/aws-user-personalization"


def test_list_recipes_includes_every_classic_recipe(personalize):
    recipes = [r for page in personalize.get_paginator("list_recipes").paginate() for r in page["recipes"]]
    names = {r["name"] for r in recipes}
    assert {"aws-user-personalization", "aws-sims", "aws-similar-items", "aws-popularity-count",
            "aws-trending-now", "aws-personalized-ranking", "aws-item-affinity", "aws-item-attribute-affinity",
            "aws-hrnn", "aws-hrnn-metadata", "aws-hrnn-coldstart"} <= names
    assert all(r["recipeArn"] == f"arn:aws:personalize:::recipe/{r['name']}" for r in recipes)


def test_list_recipes_pages_and_filters_by_domain(personalize):
    pages = list(personalize.get_paginator("list_recipes").paginate(PaginationConfig={"PageSize": 4}))
    assert len(pages) > 2 and "nextToken" not in pages[-1]
    vod = personalize.list_recipes(domain="VIDEO_ON_DEMAND")["recipes"]
    assert vod and all(r["domain"] == "VIDEO_ON_DEMAND" for r in vod)


def test_describe_recipe_algorithm_and_feature_transformation(personalize):
    recipe = personalize.describe_recipe(recipeArn=USER_PERSONALIZATION)["recipe"]
    assert recipe["recipeType"] == "USER_PERSONALIZATION"
    algorithm = personalize.describe_algorithm(algorithmArn=recipe["algorithmArn"])["algorithm"]
    assert algorithm["defaultHyperParameters"]["hidden_dimension"] == "149"
    sims = personalize.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-sims")["recipe"]
    assert sims["recipeType"] == "RELATED_ITEMS"
    ft = personalize.describe_feature_transformation(featureTransformationArn=sims["featureTransformationArn"])
    assert ft["featureTransformation"]["name"] == "sims"


def test_unknown_recipe_is_not_found(personalize):
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_recipe(recipeArn="arn:aws:personalize:::recipe/aws-nope")
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_algorithm(algorithmArn="arn:aws:personalize:::algorithm/aws-nope")


def test_tags_on_create_tag_untag_and_list(personalize):
    arn = personalize.create_dataset_group(name="tagged", tags=[{"tagKey": "team", "tagValue": "recs"}])[
        "datasetGroupArn"]
    personalize.tag_resource(resourceArn=arn, tags=[{"tagKey": "env", "tagValue": "dev"},
                                                    {"tagKey": "team", "tagValue": "ml"}])
    tags = personalize.list_tags_for_resource(resourceArn=arn)["tags"]
    assert tags == [{"tagKey": "env", "tagValue": "dev"}, {"tagKey": "team", "tagValue": "ml"}]
    personalize.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert personalize.list_tags_for_resource(resourceArn=arn)["tags"] == [{"tagKey": "env", "tagValue": "dev"}]


def test_too_many_tags(personalize):
    arn = personalize.create_dataset_group(name="many")["datasetGroupArn"]
    tags = [{"tagKey": f"k{i}", "tagValue": "v"} for i in range(51)]
    with pytest.raises(personalize.exceptions.TooManyTagsException):
        personalize.tag_resource(resourceArn=arn, tags=tags)
    with pytest.raises(personalize.exceptions.TooManyTagKeysException):
        personalize.untag_resource(resourceArn=arn, tagKeys=[f"k{i}" for i in range(51)])
    with pytest.raises(personalize.exceptions.TooManyTagsException):
        personalize.create_dataset_group(name="many2", tags=tags)


def test_tags_on_unknown_resource(personalize):
    arn = "arn:aws:personalize:us-east-1:123456789012:dataset-group/ghost"
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.list_tags_for_resource(resourceArn=arn)
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.tag_resource(resourceArn=arn, tags=[{"tagKey": "a", "tagValue": "b"}])
