"""Dataset groups through a stock boto3 client: lifecycle, errors, pagination."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"


def test_create_returns_arn_and_goes_pending_to_active(personalize, tailor):
    # When
    out = personalize.create_dataset_group(name="movies")
    # Then
    assert out["datasetGroupArn"] == f"arn:aws:personalize:us-east-1:{ACCOUNT}:dataset-group/movies"
    assert "domain" not in out
    first = personalize.describe_dataset_group(datasetGroupArn=out["datasetGroupArn"])["datasetGroup"]
    assert first["status"] in ("CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
    tailor.wait()
    group = personalize.describe_dataset_group(datasetGroupArn=out["datasetGroupArn"])["datasetGroup"]
    assert group["status"] == "ACTIVE"
    assert group["name"] == "movies"
    assert isinstance(group["creationDateTime"], dt.datetime)
    assert group["lastUpdatedDateTime"] >= group["creationDateTime"]
    assert "failureReason" not in group


def test_domain_group_echoes_domain(personalize, tailor):
    out = personalize.create_dataset_group(name="shop", domain="ECOMMERCE")
    assert out["domain"] == "ECOMMERCE"
    tailor.wait()
    assert personalize.describe_dataset_group(datasetGroupArn=out["datasetGroupArn"])["datasetGroup"]["domain"] == (
        "ECOMMERCE"
    )


def test_timestamps_are_epoch_numbers_on_the_wire(tailor):
    client = tailor.client("personalize")
    seen = {}
    client.meta.events.register("after-call.personalize.DescribeDatasetGroup",
                                lambda http_response, **kw: seen.update(body=http_response.text))
    arn = client.create_dataset_group(name="wire")["datasetGroupArn"]
    client.describe_dataset_group(datasetGroupArn=arn)
    assert '"creationDateTime":' in seen["body"]
    import json
    assert isinstance(json.loads(seen["body"])["datasetGroup"]["creationDateTime"], float | int)


def test_duplicate_name_is_refused(personalize):
    personalize.create_dataset_group(name="dup")
    with pytest.raises(personalize.exceptions.ResourceAlreadyExistsException):
        personalize.create_dataset_group(name="dup")


def test_concurrent_creates_of_one_name_exactly_one_wins(tailor):
    clients = [tailor.client("personalize") for _ in range(6)]
    outcomes: list[str] = []
    barrier = threading.Barrier(len(clients))

    def create(client):
        barrier.wait()
        try:
            client.create_dataset_group(name="race")
            outcomes.append("created")
        except ClientError as err:
            outcomes.append(err.response["Error"]["Code"])

    threads = [threading.Thread(target=create, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ResourceAlreadyExistsException"] * 5 + ["created"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "has space"}, "regular expression pattern"),
        ({"name": "x" * 64}, "length less than or equal to 63"),
        ({"name": "ok", "domain": "RETAIL"}, "enum value set"),
        ({"name": "ok", "roleArn": "not-an-arn"}, "regular expression pattern"),
        ({"name": "ok", "tags": [{"tagKey": "k" * 129, "tagValue": "v"}]}, "length less than or equal to 128"),
    ],
)
def test_server_side_validation(personalize, kwargs, fragment):
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_dataset_group(**kwargs)
    assert fragment in str(err.value)


def test_unknown_arn_is_not_found(personalize):
    arn = f"arn:aws:personalize:us-east-1:{ACCOUNT}:dataset-group/missing"
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_dataset_group(datasetGroupArn=arn)
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.delete_dataset_group(datasetGroupArn=arn)


def test_delete_is_seen_in_progress_then_the_group_disappears(personalize, tailor, group, monkeypatch):
    """A notebook's cleanup: delete, print the status, poll until ResourceNotFoundException. Personalize shows the
    group being deleted for a while; the first Describe after the Delete must not already fail."""
    monkeypatch.setattr(tailor.embedded.service, "deletion_linger_seconds", 0.5)
    personalize.delete_dataset_group(datasetGroupArn=group)
    tailor.wait()  # even when the deletion job has already run
    assert personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"] == "DELETE IN_PROGRESS"
    listed = personalize.list_dataset_groups()["datasetGroups"]
    assert [g["status"] for g in listed if g["datasetGroupArn"] == group] == ["DELETE IN_PROGRESS"]
    with pytest.raises(personalize.exceptions.ResourceAlreadyExistsException):
        personalize.create_dataset_group(name="walkthrough")  # not yet: it is still being deleted
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            seen.append(personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"])
        except personalize.exceptions.ResourceNotFoundException:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the deleted group never disappeared: {seen[-3:]}")
    assert group not in [g["datasetGroupArn"] for g in personalize.list_dataset_groups()["datasetGroups"]]
    # the name is free again
    personalize.create_dataset_group(name="walkthrough")


def test_delete_with_datasets_is_in_use(personalize, make_dataset, group):
    make_dataset("INTERACTIONS")
    with pytest.raises(personalize.exceptions.ResourceInUseException) as err:
        personalize.delete_dataset_group(datasetGroupArn=group)
    assert "dataset" in str(err.value)


def test_paginator_walks_every_page_with_max_results_one(personalize):
    names = {f"group-{i}" for i in range(5)}
    for name in sorted(names):
        personalize.create_dataset_group(name=name)
    pages = list(personalize.get_paginator("list_dataset_groups").paginate(PaginationConfig={"PageSize": 1}))
    seen = [g["name"] for page in pages for g in page["datasetGroups"]]
    assert len(pages) == 5
    assert set(seen) == names and len(seen) == 5
    assert "nextToken" not in pages[-1]
    assert all("nextToken" in page for page in pages[:-1])


def test_list_is_newest_first_and_summaries_have_the_summary_shape(personalize):
    for name in ("a1", "a2", "a3"):
        personalize.create_dataset_group(name=name)
    groups = personalize.list_dataset_groups()["datasetGroups"]
    assert [g["name"] for g in groups] == ["a3", "a2", "a1"]
    assert set(groups[0]) <= {"name", "datasetGroupArn", "status", "creationDateTime", "lastUpdatedDateTime",
                              "failureReason", "domain"}


@pytest.mark.parametrize("token", ["garbage", "A" * 40, ""])
def test_tampered_next_token_is_invalid(personalize, token):
    for name in ("t1", "t2"):
        personalize.create_dataset_group(name=name)
    good = personalize.list_dataset_groups(maxResults=1)["nextToken"]
    bad = token or (good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    with pytest.raises(personalize.exceptions.InvalidNextTokenException):
        personalize.list_dataset_groups(nextToken=bad)


def test_token_from_another_listing_is_invalid(personalize, group, make_dataset):
    for name in ("t1", "t2"):
        personalize.create_dataset_group(name=name)
    token = personalize.list_dataset_groups(maxResults=1)["nextToken"]
    with pytest.raises(personalize.exceptions.InvalidNextTokenException):
        personalize.list_schemas(nextToken=token)


@pytest.mark.parametrize("kwargs", [{"roleArn": "arn:aws:iam::123456789012:role/R"},
                                    {"kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k"}])
def test_role_and_kms_key_go_together(personalize, kwargs):
    with pytest.raises(personalize.exceptions.InvalidInputException) as err:
        personalize.create_dataset_group(name="enc", **kwargs)
    assert "kmsKeyArn" in str(err.value)


def test_encrypted_group_keeps_role_and_key(personalize):
    role, key = "arn:aws:iam::123456789012:role/R", "arn:aws:kms:us-east-1:123456789012:key/k"
    arn = personalize.create_dataset_group(name="enc", roleArn=role, kmsKeyArn=key)["datasetGroupArn"]
    group = personalize.describe_dataset_group(datasetGroupArn=arn)["datasetGroup"]
    assert (group["roleArn"], group["kmsKeyArn"]) == (role, key)


def test_each_call_reaches_tailor_exactly_once(tailor, monkeypatch):
    calls = []
    real_handle = tailor.embedded.handle
    monkeypatch.setattr(tailor.embedded, "handle", lambda *a: calls.append(a[1]) or real_handle(*a))
    client = tailor.client("personalize")
    client.list_dataset_groups()
    import boto3

    boto3.client("personalize", region_name="us-east-1").list_dataset_groups()  # the user's own client
    assert len(calls) == 2
