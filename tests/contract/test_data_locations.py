"""A deployment's data locations (TAILOR_DATA_LOCATIONS, Service.data_locations) through stock boto3 clients: a
Create* request naming an S3 path outside them is refused at once with InvalidInputException, before anything is
stored, so the job's name stays free; paths under them work as before; unset, any path goes (every other test)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tailor import config
from tailor.adapters.env import build_service
from tailor.testing import TailorFixture
from tests.contract.conftest import POPULARITY, import_and_wait, make_solution, train
from tests.samples import interactions_csv

ROLE = "arn:aws:iam::123456789012:role/PersonalizeS3"
ALLOWED = ("s3://tailor-data-abc/", "s3://user-data/personalize/")
# Outside ALLOWED: another bucket, a sibling prefix, a sibling whose name starts with the allowed prefix, buckets
# whose names merely start with an allowed bucket's name, and the allowed prefix's bucket as a whole.
REFUSED = (
    "s3://other-bucket/personalize/",
    "s3://user-data/exports/",
    "s3://user-data/personalize-old/",
    "s3://user-data-2/personalize/",
    "s3://tailor-data-abcd/",
    "s3://user-data/",
)


def restrict(tailor: TailorFixture, *locations: str) -> None:
    """What TAILOR_DATA_LOCATIONS does in a deployment, for the in-process fixture's Service."""
    tailor.embedded.service.data_locations = locations


def outside(member: str, path: str) -> str:
    return (f"{member} {path} is outside the S3 locations this Tailor deployment may use "
            f"(s3://tailor-data-abc/, s3://user-data/personalize/); add it to \"dataLocations\" in cdk.json and "
            f"redeploy.")


def refused(personalize: Any, call: Callable[[], Any]) -> str:
    with pytest.raises(personalize.exceptions.InvalidInputException) as info:
        call()
    return str(info.value.response["Error"]["Message"])


# ---- imports ---------------------------------------------------------------------------------------------------------


