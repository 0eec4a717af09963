"""Metric attributions through stock boto3 clients: the resource, its checks, and the reports (S3 and CloudWatch)."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tailor.testing import TailorFixture
from tests.contract.conftest import import_and_wait
from tests.contract.test_walkthrough import active_interactions_dataset, wait_status

ROLE = "arn:aws:iam::123456789012:role/PersonalizeMetrics"
OUTPUT = {"roleArn": ROLE, "s3DataDestination": {"path": "s3://reports/attribution/"}}
T0 = 1_699_999_200  # a 15-minute window starts here (a multiple of 900 epoch seconds)
NAMESPACE = "Tailor/MetricAttribution"

# Interactions that carry their attribution source in the bulk data (EVENT_ATTRIBUTION_SOURCE column).
SOURCED_INTERACTIONS = json.dumps({"type": "record", "name": "Interactions", "fields": [
    {"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
    {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"},
    {"name": "EVENT_VALUE", "type": ["null", "float"]},
    {"name": "EVENT_ATTRIBUTION_SOURCE", "type": ["null", "string"]}]})
ITEMS = json.dumps({"type": "record", "name": "Items", "fields": [
    {"name": "ITEM_ID", "type": "string"}, {"name": "GENRE", "type": ["null", "string"], "categorical": True},
    {"name": "PRICE", "type": ["null", "float"]}]})
ITEMS_CSV = "ITEM_ID,GENRE,PRICE\ni1,Comedy,10.0\ni2,Drama,2.5\ni3,Horror,\n"  # i3 has no price

METRICS = [
    {"eventType": "click", "metricName": "clicks", "expression": "SAMPLECOUNT()"},
    {"eventType": "purchase", "metricName": "revenue", "expression": "SUM(Items.PRICE)"},
    {"eventType": "purchase", "metricName": "value", "expression": "sum( Interactions.event_value )"},
]


def error_of(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(Exception) as info:
        call()
    error = info.value.response["Error"]  # type: ignore[attr-defined]
    return error["Code"], error["Message"]


@pytest.fixture
def shop(personalize: Any, tailor: TailorFixture, s3: Any, group: str) -> dict[str, str]:
    """A group with an Interactions dataset (bulk rows carry a source) and an imported Items dataset with PRICE."""
    s3.create_bucket(Bucket="reports")
    arns = {"group": group}
    for dataset_type, schema in (("INTERACTIONS", SOURCED_INTERACTIONS), ("ITEMS", ITEMS)):
        schema_arn = personalize.create_schema(name=f"{dataset_type.lower()}-s", schema=schema)["schemaArn"]
        arns[dataset_type] = personalize.create_dataset(
            name=dataset_type.lower(), schemaArn=schema_arn, datasetGroupArn=group, datasetType=dataset_type,
        )["datasetArn"]
    tailor.wait()
    s3.put_object(Bucket="user-data", Key="items.csv", Body=ITEMS_CSV.encode())
    assert import_and_wait(personalize, tailor, arns["ITEMS"], "s3://user-data/items.csv", "items")["status"] == \
        "ACTIVE"
    return arns


def create(personalize: Any, tailor: TailorFixture, group: str, name: str = "impact",
           metrics: list[dict[str, str]] | None = None) -> str:
    arn = personalize.create_metric_attribution(name=name, datasetGroupArn=group, metrics=metrics or METRICS,
                                                metricsOutputConfig=OUTPUT)["metricAttributionArn"]
    tailor.wait()
    return str(arn)


def tracked_attribution(personalize: Any, tailor: TailorFixture, group: str, make_dataset: Any) -> tuple[str, str, Any]:
    """A group with interactions and items, an attribution (METRICS) and an event tracker: (attribution ARN, tracking
    id, a personalize-events client)."""
    make_dataset("INTERACTIONS")
    make_dataset("ITEMS")
    arn = create(personalize, tailor, group)
    tracking = personalize.create_event_tracker(name="t", datasetGroupArn=group)["trackingId"]
    tailor.wait()
    return arn, tracking, tailor.client("personalize-events")


def reports(s3: Any) -> list[tuple[str, list[list[str]]]]:
    """Every report under the destination: (key, rows without the header), checking the header on the way."""
    found = []
    for obj in s3.list_objects_v2(Bucket="reports", Prefix="attribution/").get("Contents", []):
        text = s3.get_object(Bucket="reports", Key=obj["Key"])["Body"].read().decode()
        header, *rows = list(csv.reader(io.StringIO(text)))
        assert header == ["METRIC_NAME", "EVENT_TYPE", "VALUE", "MATH_FUNCTION", "EVENT_ATTRIBUTION_SOURCE",
                          "TIMESTAMP"]
        found.append((obj["Key"], rows))
    return found


def import_interactions(personalize: Any, tailor: TailorFixture, s3: Any, dataset: str, body: str, name: str,
                        publish: bool = True) -> None:
    s3.put_object(Bucket="user-data", Key=f"{name}.csv", Body=body.encode())
    arn = personalize.create_dataset_import_job(
        jobName=name, datasetArn=dataset, dataSource={"dataLocation": f"s3://user-data/{name}.csv"},
        roleArn=ROLE, importMode="INCREMENTAL", publishAttributionMetricsToS3=publish,
    )["datasetImportJobArn"]
    tailor.wait()
    assert personalize.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]["status"] == "ACTIVE"


# ---- the resource ----------------------------------------------------------------------------------------


def test_create_describe_list_and_delete(personalize, tailor, shop):
    arn = personalize.create_metric_attribution(name="impact", datasetGroupArn=shop["group"], metrics=METRICS,
                                                metricsOutputConfig=OUTPUT)["metricAttributionArn"]
    assert arn == "arn:aws:personalize:us-east-1:123456789012:metric-attribution/impact"
    assert personalize.describe_metric_attribution(metricAttributionArn=arn)["metricAttribution"]["status"] in (
        "CREATE PENDING", "CREATE IN_PROGRESS", "ACTIVE")
    tailor.wait()
    described = personalize.describe_metric_attribution(metricAttributionArn=arn)["metricAttribution"]
    assert {k: described[k] for k in ("name", "metricAttributionArn", "datasetGroupArn", "metricsOutputConfig",
                                      "status")} == {
        "name": "impact", "metricAttributionArn": arn, "datasetGroupArn": shop["group"], "metricsOutputConfig": OUTPUT,
        "status": "ACTIVE"}
    assert described["creationDateTime"] <= described["lastUpdatedDateTime"]
    assert personalize.list_metric_attribution_metrics(metricAttributionArn=arn)["metrics"] == METRICS
    [summary] = personalize.list_metric_attributions(datasetGroupArn=shop["group"])["metricAttributions"]
    assert (summary["name"], summary["metricAttributionArn"], summary["status"]) == ("impact", arn, "ACTIVE")
    assert [a["metricAttributionArn"] for a in personalize.list_metric_attributions()["metricAttributions"]] == [arn]

    personalize.delete_metric_attribution(metricAttributionArn=arn)  # DELETE PENDING, then gone
    tailor.wait()
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_metric_attribution(metricAttributionArn=arn)
    assert personalize.list_metric_attributions(datasetGroupArn=shop["group"])["metricAttributions"] == []
    # Once it is gone the group can have another
    create(personalize, tailor, shop["group"], name="impact-2")


def test_pagination_of_attributions_and_of_their_metrics(personalize, tailor, shop):
    arn = create(personalize, tailor, shop["group"])
    other_group = personalize.create_dataset_group(name="other")["datasetGroupArn"]
    tailor.wait()
    other = create(personalize, tailor, other_group, name="other-impact", metrics=METRICS[:1])
    pages = list(personalize.get_paginator("list_metric_attributions").paginate(PaginationConfig={"PageSize": 1}))
    assert len(pages) == 2 and "nextToken" not in pages[-1]
    assert sorted(a["metricAttributionArn"] for p in pages for a in p["metricAttributions"]) == sorted([arn, other])
    pages = list(personalize.get_paginator("list_metric_attribution_metrics").paginate(
        metricAttributionArn=arn, PaginationConfig={"PageSize": 2}))
    assert [len(p["metrics"]) for p in pages] == [2, 1] and "nextToken" not in pages[-1]
    assert [m for p in pages for m in p["metrics"]] == METRICS
    code, _ = error_of(lambda: personalize.list_metric_attribution_metrics(metricAttributionArn=other,
                                                                           nextToken=pages[0]["nextToken"]))
    assert code == "InvalidNextTokenException"  # a token is only good for the listing it came from


def test_bad_requests_are_refused_naming_the_problem(personalize, tailor, shop):
    unchecked = tailor.client("personalize", config=Config(parameter_validation=False))
    bare_group = personalize.create_dataset_group(name="bare")["datasetGroupArn"]
    tailor.wait()

    def metric(expression: str, **overrides: str) -> dict[str, str]:
        return {"eventType": "purchase", "metricName": "m", "expression": expression, **overrides}

    cases = [
        ([metric("COUNT(*)")], shop["group"], OUTPUT, "InvalidInputException", "is not a metric expression"),
        ([metric("SUM(PRICE)")], shop["group"], OUTPUT, "InvalidInputException", "SUM(DatasetType.COLUMN)"),
        ([metric("SUM(Users.AGE)")], shop["group"], OUTPUT, "InvalidInputException", "not of Users"),
        ([metric("SUM(Items.COLOR)")], shop["group"], OUTPUT, "InvalidInputException",
         "the Items schema has no field COLOR (its numeric fields: PRICE)"),
        ([metric("SUM(Items.GENRE)")], shop["group"], OUTPUT, "InvalidInputException", "Items.GENRE, a string field"),
        ([metric("SUM(Interactions.USER_ID)")], shop["group"], OUTPUT, "InvalidInputException", "a string field"),
        ([metric("SUM(Items.PRICE)")], bare_group, OUTPUT, "InvalidInputException", "has no Items dataset"),
        ([metric("SAMPLECOUNT()", metricName=f"m{i}") for i in range(11)], shop["group"], OUTPUT,
         "InvalidInputException", "less than or equal to 10"),
        ([metric("SAMPLECOUNT()"), metric("SUM(Items.PRICE)")], shop["group"], OUTPUT, "InvalidInputException",
         "names metric m twice"),
        ([metric("SAMPLECOUNT()", metricName=" ")], shop["group"], OUTPUT, "InvalidInputException",
         "metrics[0].metricName"),
        ([metric("SAMPLECOUNT()", eventType="")], shop["group"], OUTPUT, "InvalidInputException",
         "metrics[0].eventType"),
        ([], shop["group"], OUTPUT, "InvalidInputException", "at least one metric"),
        ([metric("SAMPLECOUNT()")], shop["group"], {"roleArn": ROLE, "s3DataDestination": {"path": "https://x/y"}},
         "InvalidInputException", "s3DataDestination.path"),
        ([metric("SAMPLECOUNT()")], shop["group"], {"roleArn": "not-a-role"}, "InvalidInputException", "roleArn"),
        ([metric("SAMPLECOUNT()")], shop["group"].replace("walkthrough", "missing"), OUTPUT,
         "ResourceNotFoundException", "missing"),
    ]
    for metrics, group, output, expected_code, fragment in cases:
        request = {"name": "bad", "datasetGroupArn": group, "metrics": metrics, "metricsOutputConfig": output}
        code, message = error_of(lambda request=request: unchecked.create_metric_attribution(**request))
        assert (code, fragment in message) == (expected_code, True), (fragment, message)
    assert personalize.list_metric_attributions()["metricAttributions"] == []

    # One metric attribution per dataset group
    first = create(personalize, tailor, shop["group"])
    code, message = error_of(lambda: personalize.create_metric_attribution(
        name="second", datasetGroupArn=shop["group"], metrics=METRICS, metricsOutputConfig=OUTPUT))
    assert code == "ResourceAlreadyExistsException" and first in message


def test_update_adds_and_removes_metrics_and_changes_the_output(personalize, tailor, shop):
    arn = create(personalize, tailor, shop["group"])

    def names() -> list[str]:
        return [m["metricName"] for m in personalize.list_metric_attribution_metrics(metricAttributionArn=arn)
                ["metrics"]]

    views = {"eventType": "view", "metricName": "views", "expression": "SAMPLECOUNT()"}
    assert personalize.update_metric_attribution(metricAttributionArn=arn, addMetrics=[views])[
        "metricAttributionArn"] == arn
    assert names() == ["clicks", "revenue", "value", "views"]
    personalize.update_metric_attribution(metricAttributionArn=arn, removeMetrics=["clicks", "value"])
    assert names() == ["revenue", "views"]
    # Removed first, then added: one call replaces a metric
    new_views = {**views, "eventType": "watch"}
    personalize.update_metric_attribution(metricAttributionArn=arn, removeMetrics=["views"], addMetrics=[new_views])
    assert personalize.list_metric_attribution_metrics(metricAttributionArn=arn)["metrics"][-1] == new_views
    new_output = {"roleArn": ROLE, "s3DataDestination": {"path": "s3://reports/elsewhere"}}
    personalize.update_metric_attribution(metricAttributionArn=arn, metricsOutputConfig=new_output)
    described = personalize.describe_metric_attribution(metricAttributionArn=arn)["metricAttribution"]
    assert (described["metricsOutputConfig"], described["status"]) == (new_output, "ACTIVE")

    refused = [
        ({"addMetrics": [new_views]}, "ResourceAlreadyExistsException", "views is already a metric"),
        ({"removeMetrics": ["nope"]}, "InvalidInputException", "has no metric nope"),
        ({"removeMetrics": ["revenue", "views"]}, "InvalidInputException", "at least one metric"),
        ({"addMetrics": [{**views, "metricName": f"v{i}"} for i in range(9)]}, "InvalidInputException",
         "at most 10 metrics; this would make it 11"),
        ({"addMetrics": [{**views, "metricName": "x", "expression": "SUM(Items.NOPE)"}]}, "InvalidInputException",
         "addMetrics[0].expression"),
        ({}, "InvalidInputException", "Nothing to update"),
    ]
    for request, expected_code, fragment in refused:
        code, message = error_of(lambda request=request: personalize.update_metric_attribution(
            metricAttributionArn=arn, **request))
        assert (code, fragment in message) == (expected_code, True), (fragment, message)
    assert names() == ["revenue", "views"]


def test_a_dataset_group_takes_its_metric_attribution_along_when_deleted(personalize, tailor):
    group = personalize.create_dataset_group(name="short-lived")["datasetGroupArn"]
    tailor.wait()
    arn = create(personalize, tailor, group, metrics=METRICS[:1])  # SAMPLECOUNT() needs no dataset
    personalize.delete_dataset_group(datasetGroupArn=group)
    tailor.wait()
    with pytest.raises(personalize.exceptions.ResourceNotFoundException):
        personalize.describe_metric_attribution(metricAttributionArn=arn)


# ---- reports ---------------------------------------------------------------------------------------------


def test_an_import_publishes_the_metrics_of_the_bulk_data_to_s3(personalize, tailor, s3, shop):
    create(personalize, tailor, shop["group"])
    header = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE,EVENT_ATTRIBUTION_SOURCE\n"
    body = header + "".join(f"{row}\n" for row in [
        f"u1,i1,{T0 + 10},click,,email",
        f"u1,i1,{T0 + 20},purchase,3.0,email",
        f"u2,i2,{T0 + 30},click,,email",
        f"u2,i2,{T0 + 40},purchase,1.5,",  # no source: SOURCE_NAME_UNDEFINED
        f"u2,i2,{T0 + 50},click,,",
        f"u3,i3,{T0 + 905},purchase,2.0,email",  # next window; i3 has no PRICE
        f"u3,i1,{T0 + 906},purchase,,email",  # no EVENT_VALUE
        f"u3,i1,{T0 + 907},view,,email",  # no metric counts views
    ])
    import_interactions(personalize, tailor, s3, shop["INTERACTIONS"], body, "quiet", publish=False)
    assert reports(s3) == []  # only imports that ask for it publish

    # INCREMENTAL: the report covers all the dataset holds, the earlier import's rows too
    import_interactions(personalize, tailor, s3, shop["INTERACTIONS"], f"{header}u4,i2,{T0 + 60},click,,push\n",
                        "published")
    [(key, rows)] = reports(s3)
    assert re.fullmatch(r"attribution/AggregatedAttributionMetrics-INCREMENTAL-\d+\.csv", key), key
    undefined = "SOURCE_NAME_UNDEFINED"
    assert rows == [  # by hand: metric (as listed), window, source
        ["clicks", "click", "1.0", "samplecount", undefined, str(T0)],  # u2 at +50
        ["clicks", "click", "2.0", "samplecount", "email", str(T0)],  # u1 +10, u2 +30
        ["clicks", "click", "1.0", "samplecount", "push", str(T0)],  # the second import's u4
        ["revenue", "purchase", "2.5", "sum", undefined, str(T0)],  # i2
        ["revenue", "purchase", "10.0", "sum", "email", str(T0)],  # i1
        ["revenue", "purchase", "10.0", "sum", "email", str(T0 + 900)],  # i1 (i3 has no price)
        ["value", "purchase", "1.5", "sum", undefined, str(T0)],
        ["value", "purchase", "3.0", "sum", "email", str(T0)],
        ["value", "purchase", "2.0", "sum", "email", str(T0 + 900)],  # u3's second purchase has no value
    ]


def test_put_events_sources_count_in_the_next_report(personalize, tailor, s3, group, make_dataset):
    # Given an Interactions schema without an EVENT_ATTRIBUTION_SOURCE field: PutEvents' source is kept anyway
    s3.create_bucket(Bucket="reports")
    interactions = make_dataset("INTERACTIONS")
    items = personalize.create_dataset(name="items", datasetGroupArn=group, datasetType="ITEMS", schemaArn=personalize
                                       .create_schema(name="items-s", schema=ITEMS)["schemaArn"])["datasetArn"]
    tailor.wait()
    s3.put_object(Bucket="user-data", Key="items.csv", Body=ITEMS_CSV.encode())
    import_and_wait(personalize, tailor, items, "s3://user-data/items.csv", "items")
    create(personalize, tailor, group)
    tracking = personalize.create_event_tracker(name="t", datasetGroupArn=group)["trackingId"]
    tailor.wait()
    events = tailor.client("personalize-events")
    events.put_items(datasetArn=items, items=[{"itemId": "i9", "properties": '{"price": 4.0}'}])  # put, not imported
    events.put_events(trackingId=tracking, userId="u1", sessionId="s1", eventList=[
        {"eventId": "e1", "eventType": "click", "itemId": "i1", "sentAt": T0 + 10,
         "metricAttribution": {"eventAttributionSource": "web"}},
        {"eventId": "e2", "eventType": "purchase", "itemId": "i1", "eventValue": 3.0, "sentAt": T0 + 20,
         "metricAttribution": {"eventAttributionSource": "web"}},
        {"eventId": "e3", "eventType": "purchase", "itemId": "i9", "eventValue": 1.0, "sentAt": T0 + 30},
        {"eventId": "e4", "eventType": "click", "itemId": "i2", "sentAt": T0 + 900, "recommendationId": "RID-1"},
    ])
    stored = tailor.embedded.service.events.user_events(group, "u1", 10)
    assert [e.event_attribution_source for e in stored] == ["web", "web", None, None]

    import_interactions(personalize, tailor, s3, interactions,
                        f"USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\nu5,i2,{T0 + 40},purchase,2.0\n", "bulk")
    [(_, rows)] = reports(s3)
    undefined = "SOURCE_NAME_UNDEFINED"
    assert rows == [
        ["clicks", "click", "1.0", "samplecount", "web", str(T0)],  # e1
        ["clicks", "click", "1.0", "samplecount", undefined, str(T0 + 900)],  # e4: Tailor cannot trace RID-1
        ["revenue", "purchase", "6.5", "sum", undefined, str(T0)],  # i9 put (4.0) + bulk i2 (2.5)
        ["revenue", "purchase", "10.0", "sum", "web", str(T0)],  # i1
        ["value", "purchase", "3.0", "sum", undefined, str(T0)],  # e3 1.0 + bulk 2.0
        ["value", "purchase", "3.0", "sum", "web", str(T0)],  # e2
    ]


def test_inside_lambda_put_events_writes_attribution_metrics_to_cloudwatch(personalize, tailor, group, make_dataset,
                                                                            monkeypatch, capsys, caplog):
    arn, tracking, events = tracked_attribution(personalize, tailor, group, make_dataset)
    now = int(time.time()) // 60 * 60 + 1  # early in a minute, so the batch lands in one minute
    batch = [
        {"eventType": "click", "itemId": "i1", "sentAt": now, "metricAttribution": {"eventAttributionSource": "web"}},
        {"eventType": "click", "itemId": "i2", "sentAt": now + 1,
         "metricAttribution": {"eventAttributionSource": "web"}},
        {"eventType": "purchase", "itemId": "i1", "eventValue": 2.5, "sentAt": now + 2,
         "metricAttribution": {"eventAttributionSource": "web"}},
        {"eventType": "purchase", "itemId": "i2", "eventValue": 4.0, "sentAt": now + 3},
        {"eventType": "click", "itemId": "i1", "sentAt": now - 15 * 86400,  # too old for CloudWatch
         "metricAttribution": {"eventAttributionSource": "web"}},
    ]
    capsys.readouterr()
    # Outside Lambda no EMF line is written (local mode puts the metrics in its CloudWatch instead); with DEBUG
    # logging on, the same figures are logged
    events.put_events(trackingId=tracking, userId="u0", sessionId="s0", eventList=batch)
    assert '"_aws"' not in capsys.readouterr().out
    with caplog.at_level(logging.DEBUG, logger="tailor.attribution"):
        events.put_events(trackingId=tracking, userId="u0", sessionId="s0", eventList=batch)
    logged = [r.getMessage() for r in caplog.records if r.name == "tailor.attribution"]
    assert len(logged) == 2 and any("'web'" in m and "'clicks': 2.0" in m for m in logged), logged

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "tailor-api")
    events.put_events(trackingId=tracking, userId="u1", sessionId="s1", eventList=batch)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    mine = [m for m in lines if m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == NAMESPACE]
    assert len(mine) == 2  # one line per source
    by_source = {m["EventAttributionSource"]: m for m in mine}
    assert set(by_source) == {"web", "SOURCE_NAME_UNDEFINED"}
    for line in by_source.values():
        [directive] = line["_aws"]["CloudWatchMetrics"]
        assert set(directive["Dimensions"][0]) == {"MetricAttributionArn", "EventAttributionSource", "service"}
        assert (line["MetricAttributionArn"], line["service"]) == (arn, "tailor")
        assert line["_aws"]["Timestamp"] == now // 60 * 60 * 1000  # dated to the events' minute
        units = {d["Name"]: d["Unit"] for d in directive["Metrics"]}
        assert "revenue" not in units  # SUM(Items.*) is in the S3 reports only
        assert all(units[name] == ("Count" if name == "clicks" else "None") for name in units), units
    web, undefined = by_source["web"], by_source["SOURCE_NAME_UNDEFINED"]
    # One value per metric and line (Powertools writes lists): the batch's total; the 15-day-old click is left out
    assert (web["clicks"], web["value"]) == ([2.0], [2.5])
    assert undefined["value"] == [4.0] and "clicks" not in undefined

    # The lines name the metrics local mode put in its CloudWatch for the same batch, and inside Lambda nothing else
    # goes to CloudWatch: its totals are those of the two puts made outside Lambda
    cloudwatch = tailor.client("cloudwatch")
    directives = [(line, line["_aws"]["CloudWatchMetrics"][0]) for line in mine]
    assert listed_metrics(cloudwatch) == {
        (metric["Name"], frozenset((name, line[name]) for name in directive["Dimensions"][0]))
        for line, directive in directives for metric in directive["Metrics"]
    }
    minute = now // 60 * 60
    assert attribution_metric(cloudwatch, arn, "clicks", "web", minute, minute + 60) == [(minute, 4.0)]


# ---- CloudWatch, queried as the README says ---------------------------------------------------------------


def attribution_metric(cloudwatch: Any, attribution: str, metric: str, source: str, start: int, end: int,
                       ) -> list[tuple[int, float]]:
    """The README's query: one metric of one attribution and source, summed per 15 minutes, as (window start,
    total) pairs in time order."""
    [result] = cloudwatch.get_metric_data(
        MetricDataQueries=[{"Id": "m", "MetricStat": {"Metric": {
            "Namespace": "Tailor/MetricAttribution", "MetricName": metric,
            "Dimensions": [{"Name": "service", "Value": "tailor"},
                           {"Name": "MetricAttributionArn", "Value": attribution},
                           {"Name": "EventAttributionSource", "Value": source}]},
            "Period": 900, "Stat": "Sum"}}],
        StartTime=datetime.fromtimestamp(start, UTC), EndTime=datetime.fromtimestamp(end, UTC),
        ScanBy="TimestampAscending")["MetricDataResults"]
    return [(int(t.timestamp()), v) for t, v in zip(result["Timestamps"], result["Values"], strict=True)]


def listed_metrics(cloudwatch: Any) -> set[tuple[str, frozenset[tuple[str, str]]]]:
    """(metric name, its dimensions) of every metric in Tailor's attribution namespace."""
    pages = cloudwatch.get_paginator("list_metrics").paginate(Namespace=NAMESPACE)
    return {(m["MetricName"], frozenset((d["Name"], d["Value"]) for d in m["Dimensions"]))
            for page in pages for m in page["Metrics"]}


