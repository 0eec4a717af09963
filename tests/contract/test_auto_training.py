"""Automatic training and campaigns that follow their solution's latest version, through stock boto3 clients."""

from __future__ import annotations

import threading

import pytest

from tailor.autotrain import sweep
from tests.contract.conftest import POPULARITY, make_solution, train

DAY = 86_400


def versions(personalize, solution):
    return personalize.list_solution_versions(solutionArn=solution)["solutionVersions"]


def test_solutions_train_themselves_on_their_schedule(personalize, tailor, trained_group):
    solution = make_solution(personalize, tailor, trained_group, name="auto", recipe=POPULARITY,
                             solutionConfig={"autoTrainingConfig": {"schedulingExpression": "rate(3 days)"}})
    assert personalize.describe_solution(solutionArn=solution)["solution"]["performAutoTraining"] is True  # default

    assert tailor.run_automatic_training(after_seconds=0) == []  # the first version comes within the hour, not at once
    [first] = tailor.run_automatic_training(after_seconds=3601)
    version = personalize.describe_solution_version(solutionVersionArn=first)["solutionVersion"]
    assert version["status"] == "ACTIVE", version.get("failureReason")
    assert version["trainingMode"] == "AUTOTRAIN" and version["trainingType"] == "AUTOMATIC"
    assert personalize.describe_solution(solutionArn=solution)["solution"]["latestSolutionVersion"][
        "solutionVersionArn"] == first

    assert tailor.run_automatic_training(after_seconds=2 * DAY) == []  # rate(3 days): not yet
    [second] = tailor.run_automatic_training(after_seconds=3 * DAY + 3700)
    assert second != first and len(versions(personalize, solution)) == 2


def test_a_version_trained_by_hand_or_switched_off_auto_training_is_respected(personalize, tailor, trained_group):
    manual = make_solution(personalize, tailor, trained_group, name="manual-first", recipe=POPULARITY)
    assert train(personalize, tailor, manual)["status"] == "ACTIVE"
    off = make_solution(personalize, tailor, trained_group, name="off", recipe=POPULARITY, performAutoTraining=False)
    # A version made by hand within the hour replaces the first automatic one; no auto training when it is off.
    assert tailor.run_automatic_training(after_seconds=3601) == []
    started = tailor.run_automatic_training(after_seconds=7 * DAY + 3601)
    assert [arn.rsplit("/", 1)[0] for arn in started] == [manual]
    assert versions(personalize, off) == []

    personalize.update_solution(solutionArn=manual, performAutoTraining=False)
    assert tailor.run_automatic_training(after_seconds=30 * DAY) == []


def test_bad_schedules_are_refused(personalize, tailor, trained_group):
    for expression in ("rate(0 days)", "rate(31 days)", "rate(2 hours)", "cron(0 12 * * ? *)"):
        with pytest.raises(personalize.exceptions.InvalidInputException, match="schedulingExpression"):
            personalize.create_solution(name="bad", datasetGroupArn=trained_group, recipeArn=POPULARITY,
                                        solutionConfig={"autoTrainingConfig": {"schedulingExpression": expression}})
    solution = make_solution(personalize, tailor, trained_group, name="ok", recipe=POPULARITY)
    with pytest.raises(personalize.exceptions.InvalidInputException, match="schedulingExpression"):
        personalize.update_solution(solutionArn=solution, solutionUpdateConfig={
            "autoTrainingConfig": {"schedulingExpression": "rate(45 days)"}})


def test_concurrent_sweeps_start_one_version(personalize, tailor, trained_group):
    solution = make_solution(personalize, tailor, trained_group, name="racy", recipe=POPULARITY)
    service = tailor.embedded.service
    later = service.now() + 3601
    started: list[list[str]] = []
    threads = [threading.Thread(target=lambda: started.append(sweep(service, now=later))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tailor.wait()
    assert sum(len(s) for s in started) == 1
    assert len(versions(personalize, solution)) == 1


def test_a_campaign_follows_the_latest_version_without_a_gap(personalize, tailor, trained_group):
    solution = make_solution(personalize, tailor, trained_group, name="followed", recipe=POPULARITY)
    first = train(personalize, tailor, solution)["solutionVersionArn"]
    errors = personalize.exceptions
    with pytest.raises(errors.InvalidInputException, match=r"\$LATEST"):
        personalize.create_campaign(name="c", solutionVersionArn=first,
                                    campaignConfig={"syncWithLatestSolutionVersion": True})
    with pytest.raises(errors.InvalidInputException, match=r"\$LATEST"):
        personalize.create_campaign(name="c", solutionVersionArn=f"{solution}/$LATEST")
    campaign = personalize.create_campaign(name="c", solutionVersionArn=f"{solution}/$LATEST",
                                           campaignConfig={"syncWithLatestSolutionVersion": True})["campaignArn"]
    tailor.wait()
    described = personalize.describe_campaign(campaignArn=campaign)["campaign"]
    assert described["status"] == "ACTIVE" and described["solutionVersionArn"] == first

    # Automatic training's new version: the campaign moves to it through a campaign update.
    [second] = tailor.run_automatic_training(after_seconds=7 * DAY + 3601)
    described = personalize.describe_campaign(campaignArn=campaign)["campaign"]
    assert described["solutionVersionArn"] == second
    assert described["latestCampaignUpdate"]["status"] == "ACTIVE"
    assert described["campaignConfig"]["syncWithLatestSolutionVersion"] is True
    runtime = tailor.client("personalize-runtime")
    assert runtime.get_recommendations(campaignArn=campaign, userId="u1", numResults=3)["itemList"]

    # A version trained by hand is followed too; a campaign without the flag stays where it is.
    pinned = personalize.create_campaign(name="pinned", solutionVersionArn=second)["campaignArn"]
    tailor.wait()
    third = train(personalize, tailor, solution)["solutionVersionArn"]
    tailor.wait()
    assert personalize.describe_campaign(campaignArn=campaign)["campaign"]["solutionVersionArn"] == third
    assert personalize.describe_campaign(campaignArn=pinned)["campaign"]["solutionVersionArn"] == second