def test_an_import_from_an_allowed_location_works_and_others_are_refused_before_anything_is_stored(
        personalize, tailor, s3, make_dataset):
    dataset = make_dataset("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="personalize/i.csv", Body=interactions_csv(n_users=3).encode())
    s3.put_object(Bucket="user-data", Key="elsewhere/i.csv", Body=interactions_csv(n_users=3).encode())
    restrict(tailor, *ALLOWED)

    def create(location: str) -> Any:
        return personalize.create_dataset_import_job(jobName="load", datasetArn=dataset, roleArn=ROLE,
                                                     dataSource={"dataLocation": location})

    for prefix in REFUSED:
        message = refused(personalize, partial(create, f"{prefix}i.csv"))
        assert message == outside("dataSource.dataLocation", f"{prefix}i.csv")
    assert personalize.list_dataset_import_jobs(datasetArn=dataset)["datasetImportJobs"] == []
    # The name is still free, and the allowed location imports as ever
    job = import_and_wait(personalize, tailor, dataset, "s3://user-data/personalize/i.csv", "load")
    assert job["status"] == "ACTIVE", job.get("failureReason")
    assert [j["jobName"] for j in personalize.list_dataset_import_jobs(datasetArn=dataset)["datasetImportJobs"]] == \
        ["load"]


@pytest.mark.parametrize(("locations", "path", "allowed"), [
    # a bucket, with or without its slash: every key in it, and no other bucket
    (("s3://my-bucket",), "s3://my-bucket/any/key.csv", True),
    (("s3://my-bucket",), "s3://my-bucket", True),
    (("s3://my-bucket/",), "s3://my-bucket/key.csv", True),
    (("s3://my-bucket/",), "s3://my-bucketx/key.csv", False),
    (("s3://my-bucket",), "s3://my-bucket-2/key.csv", False),
    # a folder: what is under it
    (("s3://my-bucket/personalize/",), "s3://my-bucket/personalize/a.csv", True),
    (("s3://my-bucket/personalize/",), "s3://my-bucket/personalize/", True),
    (("s3://my-bucket/personalize/",), "s3://my-bucket/personalize/deep/er/", True),
    (("s3://my-bucket/personalize/",), "s3://my-bucket/personalize", False),
    (("s3://my-bucket/personalize/",), "s3://my-bucket/personalize-old/a.csv", False),
    (("s3://my-bucket/personalize/",), "s3://my-bucket/other/personalize/a.csv", False),
    (("s3://my-bucket/personalize/",), "s3://my-bucket-2/personalize/a.csv", False),
    (("s3://my-bucket/personalize/",), "s3://my-bucket/", False),
    # a prefix without its slash: keys that start with it, as IAM's arn:aws:s3:::my-bucket/personalize* reads it
    (("s3://my-bucket/personalize",), "s3://my-bucket/personalize", True),
    (("s3://my-bucket/personalize",), "s3://my-bucket/personalize-old/a.csv", True),
    (("s3://my-bucket/personalize",), "s3://my-bucket/person", False),
    # any one of several
    (("s3://tailor-data-abc/", "s3://my-bucket/personalize/"), "s3://tailor-data-abc/x.csv", True),
    (("s3://tailor-data-abc/", "s3://my-bucket/personalize/"), "s3://my-bucket/personalize/x.csv", True),
    (("s3://tailor-data-abc/", "s3://my-bucket/personalize/"), "s3://my-bucket/x.csv", False),
])
def test_which_paths_a_location_covers(personalize, tailor, locations, path, allowed):
    restrict(tailor, *locations)
    # The location is checked first: a path the deployment may use gets as far as the (missing) dataset.
    expected = personalize.exceptions.ResourceNotFoundException if allowed else \
        personalize.exceptions.InvalidInputException
    with pytest.raises(expected) as info:
        personalize.create_dataset_import_job(
            jobName="j", datasetArn="arn:aws:personalize:us-east-1:123456789012:dataset/none/INTERACTIONS",
            roleArn=ROLE, dataSource={"dataLocation": path})
    if not allowed:
        assert "is outside the S3 locations this Tailor deployment may use" in str(info.value)


def test_unset_means_any_location(personalize, tailor, s3, make_dataset):
    assert tailor.embedded.service.data_locations == ()
    s3.create_bucket(Bucket="anywhere-at-all")
    s3.put_object(Bucket="anywhere-at-all", Key="i.csv", Body=interactions_csv(n_users=3).encode())
    job = import_and_wait(personalize, tailor, make_dataset("INTERACTIONS"), "s3://anywhere-at-all/i.csv", "load")
    assert job["status"] == "ACTIVE", job.get("failureReason")


# ---- every other job that names an S3 path ---------------------------------------------------------------------------


class Job:
    """One Create* operation's S3 member, set up so that only the path decides whether the request is taken."""

    def __init__(self, member: str, file: str, done: str, create: Callable[[str, str], str],
                 listed: Callable[[], list[Any]], status: Callable[[str], str]) -> None:
        self.member, self.file, self.done = member, file, done
        self.create, self.listed, self.status = create, listed, status


def _interactions(personalize: Any, tailor: TailorFixture, s3: Any, request: pytest.FixtureRequest) -> str:
    dataset: str = request.getfixturevalue("make_dataset")("INTERACTIONS")
    s3.put_object(Bucket="user-data", Key="personalize/i.csv", Body=interactions_csv(n_users=3).encode())
    assert import_and_wait(personalize, tailor, dataset, "s3://user-data/personalize/i.csv", "bulk")["status"] == \
        "ACTIVE"
    return dataset


def batch_inference_output(personalize: Any, tailor: TailorFixture, s3: Any, request: pytest.FixtureRequest) -> Job:
    group = request.getfixturevalue("trained_group")
    version = train(personalize, tailor, make_solution(personalize, tailor, group, recipe=POPULARITY))
    assert version["status"] == "ACTIVE", version.get("failureReason")
    arn = version["solutionVersionArn"]
    s3.put_object(Bucket="user-data", Key="personalize/batch/in.json", Body=b'{"userId": "u1"}\n')
    return Job(
        "jobOutput.s3DataDestination.path", "out/", "ACTIVE",
        lambda name, path: personalize.create_batch_inference_job(
            jobName=name, solutionVersionArn=arn, roleArn=ROLE,
            jobInput={"s3DataSource": {"path": "s3://user-data/personalize/batch/in.json"}},
            jobOutput={"s3DataDestination": {"path": path}})["batchInferenceJobArn"],
        lambda: personalize.list_batch_inference_jobs(solutionVersionArn=arn)["batchInferenceJobs"],
        lambda job: personalize.describe_batch_inference_job(batchInferenceJobArn=job)["batchInferenceJob"]["status"],
    )


def dataset_export_output(personalize: Any, tailor: TailorFixture, s3: Any, request: pytest.FixtureRequest) -> Job:
    dataset = _interactions(personalize, tailor, s3, request)
    return Job(
        "jobOutput.s3DataDestination.path", "exports/", "ACTIVE",
        lambda name, path: personalize.create_dataset_export_job(
            jobName=name, datasetArn=dataset, roleArn=ROLE,
            jobOutput={"s3DataDestination": {"path": path}})["datasetExportJobArn"],
        lambda: personalize.list_dataset_export_jobs(datasetArn=dataset)["datasetExportJobs"],
        lambda job: personalize.describe_dataset_export_job(datasetExportJobArn=job)["datasetExportJob"]["status"],
    )


def data_deletion_input(personalize: Any, tailor: TailorFixture, s3: Any, request: pytest.FixtureRequest) -> Job:
    _interactions(personalize, tailor, s3, request)
    group = request.getfixturevalue("group")
    s3.put_object(Bucket="user-data", Key="personalize/forget.csv", Body=b"USER_ID\nu0\n")
    return Job(
        "dataSource.dataLocation", "forget.csv", "COMPLETED",
        lambda name, path: personalize.create_data_deletion_job(
            jobName=name, datasetGroupArn=group, roleArn=ROLE,
            dataSource={"dataLocation": path})["dataDeletionJobArn"],
        lambda: personalize.list_data_deletion_jobs(datasetGroupArn=group)["dataDeletionJobs"],
        lambda job: personalize.describe_data_deletion_job(dataDeletionJobArn=job)["dataDeletionJob"]["status"],
    )


CLICKS = [{"eventType": "click", "metricName": "clicks", "expression": "SAMPLECOUNT()"}]


def metric_attribution_output(personalize: Any, tailor: TailorFixture, s3: Any,
                              request: pytest.FixtureRequest) -> Job:
    request.getfixturevalue("make_dataset")("INTERACTIONS")
    group = request.getfixturevalue("group")
    return Job(
        "metricsOutputConfig.s3DataDestination.path", "attribution/", "ACTIVE",
        lambda name, path: personalize.create_metric_attribution(
            name=name, datasetGroupArn=group, metrics=CLICKS,
            metricsOutputConfig={"roleArn": ROLE, "s3DataDestination": {"path": path}})["metricAttributionArn"],
        lambda: personalize.list_metric_attributions(datasetGroupArn=group)["metricAttributions"],
        lambda job: personalize.describe_metric_attribution(metricAttributionArn=job)["metricAttribution"]["status"],
    )


@pytest.mark.parametrize("setup", [batch_inference_output, dataset_export_output, data_deletion_input,
                                   metric_attribution_output])
def test_each_job_is_refused_a_path_outside_the_locations_and_nothing_is_created(personalize, tailor, s3, request,
                                                                                 setup):
    job = setup(personalize, tailor, s3, request)
    restrict(tailor, *ALLOWED)
    for prefix in REFUSED:
        path = f"{prefix}{job.file}"
        assert refused(personalize, partial(job.create, "named", path)) == outside(job.member, path)
    assert job.listed() == []
    # The name is still free, and a path under an allowed location works as ever
    arn = job.create("named", f"s3://user-data/personalize/{job.file}")
    tailor.wait()
    assert job.status(arn) == job.done
    assert len(job.listed()) == 1


def test_an_update_to_a_metric_attribution_output_outside_the_locations_changes_nothing(personalize, tailor, group,
                                                                                        make_dataset):
    make_dataset("INTERACTIONS")
    restrict(tailor, *ALLOWED)
    output = {"roleArn": ROLE, "s3DataDestination": {"path": "s3://tailor-data-abc/attribution/"}}
    arn = personalize.create_metric_attribution(name="impact", datasetGroupArn=group, metrics=CLICKS,
                                                metricsOutputConfig=output)["metricAttributionArn"]
    tailor.wait()
    elsewhere = {"roleArn": ROLE, "s3DataDestination": {"path": "s3://other-bucket/attribution/"}}
    message = refused(personalize, lambda: personalize.update_metric_attribution(
        metricAttributionArn=arn, addMetrics=[{**CLICKS[0], "metricName": "more"}], metricsOutputConfig=elsewhere))
    assert message == outside("metricsOutputConfig.s3DataDestination.path", "s3://other-bucket/attribution/")
    assert personalize.describe_metric_attribution(metricAttributionArn=arn)["metricAttribution"][
        "metricsOutputConfig"] == output
    assert [m["metricName"] for m in personalize.list_metric_attribution_metrics(metricAttributionArn=arn)[
        "metrics"]] == ["clicks"]


# ---- the environment variable ----------------------------------------------------------------------------------------


def service_from(value: str | None) -> Any:
    env = {config.ENV_RESOURCES_TABLE: "resources", config.ENV_EVENTS_TABLE: "events",
           config.ENV_ARTIFACTS_BUCKET: "artifacts", config.ENV_REGION: "us-east-1"}
    if value is not None:
        env[config.ENV_DATA_LOCATIONS] = value
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="testing",
                                        aws_secret_access_key="testing")
        return build_service(env, session=session, account="123456789012")


