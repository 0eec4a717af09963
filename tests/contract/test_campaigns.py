"""Campaigns through a stock boto3 client: lifecycle, updates to a new version, the modelled errors."""

from __future__ import annotations

import pytest

from tests.contract.conftest import POPULARITY, make_solution, train


@pytest.fixture
def versions(personalize, tailor, trained_group):
    """Two ACTIVE versions of one solution."""
    solution = make_solution(personalize, tailor, trained_group, recipe=POPULARITY)
    first, second = (train(personalize, tailor, solution, name=n)["solutionVersionArn"] for n in ("v1", "v2"))
    return solution, first, second


def campaign(personalize, tailor, version, name="shop", **kwargs):
    arn = personalize.create_campaign(name=name, solutionVersionArn=version, **kwargs)["campaignArn"]
    tailor.wait()
    return personalize.describe_campaign(campaignArn=arn)["campaign"]


def test_campaign_lifecycle(personalize, tailor, versions):
    solution, first, _ = versions
    config = {"itemExplorationConfig": {"explorationWeight": "0.3", "explorationItemAgeCutOff": "30"}}
    created = campaign(personalize, tailor, first, minProvisionedTPS=2, campaignConfig=config,
                       tags=[{"tagKey": "team", "tagValue": "shop"}])
    assert created["campaignArn"] == "arn:aws:personalize:us-east-1:123456789012:campaign/shop"
    assert created["status"] == "ACTIVE" and created["solutionVersionArn"] == first
    assert created["minProvisionedTPS"] == 2 and created["campaignConfig"] == config
    assert created["creationDateTime"] <= created["lastUpdatedDateTime"]
    listed = personalize.list_campaigns(solutionArn=solution)["campaigns"]
    assert [(c["campaignArn"], c["status"]) for c in listed] == [(created["campaignArn"], "ACTIVE")]
    assert personalize.list_tags_for_resource(resourceArn=created["campaignArn"])["tags"] == [
        {"tagKey": "team", "tagValue": "shop"}]
    # A solution with a campaign cannot be deleted; deleting the campaign frees it
    with pytest.raises(personalize.exceptions.ResourceInUseException):
        personalize.delete_solution(solutionArn=solution)
    personalize.delete_campaign(campaignArn=created["campaignArn"])
    tailor.wait()
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_campaign(campaignArn=created["campaignArn"])
    assert personalize.list_campaigns(solutionArn=solution)["campaigns"] == []
    personalize.delete_solution(solutionArn=solution)


def test_update_moves_the_campaign_to_the_new_version(personalize, tailor, versions):
    _, first, second = versions
    arn = campaign(personalize, tailor, first)["campaignArn"]
    personalize.update_campaign(campaignArn=arn, solutionVersionArn=second, minProvisionedTPS=3)
    tailor.wait()
    updated = personalize.describe_campaign(campaignArn=arn)["campaign"]
    assert updated["status"] == "ACTIVE"
    assert updated["solutionVersionArn"] == second and updated["minProvisionedTPS"] == 3
    latest = updated["latestCampaignUpdate"]
    assert latest["status"] == "ACTIVE" and latest["solutionVersionArn"] == second
    assert latest["minProvisionedTPS"] == 3


def test_campaign_errors(personalize, tailor, versions, trained_group):
    solution, first, _ = versions
    missing = f"{solution}/00000000"
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.create_campaign(name="x", solutionVersionArn=missing)
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_campaign(campaignArn="arn:aws:personalize:us-east-1:123456789012:campaign/none")
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.list_campaigns(solutionArn=f"{solution}-gone")
    for bad in ({"explorationWeight": "1.5"}, {"explorationWeight": "lots"}, {"explorationItemAgeCutOff": "0"},
                {"explorationWieght": "0.3"}):
        with pytest.raises(personalize.exceptions.InvalidInputException):
            personalize.create_campaign(name="x", solutionVersionArn=first,
                                        campaignConfig={"itemExplorationConfig": bad})
    arn = campaign(personalize, tailor, first)["campaignArn"]
    with pytest.raises(personalize.exceptions.ResourceAlreadyExistsException):
        personalize.create_campaign(name="shop", solutionVersionArn=first)
    # A version of another solution cannot be served by this campaign
    other = make_solution(personalize, tailor, trained_group, name="other", recipe=POPULARITY)
    other_version = train(personalize, tailor, other)["solutionVersionArn"]
    with pytest.raises(personalize.exceptions.InvalidInputException):
        personalize.update_campaign(campaignArn=arn, solutionVersionArn=other_version)
    # Personalize's quota: 5 campaigns per dataset group, counted across its solutions
    for i in range(4):
        campaign(personalize, tailor, other_version, name=f"c{i}")
    with pytest.raises(personalize.exceptions.LimitExceededException):
        personalize.create_campaign(name="sixth", solutionVersionArn=first)


def test_list_campaigns_pages_and_unknown_arns_are_not_found(personalize, tailor, versions):
    solution, first, second = versions
    made = {campaign(personalize, tailor, v, name=f"c{i}")["campaignArn"] for i, v in enumerate((first, second, first))}
    for kwargs in ({}, {"solutionArn": solution}):
        pages = list(personalize.get_paginator("list_campaigns").paginate(**kwargs, PaginationConfig={"PageSize": 1}))
        assert len(pages) == 3 and {c["campaignArn"] for p in pages for c in p["campaigns"]} == made
        assert "nextToken" not in pages[-1]
    gone = "arn:aws:personalize:us-east-1:123456789012:campaign/none"
    for call in (personalize.describe_campaign, personalize.delete_campaign, personalize.update_campaign):
        with pytest.raises(personalize.exceptions.ResourceNotFoundException) as err:
            call(campaignArn=gone)
        assert gone in str(err.value)
