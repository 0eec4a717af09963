"""The walkthrough's data steps (seeds/000) through stock boto3 clients: over HTTP against `tailor serve`,
and in-process through the pytest fixture."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from tests.samples import (
    INTERACTIONS_SCHEMA,
    ITEMS_SCHEMA,
    STORY_CLICKED,
    STORY_RELATED,
    STORY_USER,
    USERS_SCHEMA,
    interactions_csv,
    items_csv,
    story_interactions_csv,
    story_items_csv,
    users_csv,
)

ROLE = "arn:aws:iam::123456789012:role/PersonalizeS3"


def wait_status(describe: Callable[[], str], timeout: float = 60,
                done: tuple[str, ...] = ("ACTIVE", "CREATE FAILED")) -> str:
    """Poll a status until it is one of `done` (or `timeout` seconds pass), as a client of a remote endpoint does."""
    deadline = time.monotonic() + timeout
    status = describe()
    while status not in done and time.monotonic() < deadline:
        time.sleep(0.05)
        status = describe()
    return status


def active_interactions_dataset(personalize: Any, group_name: str, dataset_name: str) -> tuple[str, str]:
    """(group, dataset): a new group with an Interactions dataset (INTERACTIONS_SCHEMA), each waited for to be
    ACTIVE as a client of a remote endpoint has to."""
    group = personalize.create_dataset_group(name=group_name)["datasetGroupArn"]
    assert wait_status(lambda: personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"]) \
        == "ACTIVE"
    schema = personalize.create_schema(name=group_name, schema=INTERACTIONS_SCHEMA)["schemaArn"]
    dataset = personalize.create_dataset(name=dataset_name, schemaArn=schema, datasetGroupArn=group,
                                         datasetType="INTERACTIONS")["datasetArn"]
    assert wait_status(lambda: personalize.describe_dataset(datasetArn=dataset)["dataset"]["status"]) == "ACTIVE"
    return group, dataset


def user_bucket(s3: Any, bucket: str | None, default: str) -> str:
    """The bucket a story puts its files in: a deployment's data bucket when given, else one it creates."""
    if bucket is None:
        s3.create_bucket(Bucket=default)
    return bucket or default