@pytest.mark.parametrize(("value", "locations"), [
    (None, ()),
    ("", ()),
    (" , ,", ()),
    ("s3://tailor-data-abc/,s3://my-bucket/personalize/",
     ("s3://tailor-data-abc/", "s3://my-bucket/personalize/")),
    (" s3://tailor-data-abc/ , ,s3://my-bucket,s3://my.bucket-2/personalize,",
     ("s3://tailor-data-abc/", "s3://my-bucket", "s3://my.bucket-2/personalize")),
])
def test_build_service_reads_the_data_locations(value, locations):
    assert service_from(value).data_locations == locations


@pytest.mark.parametrize("entry", [
    "my-bucket/personalize/",  # no scheme
    "s3://",
    "s3:///personalize/",  # no bucket
    "s3://My_Bucket/",  # not a bucket name S3 accepts
    "s3://ab/",  # too short
    "s3://-bucket/",
    "https://my-bucket.s3.amazonaws.com/personalize/",
    "arn:aws:s3:::my-bucket/personalize/",
    "s3://my-bucket/personalize/*",  # an IAM wildcard, not a prefix
    "s3://my bucket/",
])
def test_a_malformed_data_location_fails_the_cold_start(entry):
    with pytest.raises(ValueError, match=config.ENV_DATA_LOCATIONS) as info:
        service_from(f"s3://tailor-data-abc/,{entry}")
    assert repr(entry) in str(info.value)
