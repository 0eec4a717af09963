"""`tailor demo`: the Personalize walkthrough on the shipped airline sample, through stock boto3 clients against a
local endpoint this command starts: data, solutions trained for real with their offline metrics, a campaign, its
recommendations changing after PutEvents, a filter, and a batch inference job."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import boto3
import numpy as np
from botocore.config import Config

from tailor.local.server import LocalServer

GROUP = "airline-demo"
BUCKET = "tailor-demo-data"
ROLE = "arn:aws:iam::123456789012:role/TailorDemo"
BATCH_USERS = 500
BATCH_INPUT = "batch/travellers.json"
BATCH_OUTPUT = "batch/recommendations/"
TERMINAL = ("ACTIVE", "CREATE FAILED")
RECIPES = ("aws-user-personalization", "aws-sims", "aws-personalized-ranking", "aws-popularity-count")
METRICS = (("NDCG@10", "normalized_discounted_cumulative_gain_at_10"), ("P@10", "precision_at_10"),
           ("MRR@25", "mean_reciprocal_rank_at_25"), ("coverage", "coverage"))


class DemoFailed(Exception):
    pass


def _say(text: str) -> None:
    print(text, flush=True)


def _wait(label: str, describe: Callable[[], dict[str, str]], timeout: float = 600) -> dict[str, str]:
    """Poll until every status is terminal, showing a live progress line."""
    start = time.monotonic()
    tty = sys.stdout.isatty()
    statuses = describe()
    while any(s not in TERMINAL for s in statuses.values()):
        elapsed = time.monotonic() - start
        if elapsed > timeout:
            raise DemoFailed(f"{label}: still not finished after {timeout:.0f}s: {statuses}")
        done = sum(s in TERMINAL for s in statuses.values())
        bar = "#" * (20 * done // len(statuses)) + "-" * (20 - 20 * done // len(statuses))
        if tty:
            print(f"\r  {label} [{bar}] {done}/{len(statuses)}  {elapsed:5.1f}s", end="", flush=True)
        time.sleep(0.1)
        statuses = describe()
    done_line = f"  {label} [{'#' * 20}] {len(statuses)}/{len(statuses)}  {time.monotonic() - start:5.1f}s"
    print(("\r" if tty else "") + done_line, flush=True)
    return statuses


def _require_active(label: str, statuses: dict[str, str], reason: Callable[[str], str | None]) -> None:
    """DemoFailed naming each resource that did not end ACTIVE, with its failureReason."""
    failed = {key: reason(key) for key, status in statuses.items() if status != "ACTIVE"}
    if failed:
        raise DemoFailed(f"{label} failed: {failed}")


def _sample() -> tuple[Any, dict[str, Any]]:
    folder = resources.files("tailor.local").joinpath("sample/airline")
    return folder, json.loads(folder.joinpath("schemas.json").read_text())


def _rows_in_snapshot(s3: Any, uri: str) -> int:
    bucket, key = uri[5:].split("/", 1)
    data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return int(json.loads(str(npz["__meta__"]))["n_rows"])


def walkthrough(endpoint: str) -> dict[str, Any]:
    session = boto3.session.Session(aws_access_key_id="demo", aws_secret_access_key="demo", region_name="us-east-1")
    config = Config(retries={"max_attempts": 2})
    s3 = session.client("s3", endpoint_url=endpoint, config=config)
    personalize = session.client("personalize", endpoint_url=endpoint, config=config)
    folder, spec = _sample()

    _say("\n1. Upload the historical data to S3 (CSV, first row = schema fields)")
    s3.create_bucket(Bucket=BUCKET)
    for dataset_type, entry in spec.items():
        body = folder.joinpath(entry["file"]).read_bytes()
        s3.put_object(Bucket=BUCKET, Key=entry["file"], Body=body)
        _say(f"  s3://{BUCKET}/{entry['file']:<28} {len(body) / 1e6:6.2f} MB  ({dataset_type})")

    _say("\n2. Dataset group, schemas and datasets")
    group = personalize.create_dataset_group(name=GROUP)["datasetGroupArn"]
    _wait("dataset group", lambda: {"g": personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"][
        "status"]})
    datasets: dict[str, str] = {}
    for dataset_type, entry in spec.items():
        schema = personalize.create_schema(name=f"{GROUP}-{dataset_type.lower()}", schema=json.dumps(entry["schema"]))
        datasets[dataset_type] = personalize.create_dataset(
            name=f"{GROUP}-{dataset_type.lower()}", schemaArn=schema["schemaArn"], datasetGroupArn=group,
            datasetType=dataset_type)["datasetArn"]
        _say(f"  {datasets[dataset_type]}")
    _wait("datasets", lambda: {t: personalize.describe_dataset(datasetArn=a)["dataset"]["status"]
                               for t, a in datasets.items()})

    _say("\n3. Import the CSVs (asynchronous jobs, as in Personalize)")
    jobs = {
        t: personalize.create_dataset_import_job(
            jobName=f"{GROUP}-{t.lower()}-import", datasetArn=datasets[t], roleArn=ROLE,
            dataSource={"dataLocation": f"s3://{BUCKET}/{spec[t]['file']}"})["datasetImportJobArn"]
        for t in datasets
    }
    statuses = _wait("imports", lambda: {t: personalize.describe_dataset_import_job(datasetImportJobArn=j)[
        "datasetImportJob"]["status"] for t, j in jobs.items()})
    _require_active("imports", statuses, lambda t: personalize.describe_dataset_import_job(
        datasetImportJobArn=jobs[t])["datasetImportJob"].get("failureReason"))

    _say("\n4. Event tracker (for real-time events) and a filter")
    tracker = personalize.create_event_tracker(name=f"{GROUP}-tracker", datasetGroupArn=group)
    filter_arn = personalize.create_filter(
        name=f"{GROUP}-promotions", datasetGroupArn=group,
        filterExpression="INCLUDE ItemID WHERE Items.Promotion IN ($PROMOTION)")["filterArn"]
    _wait("tracker and filter", lambda: {
        "tracker": personalize.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])["eventTracker"][
            "status"],
        "filter": personalize.describe_filter(filterArn=filter_arn)["filter"]["status"]})
    _say(f"  trackingId {tracker['trackingId']}  (PutEvents sends events with it)")

    _say("\n5. Solutions, trained for real (offline metrics with Personalize's own evaluation protocol)")
    solutions = {r: personalize.create_solution(name=f"{GROUP}-{r.removeprefix('aws-')}", datasetGroupArn=group,
                                                recipeArn=f"arn:aws:personalize:::recipe/{r}")["solutionArn"]
                 for r in RECIPES}
    _wait("solutions", lambda: {r: personalize.describe_solution(solutionArn=a)["solution"]["status"]
                                for r, a in solutions.items()})
    versions = {r: personalize.create_solution_version(solutionArn=a)["solutionVersionArn"]
                for r, a in solutions.items()}
    trained = _wait("training", lambda: {r: personalize.describe_solution_version(solutionVersionArn=v)[
        "solutionVersion"]["status"] for r, v in versions.items()})
    _require_active("training", trained, lambda r: personalize.describe_solution_version(
        solutionVersionArn=versions[r])["solutionVersion"].get("failureReason"))
    metrics = {r: personalize.get_solution_metrics(solutionVersionArn=v)["metrics"] for r, v in versions.items()}

    _say("\n6. A campaign serving the user-personalization version")
    campaign = personalize.create_campaign(name=f"{GROUP}-campaign", minProvisionedTPS=1,
                                           solutionVersionArn=versions["aws-user-personalization"],
                                           campaignConfig={"enableMetadataWithRecommendations": True})["campaignArn"]
    status = _wait("campaign", lambda: {"c": personalize.describe_campaign(campaignArn=campaign)["campaign"][
        "status"]})
    if status["c"] != "ACTIVE":
        raise DemoFailed(f"campaign {campaign} ended {status['c']}")
    _say(f"  {campaign}  (no provisioned capacity: it costs nothing while idle)")

    clients = {name: session.client(name, endpoint_url=endpoint, config=config)
               for name in ("personalize-runtime", "personalize-events")}
    real_time = _real_time(clients, campaign, tracker["trackingId"], filter_arn)
    batch = _batch(personalize, s3, versions["aws-user-personalization"],
                   folder.joinpath(spec["INTERACTIONS"]["file"]).read_text(),
                   folder.joinpath(spec["ITEMS"]["file"]).read_text())

    # Tailor's dataset snapshots are plain .npz files in your own bucket: read them back directly.
    rows = {}
    for dataset_type in datasets:
        prefix = f"datasets/{GROUP}/{dataset_type}/"
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tailor-artifacts", Prefix=prefix).get("Contents", [])]
        rows[dataset_type] = _rows_in_snapshot(s3, f"s3://tailor-artifacts/{keys[-1]}") if keys else 0
    return {"group": group, "datasets": datasets, "jobs": statuses, "rows": rows,
            "trackingId": tracker["trackingId"], "filter": filter_arn, "metrics": metrics, "campaign": campaign,
            "real_time": real_time, "batch": batch}


DEMO_USER = "8120125224640029423"  # a traveller from the sample's interactions
SHOWN = {"ITEMS": ["SRCCity", "DSTCity", "Airline", "Promotion"]}


def _trip(item: dict[str, Any]) -> str:
    meta = item.get("metadata", {})
    score = f"{item['score']:.4f}" if "score" in item else "   -  "
    reason = f"  <- {item['reason'][0]}" if item.get("reason") else ""
    return (f"{score}  {meta.get('SRCCity', '?')} -> {meta.get('DSTCity', '?')} ({meta.get('Airline', '?')}, "
            f"promotion {meta.get('Promotion', '?')}){reason}")


def _real_time(clients: dict[str, Any], campaign: str, tracking_id: str, filter_arn: str) -> dict[str, Any]:
    """GetRecommendations with item metadata, PutEvents and the ranking change it makes, a filter with a value."""
    runtime, events = clients["personalize-runtime"], clients["personalize-events"]

    def top(n: int = 5, **kwargs: Any) -> list[dict[str, Any]]:
        return list(runtime.get_recommendations(campaignArn=campaign, userId=DEMO_USER, numResults=n,
                                                metadataColumns=SHOWN, **kwargs)["itemList"])

    _say(f"\n7. Real time: recommendations for traveller {DEMO_USER} (score, then the item's metadata)")
    before = top()
    for item in before:
        _say(f"  {_trip(item)}")
    # A trip further down their list (not an exploration pick): they now rate it three times.
    chosen = [item for item in top(20) if not item.get("reason")][-1]
    meta = chosen["metadata"]
    _say(f"  PutEvents: the traveller rates {meta.get('SRCCity')} -> {meta.get('DSTCity')} ({meta.get('Airline')}) "
         "10/10, three times")
    for k in range(3):
        events.put_events(trackingId=tracking_id, userId=DEMO_USER, sessionId="demo-session", eventList=[{
            "sentAt": int(time.time()) + k, "eventType": "RATING", "itemId": chosen["itemId"], "eventValue": 10.0,
            "properties": json.dumps({"cabinType": "Economy"})}])
    after = top(context={"TAILOR_EXPLAIN": "true"})
    _say("  The next request, at once (with Tailor's explanations):")
    for item in after:
        _say(f"  {_trip(item)}")
    promoted = top(filterArn=filter_arn, filterValues={"PROMOTION": '"Yes"'})
    _say('  With the filter Items.Promotion IN ($PROMOTION), PROMOTION="Yes":')
    for item in promoted:
        _say(f"  {_trip(item)}")
    if not promoted or any(i["metadata"].get("Promotion") != "Yes" for i in promoted):
        raise DemoFailed("the promotion filter returned a trip without a promotion")
    changed = [i["itemId"] for i in before] != [i["itemId"] for i in after]
    return {"before": before, "after": after, "changed": changed, "promoted": promoted}


def _batch(personalize: Any, s3: Any, version: str, interactions_csv: str, items_csv: str) -> dict[str, Any]:
    """A batch inference job: a JSON-lines file of users in, their recommendations out, both in S3."""
    rows = csv.DictReader(io.StringIO(interactions_csv))
    users = list(dict.fromkeys(row["USER_ID"] for row in rows))[:BATCH_USERS]
    _say(f"\n8. A batch inference job: top 10 for {len(users)} travellers (JSON lines in S3, as Personalize reads "
         "them)")
    body = "".join(json.dumps({"userId": user}) + "\n" for user in users)
    s3.put_object(Bucket=BUCKET, Key=BATCH_INPUT, Body=body.encode())
    job = personalize.create_batch_inference_job(
        jobName=f"{GROUP}-batch", solutionVersionArn=version, roleArn=ROLE, numResults=10,
        jobInput={"s3DataSource": {"path": f"s3://{BUCKET}/{BATCH_INPUT}"}},
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/{BATCH_OUTPUT}"}})["batchInferenceJobArn"]
    status = _wait("batch job", lambda: {"job": personalize.describe_batch_inference_job(
        batchInferenceJobArn=job)["batchInferenceJob"]["status"]})
    _require_active("batch job", status, lambda _: personalize.describe_batch_inference_job(
        batchInferenceJobArn=job)["batchInferenceJob"].get("failureReason"))
    output_key = f"{BATCH_OUTPUT}{BATCH_INPUT.rsplit('/', 1)[-1]}.out"
    lines = [json.loads(line) for line in s3.get_object(Bucket=BUCKET, Key=output_key)["Body"].read().splitlines()]
    answered = [line for line in lines if line.get("error") is None and line["output"]["recommendedItems"]]
    if len(answered) != len(users):
        raise DemoFailed(f"batch job answered {len(answered)} of {len(users)} users: {lines[:3]}")
    trips = {row["ITEM_ID"]: f"{row['SRCCity']} -> {row['DSTCity']} ({row['Airline']})"
             for row in csv.DictReader(io.StringIO(items_csv))}
    _say(f"  s3://{BUCKET}/{output_key}: {len(lines)} lines (item ids; here with the trips they are), e.g.")
    for line in lines[:3]:
        shown = "; ".join(trips.get(item, item) for item in line["output"]["recommendedItems"][:2])
        _say(f"  {json.dumps(line['input'])} -> {shown}, ...")
    return {"users": len(users), "answered": len(answered), "output": f"s3://{BUCKET}/{output_key}"}


def run_demo(port: int = 0) -> int:
    server = LocalServer("127.0.0.1", port).start()
    _say(f"Tailor local endpoint: {server.endpoint}  (Personalize APIs + S3, moto underneath)")
    try:
        result = walkthrough(server.endpoint)
    except DemoFailed as err:
        _say(f"\nDEMO FAILED: {err}")
        return 1
    except Exception as err:  # any client error is a failed step for the person watching
        _say(f"\nDEMO FAILED: {type(err).__name__}: {err}")
        return 1
    finally:
        server.stop()
    _say("\nSummary")
    _say(f"  {'dataset':<14}{'import job':<14}{'rows':>8}")
    for dataset_type in result["datasets"]:
        _say(f"  {dataset_type:<14}{result['jobs'][dataset_type]:<14}{result['rows'][dataset_type]:>8,}")
    _say(f"  filter        {result['filter']}")
    _say(f"\n  {'solution version':<28}" + "".join(f"{name:>10}" for name, _ in METRICS))
    for recipe, values in result["metrics"].items():
        _say(f"  {recipe:<28}" + "".join(f"{values[key]:>10.4f}" for _, key in METRICS))
    _say(f"  campaign      {result['campaign']}  ACTIVE")
    real_time = result["real_time"]
    moved = "changed at once" if real_time["changed"] else "did not change"
    _say(f"  real time     the traveller's top 5 {moved} after 3 PutEvents; the promotion filter kept "
         f"{len(real_time['promoted'])} promoted trips")
    batch = result["batch"]
    _say(f"  batch job     ACTIVE: {batch['answered']} of {batch['users']} travellers answered, in {batch['output']}")
    _say("\nThe models are .npz files in s3://tailor-artifacts/models/.")
    return 0