def run_walkthrough(client: Callable[[str], Any], bucket: str | None = None) -> dict[str, Any]:
    s3, personalize = client("s3"), client("personalize")
    # STEP 1: a bucket with the three CSVs
    bucket = user_bucket(s3, bucket, "walkthrough-data")
    for name, body in (("interactions.csv", interactions_csv()), ("members.csv", users_csv()),
                       ("products.csv", items_csv())):
        s3.put_object(Bucket=bucket, Key=name, Body=body.encode())
    # STEP 2-1: dataset group, schemas, datasets, imports
    group = personalize.create_dataset_group(name="brandi")["datasetGroupArn"]
    assert wait_status(lambda: personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"]) \
        == "ACTIVE"
    jobs = {}
    for dataset_type, schema, key in (("INTERACTIONS", INTERACTIONS_SCHEMA, "interactions.csv"),
                                      ("USERS", USERS_SCHEMA, "members.csv"),
                                      ("ITEMS", ITEMS_SCHEMA, "products.csv")):
        schema_arn = personalize.create_schema(name=f"brandi-{dataset_type.lower()}", schema=schema)["schemaArn"]
        dataset = personalize.create_dataset(name=f"brandi-{dataset_type.lower()}", schemaArn=schema_arn,
                                             datasetGroupArn=group, datasetType=dataset_type)["datasetArn"]
        assert wait_status(lambda d=dataset: personalize.describe_dataset(datasetArn=d)["dataset"]["status"]) \
            == "ACTIVE"
        jobs[dataset_type] = personalize.create_dataset_import_job(
            jobName=f"brandi-{dataset_type.lower()}-import", datasetArn=dataset, roleArn=ROLE,
            dataSource={"dataLocation": f"s3://{bucket}/{key}"},
        )["datasetImportJobArn"]
    statuses = {
        t: wait_status(lambda j=j: personalize.describe_dataset_import_job(datasetImportJobArn=j)[
            "datasetImportJob"]["status"])
        for t, j in jobs.items()
    }
    # STEP 3-1: an event tracker, and a filter
    tracker = personalize.create_event_tracker(name="brandi-tracker", datasetGroupArn=group)
    filter_arn = personalize.create_filter(
        name="no-purchased", datasetGroupArn=group,
        filterExpression='EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")')["filterArn"]
    tracker_status = wait_status(lambda: personalize.describe_event_tracker(
        eventTrackerArn=tracker["eventTrackerArn"])["eventTracker"]["status"])
    filter_status = wait_status(lambda: personalize.describe_filter(filterArn=filter_arn)["filter"]["status"])
    return {"imports": statuses, "tracker": tracker_status, "filter": filter_status,
            "trackingId": tracker["trackingId"],
            "jobs": personalize.list_dataset_import_jobs()["datasetImportJobs"]}


def assert_walkthrough(result: dict[str, Any]) -> None:
    assert result["imports"] == {"INTERACTIONS": "ACTIVE", "USERS": "ACTIVE", "ITEMS": "ACTIVE"}
    assert result["tracker"] == "ACTIVE" and result["filter"] == "ACTIVE"
    assert len(result["jobs"]) == 3 and {j["status"] for j in result["jobs"]} == {"ACTIVE"}


def test_walkthrough_in_process(tailor):
    assert_walkthrough(run_walkthrough(tailor.client))


def test_readiness_probe(served):
    import urllib.request

    with urllib.request.urlopen(f"{served}/_tailor/health") as resp:
        assert resp.status == 200


def test_walkthrough_against_tailor_serve(served, monkeypatch):
    # A user's setup: one environment variable points every stock client at the endpoint.
    monkeypatch.setenv("AWS_ENDPOINT_URL", served)
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
    config = Config(retries={"max_attempts": 1})
    assert_walkthrough(run_walkthrough(lambda name: session.client(name, config=config)))


def run_real_time_story(client: Callable[[str], Any], bucket: str | None = None) -> dict[str, Any]:
    """The walkthrough's STEP 2-3 and 3: a ranking campaign, put_events for one user, the ranking again; plus the
    two filters a shop adds (hide what the user clicked, one genre on request)."""
    s3, personalize = client("s3"), client("personalize")
    runtime, events = client("personalize-runtime"), client("personalize-events")
    bucket = user_bucket(s3, bucket, "story-data")
    s3.put_object(Bucket=bucket, Key="interactions.csv", Body=story_interactions_csv().encode())
    s3.put_object(Bucket=bucket, Key="items.csv", Body=story_items_csv().encode())
    group = personalize.create_dataset_group(name="story")["datasetGroupArn"]
    wait_status(lambda: personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"])
    for dataset_type, schema, key in (("INTERACTIONS", INTERACTIONS_SCHEMA, "interactions.csv"),
                                      ("ITEMS", ITEMS_SCHEMA, "items.csv")):
        schema_arn = personalize.create_schema(name=f"story-{dataset_type.lower()}", schema=schema)["schemaArn"]
        dataset = personalize.create_dataset(name=f"story-{dataset_type.lower()}", schemaArn=schema_arn,
                                             datasetGroupArn=group, datasetType=dataset_type)["datasetArn"]
        wait_status(lambda d=dataset: personalize.describe_dataset(datasetArn=d)["dataset"]["status"])
        job = personalize.create_dataset_import_job(
            jobName=f"story-{dataset_type.lower()}", datasetArn=dataset, roleArn=ROLE,
            dataSource={"dataLocation": f"s3://{bucket}/{key}"})["datasetImportJobArn"]
        assert wait_status(lambda j=job: personalize.describe_dataset_import_job(datasetImportJobArn=j)[
            "datasetImportJob"]["status"]) == "ACTIVE"

    def campaign(name: str, recipe: str) -> str:
        solution = personalize.create_solution(name=name, datasetGroupArn=group,
                                               recipeArn=f"arn:aws:personalize:::recipe/{recipe}")["solutionArn"]
        wait_status(lambda: personalize.describe_solution(solutionArn=solution)["solution"]["status"])
        version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        assert wait_status(lambda: personalize.describe_solution_version(solutionVersionArn=version)[
            "solutionVersion"]["status"], timeout=120) == "ACTIVE"
        arn = personalize.create_campaign(name=name, solutionVersionArn=version, minProvisionedTPS=1)["campaignArn"]
        assert wait_status(lambda: personalize.describe_campaign(campaignArn=arn)["campaign"]["status"]) == "ACTIVE"
        return str(arn)

    def make_filter(name: str, expression: str) -> str:
        arn = personalize.create_filter(name=name, datasetGroupArn=group, filterExpression=expression)["filterArn"]
        assert wait_status(lambda: personalize.describe_filter(filterArn=arn)["filter"]["status"]) == "ACTIVE"
        return str(arn)

    ranking = campaign("story-ranking", "aws-personalized-ranking")
    tracker = personalize.create_event_tracker(name="story-tracker", datasetGroupArn=group)
    wait_status(lambda: personalize.describe_event_tracker(
        eventTrackerArn=tracker["eventTrackerArn"])["eventTracker"]["status"])
    candidates = [STORY_RELATED, "p0", "p1", "p2", "p5", STORY_CLICKED, "p9"]

    def ranked() -> list[str]:
        return [i["itemId"] for i in runtime.get_personalized_ranking(
            campaignArn=ranking, userId=STORY_USER, inputList=candidates)["personalizedRanking"]]

    before = ranked()
    for _ in range(3):  # "ran the sample code a few times"
        events.put_events(
            trackingId=tracker["trackingId"], userId=STORY_USER, sessionId="session_id",
            eventList=[{"sentAt": int(time.time()), "eventType": "Click",
                        "properties": json.dumps({"itemId": STORY_CLICKED, "eventValue": float("20")})}])
    after = ranked()

    personal = campaign("story-up", "aws-user-personalization")
    no_clicked = make_filter("no-clicked", 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")')
    by_genre = make_filter("by-genre", "INCLUDE ItemID WHERE Items.GENRE IN ($GENRE)")
    shown = [i["itemId"] for i in runtime.get_recommendations(
        campaignArn=personal, userId=STORY_USER, numResults=30, filterArn=no_clicked)["itemList"]]
    horror = [i["itemId"] for i in runtime.get_recommendations(
        campaignArn=personal, userId=STORY_USER, filterArn=by_genre, filterValues={"GENRE": '"Horror"'})["itemList"]]
    return {"before": before, "after": after, "shown_without_clicked": shown, "horror": horror}


def assert_real_time_story(result: dict[str, Any]) -> None:
    assert result["before"].index(STORY_RELATED) > 0  # not first from the historical data alone
    assert result["after"][0] == STORY_RELATED  # first right after the user's clicks
    assert STORY_CLICKED not in result["shown_without_clicked"]  # the clicked item is hidden on the next request
    assert result["shown_without_clicked"]
    horror_items = {line.split(",")[0] for line in story_items_csv().splitlines()[1:] if ",Horror," in line}
    assert result["horror"] and set(result["horror"]) <= horror_items


def test_real_time_story_against_tailor_serve(served, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", served)
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
    config = Config(retries={"max_attempts": 1})
    assert_real_time_story(run_real_time_story(lambda name: session.client(name, config=config)))


def test_a_notebooks_role_gets_aws_managed_policies_from_tailor_serve(served, monkeypatch):
    """AWS's notebooks create the role they pass to Personalize and attach AWS-managed policies to it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", served)
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
    iam = session.client("iam", config=Config(retries={"max_attempts": 1}))
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"Service": "personalize.amazonaws.com"}}]}
    iam.create_role(RoleName="PersonalizeRoleNotebook", AssumeRolePolicyDocument=json.dumps(trust))
    for arn in ("arn:aws:iam::aws:policy/service-role/AmazonPersonalizeFullAccess",
                "arn:aws:iam::aws:policy/AmazonS3FullAccess"):
        iam.attach_role_policy(RoleName="PersonalizeRoleNotebook", PolicyArn=arn)
    attached = iam.list_attached_role_policies(RoleName="PersonalizeRoleNotebook")["AttachedPolicies"]
    assert sorted(p["PolicyName"] for p in attached) == ["AmazonPersonalizeFullAccess", "AmazonS3FullAccess"]