def test_put_events_metrics_are_queryable_in_local_cloudwatch(personalize, tailor, group, make_dataset):
    # Given an attribution with a count, a SUM of the event's value and a SUM(Items.*) (S3 reports only)
    arn, tracking, events = tracked_attribution(personalize, tailor, group, make_dataset)
    window = (int(time.time()) // 900 - 2) * 900  # a whole 15-minute window in the past
    web, email = {"eventAttributionSource": "web"}, {"eventAttributionSource": "email"}

    # When two PutEvents calls put events of three sources over two windows
    events.put_events(trackingId=tracking, userId="u1", sessionId="s1", eventList=[
        {"eventType": "click", "itemId": "i1", "sentAt": window + 10, "metricAttribution": web},
        {"eventType": "click", "itemId": "i2", "sentAt": window + 70, "metricAttribution": web},  # another minute
        {"eventType": "purchase", "itemId": "i1", "eventValue": 2.5, "sentAt": window + 80, "metricAttribution": web},
        {"eventType": "purchase", "itemId": "i2", "eventValue": 4.0, "sentAt": window + 90},  # no source
        {"eventType": "click", "itemId": "i1", "sentAt": window + 905, "metricAttribution": web},  # next window
        {"eventType": "click", "itemId": "i1", "sentAt": window - 15 * 86400, "metricAttribution": web},  # too old
    ])
    events.put_events(trackingId=tracking, userId="u2", sessionId="s2", eventList=[
        {"eventType": "click", "itemId": "i3", "sentAt": window + 20, "metricAttribution": email},
        {"eventType": "purchase", "itemId": "i3", "eventValue": 1.0, "sentAt": window + 30, "metricAttribution": web},
        {"eventType": "click", "itemId": "i3", "sentAt": window + 15, "recommendationId": "RID-1"},  # untraceable
        {"eventType": "view", "itemId": "i3", "sentAt": window + 16, "metricAttribution": web},  # no metric counts it
    ])

    # Then a stock cloudwatch client reads the totals per source and 15-minute window
    cloudwatch = tailor.client("cloudwatch")
    undefined = "SOURCE_NAME_UNDEFINED"

    def query(metric: str, source: str) -> list[tuple[int, float]]:
        return attribution_metric(cloudwatch, arn, metric, source, window, window + 1800)

    assert query("clicks", "web") == [(window, 2.0), (window + 900, 1.0)]
    assert query("clicks", "email") == [(window, 1.0)]
    assert query("clicks", undefined) == [(window, 1.0)]
    assert query("value", "web") == [(window, 3.5)]  # 2.5 + 1.0, from both calls
    assert query("value", undefined) == [(window, 4.0)]
    assert query("revenue", "web") == []  # SUM(Items.*): in the S3 reports only
    common = {("service", "tailor"), ("MetricAttributionArn", arn)}
    assert listed_metrics(cloudwatch) == {
        (name, frozenset({*common, ("EventAttributionSource", source)}))
        for name, source in [("clicks", "web"), ("clicks", "email"), ("clicks", undefined), ("value", "web"),
                             ("value", undefined)]
    }
    # get_metric_statistics too: one data point per minute with events, SAMPLECOUNT() counted in Count
    stats = cloudwatch.get_metric_statistics(
        Namespace=NAMESPACE, MetricName="clicks", Statistics=["Sum", "SampleCount"], Period=900,
        Dimensions=[{"Name": "EventAttributionSource", "Value": "web"}, {"Name": "MetricAttributionArn", "Value": arn},
                    {"Name": "service", "Value": "tailor"}],
        StartTime=datetime.fromtimestamp(window, UTC), EndTime=datetime.fromtimestamp(window + 900, UTC),
    )["Datapoints"]
    assert [(p["Sum"], p["SampleCount"], p["Unit"]) for p in stats] == [(2.0, 2.0, "Count")]


def readme_query() -> str:
    """The query the README's "Metric attribution metrics" section gives (its Python block)."""
    text = (Path(__file__).parents[2] / "README.md").read_text()
    section = text.split("### Metric attribution metrics\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def test_attribution_metrics_reach_cloudwatch_behind_tailor_serve(served, monkeypatch):
    """The README's local story: `tailor serve`, stock clients through AWS_ENDPOINT_URL, then the README's query."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", served)
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
    config = Config(retries={"max_attempts": 1})
    personalize = session.client("personalize", config=config)
    group, _ = active_interactions_dataset(personalize, "attribution-served", "interactions")
    arn = personalize.create_metric_attribution(
        name="served", datasetGroupArn=group, metrics=METRICS[:1],
        metricsOutputConfig={"roleArn": ROLE})["metricAttributionArn"]
    assert wait_status(lambda: personalize.describe_metric_attribution(metricAttributionArn=arn)[
        "metricAttribution"]["status"]) == "ACTIVE"
    tracker = personalize.create_event_tracker(name="served", datasetGroupArn=group)["eventTrackerArn"]
    assert wait_status(lambda: personalize.describe_event_tracker(eventTrackerArn=tracker)["eventTracker"]
                       ["status"]) == "ACTIVE"
    tracking = personalize.describe_event_tracker(eventTrackerArn=tracker)["eventTracker"]["trackingId"]
    window = (int(time.time()) // 900 - 2) * 900
    session.client("personalize-events", config=config).put_events(
        trackingId=tracking, userId="u1", sessionId="s1", eventList=[
            {"eventType": "click", "itemId": f"i{i}", "sentAt": window + 60 * i,
             "metricAttribution": {"eventAttributionSource": "web"}} for i in range(3)])

    # The README's query, word for word (its boto3.client made from this session, which has the credentials)
    cloudwatch = session.client("cloudwatch", config=config)
    sent: list[dict[str, Any]] = []
    cloudwatch.meta.events.register("before-parameter-build.cloudwatch.GetMetricData",
                                    lambda params, **_: sent.append(params))
    code = readme_query().replace("cloudwatch.get_metric_data(", "result = cloudwatch.get_metric_data(", 1)
    scope: dict[str, Any] = {
        "boto3": SimpleNamespace(client=lambda name: cloudwatch),
        "start": datetime.fromtimestamp(window, UTC), "end": datetime.fromtimestamp(window + 900, UTC),
        "attribution_arn": arn,
    }
    exec(code, scope)
    result = scope["result"]
    assert ([int(t.timestamp()) for t in result["Timestamps"]], result["Values"]) == ([window], [3.0])
    # moto's get_metric_data overlooks the namespace when dimensions are given: list_metrics checks it, and that the
    # README names exactly the metric's dimensions (moto lists a metric once per data point)
    [query] = sent[0]["MetricDataQueries"]
    asked = query["MetricStat"]["Metric"]
    listed = cloudwatch.list_metrics(Namespace=asked["Namespace"], MetricName=asked["MetricName"])["Metrics"]
    assert {frozenset((d["Name"], d["Value"]) for d in m["Dimensions"]) for m in listed} == {
        frozenset((d["Name"], d["Value"]) for d in asked["Dimensions"])}
