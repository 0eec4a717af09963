"""UpdateCampaign with the jobs held by the test: the campaign keeps its version until the update is ACTIVE."""

from __future__ import annotations

import pytest

from tailor import jobs
from tailor.errors import ResourceInUseException
from tailor.operations import campaigns, solutions


@pytest.fixture
def versions(svc, launcher, solution):
    arns = [solutions.create_solution_version(svc, {"solutionArn": solution})["solutionVersionArn"]
            for _ in range(2)]
    launcher.run_all(svc)
    assert [svc.store.get(a).status for a in arns] == ["ACTIVE", "ACTIVE"]
    return arns


@pytest.fixture
def campaign(svc, launcher, versions):
    arn = campaigns.create_campaign(svc, {"name": "shop", "solutionVersionArn": versions[0]})["campaignArn"]
    assert svc.store.get(arn).status == "CREATE PENDING"
    launcher.run_all(svc)
    return arn


def describe(svc, arn):
    return campaigns.describe_campaign(svc, {"campaignArn": arn})["campaign"]


def test_the_old_version_serves_until_the_update_is_active(svc, launcher, versions, campaign):
    campaigns.update_campaign(svc, {"campaignArn": campaign, "solutionVersionArn": versions[1]})
    pending = describe(svc, campaign)
    assert pending["status"] == "ACTIVE" and pending["solutionVersionArn"] == versions[0]
    assert pending["latestCampaignUpdate"]["status"] == "CREATE PENDING"
    assert pending["latestCampaignUpdate"]["solutionVersionArn"] == versions[1]
    # A second update or a delete while one is in flight is refused
    with pytest.raises(ResourceInUseException):
        campaigns.update_campaign(svc, {"campaignArn": campaign, "minProvisionedTPS": 5})
    with pytest.raises(ResourceInUseException):
        campaigns.delete_campaign(svc, {"campaignArn": campaign})
    launcher.run_all(svc)
    done = describe(svc, campaign)
    assert done["solutionVersionArn"] == versions[1] and done["latestCampaignUpdate"]["status"] == "ACTIVE"


def test_a_failed_update_leaves_the_campaign_serving_what_it_served(svc, launcher, versions, campaign):
    campaigns.update_campaign(svc, {"campaignArn": campaign, "solutionVersionArn": versions[1]})
    (job, arn), = launcher.launched
    launcher.launched.clear()
    # When the update job dies (e.g. a Lambda timeout), the workflow's catch records it
    jobs.fail(svc, arn, f"Internal error during {job}: timed out")
    failed = describe(svc, campaign)
    assert failed["status"] == "ACTIVE" and failed["solutionVersionArn"] == versions[0]
    assert failed["latestCampaignUpdate"]["status"] == "CREATE FAILED"
    assert "timed out" in failed["latestCampaignUpdate"]["failureReason"]
    # And the campaign can be updated again
    campaigns.update_campaign(svc, {"campaignArn": campaign, "solutionVersionArn": versions[1]})
    launcher.run_all(svc)
    assert describe(svc, campaign)["solutionVersionArn"] == versions[1]


def test_an_update_to_a_version_that_is_gone_fails_with_the_reason(svc, launcher, versions, campaign):
    campaigns.update_campaign(svc, {"campaignArn": campaign, "solutionVersionArn": versions[1]})
    svc.store.delete(versions[1])
    launcher.run_all(svc)
    failed = describe(svc, campaign)
    assert failed["solutionVersionArn"] == versions[0]
    assert failed["latestCampaignUpdate"]["status"] == "CREATE FAILED"
    assert versions[1] in failed["latestCampaignUpdate"]["failureReason"]


def test_of_two_racing_updates_one_wins_and_the_other_is_refused(svc, launcher, versions, campaign, monkeypatch):
    # Given update A, which reads the campaign, and update B, which commits between A's read and A's write
    store, real_get = svc.store, svc.store._get_item
    campaign_reads = []

    def racing_get(arn):
        item = real_get(arn)
        if arn == campaign:
            campaign_reads.append(arn)
            if len(campaign_reads) == 2:  # A's read inside store.update, just before its write
                campaigns.update_campaign(svc, {"campaignArn": campaign, "minProvisionedTPS": 7})
        return item

    monkeypatch.setattr(store, "_get_item", racing_get)
    # When A writes, its version check fails, it re-reads, and sees B's update in flight
    with pytest.raises(ResourceInUseException):
        campaigns.update_campaign(svc, {"campaignArn": campaign, "solutionVersionArn": versions[1]})
    monkeypatch.undo()
    # Then B's update is the one pending, launched once, and applying it keeps the version A wanted out
    assert [job for job, _ in launcher.launched] == ["update-campaign"]
    assert describe(svc, campaign)["latestCampaignUpdate"]["minProvisionedTPS"] == 7
    launcher.run_all(svc)
    done = describe(svc, campaign)
    assert done["minProvisionedTPS"] == 7 and done["solutionVersionArn"] == versions[0]
