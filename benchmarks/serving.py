"""Serving benchmark: GetRecommendations and PutEvents through the Lambda handler, in-process and warm, and what a month
of traffic costs next to Personalize's campaign pricing.

* **GetRecommendations**: aws-user-personalization trained (default hyper-parameters) on a synthetic 100,000-item,
  1M-interaction dataset; each request is an API Gateway proxy event through the API's Lambda handler (routing,
  botocore-model validation, the domain call, JSON out) for a user with 50 events put since training to fold in, with
  a filter (`INCLUDE ItemID WHERE Items.GENRES IN ($GENRE) | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN
  ("click")`) and numResults 25. The stores are in memory, so the figures are Tailor's own compute; in AWS one
  DynamoDB Query for the user's events adds its few milliseconds.
* **Peer**: implicit's ALS (64 factors, 15 iterations) `recommend(recalculate_user=True)` for the same users and
  their same events, with the filter handed over as a precomputed list of excluded items: the fold-in + top-k step of
  a factor model, measured in the same run.
* **PutEvents**: the handler with the events store stubbed (the store's write is not counted), 1 and 10 events per
  call: parsing, validation against the Interactions schema and building the stored events.
* **Cost**: a month (730 h) at 1 / 10 / 100 requests per second: Personalize's real-time price (TPS-hours, 1 TPS
  minimum per campaign, tiers $0.20 / $0.10 / $0.05: seeds/003) vs Tailor's AWS bill (API Gateway REST, Lambda
  at the memory the model needs, one DynamoDB read per request), from list prices in us-east-1.

    .venv/bin/python benchmarks/serving.py --write        (needs the bench group for the peer: uv sync --group bench)
"""

from __future__ import annotations

import argparse
import datetime
import gc
import io
import json
import math
import os
import shlex
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambdas"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine, table, write_section  # noqa: E402
from scale import Case, synthetic  # noqa: E402

from tailor.adapters.memory import MemoryBlobStore, MemoryEventStore  # noqa: E402
from tailor.errors import ResourceNotFoundException  # noqa: E402
from tailor.operations.event_trackers import tracking_lock  # noqa: E402
from tailor.ports import Page, Resource, StoredEvent  # noqa: E402
from tailor.protocol.apigw import event_from_request  # noqa: E402
from tailor.schemas import Field  # noqa: E402
from tailor.service import Service  # noqa: E402
from tailor.snapshot import Column, Snapshot, write_snapshot  # noqa: E402
from tailor.training import evaluation  # noqa: E402
from tailor.training.base import InteractionData  # noqa: E402
from tailor.training.entrypoint import write_artifact  # noqa: E402
from tailor.training.recipes import get_recipe  # noqa: E402

CASE = Case("100,000 items, 1M interactions", 20_000, 100_000, 1_000_000)
RECIPE = "aws-user-personalization"
GENRES = ("Comedy", "Drama", "Action", "Horror", "Documentary", "Romance", "Thriller", "Animation")
FILTER = 'INCLUDE ItemID WHERE Items.GENRES IN ($GENRE) | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("click")'
LIVE_EVENTS = 50
ACCOUNT, REGION = "123456789012", "us-east-1"
GROUP = f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/bench"
CAMPAIGN = f"arn:aws:personalize:{REGION}:{ACCOUNT}:campaign/bench"
VERSION = f"arn:aws:personalize:{REGION}:{ACCOUNT}:solution/bench/v1"
FILTER_ARN = f"arn:aws:personalize:{REGION}:{ACCOUNT}:filter/bench"
TRACKING_ID = "bench-tracking-id"

# List prices, us-east-1 (checked 2026): API Gateway REST $3.50 per million requests (first 333M); Lambda $0.20 per
# million requests and $0.0000166667 per GB-second (x86; arm64 $0.0000133334); DynamoDB on-demand $0.125 per million
# read request units (an eventually consistent read of up to 4 KB is half a unit).
API_GATEWAY_PER_MILLION = 3.50
LAMBDA_PER_MILLION = 0.20
LAMBDA_GB_SECOND = 0.0000166667
DYNAMODB_READ_PER_MILLION = 0.125
PERSONALIZE_TIERS = ((20_000, 0.20), (180_000, 0.10), (math.inf, 0.05))  # (TPS-hours in the tier, $ per TPS-hour)
HOURS_PER_MONTH = 730
DYNAMODB_IO_MS = 8.0  # allowance for the one Query per request a deployed runtime makes (billed Lambda time)


class DictStore:
    """The ResourceStore reads the runtime makes (get, list, lock_owner), over a dict: no I/O in the timings."""

    def __init__(self, resources: list[Resource], locks: Mapping[str, str]) -> None:
        self.resources = {r.arn: r for r in resources}
        self.locks = dict(locks)

    def get(self, arn: str) -> Resource | None:
        return self.resources.get(arn)

    def list(self, kind: str, parent: str | None, limit: int, cursor: dict[str, Any] | None) -> Page:
        found = [r for r in self.resources.values() if r.kind == kind and (parent is None or r.parent == parent)]
        return Page(found[:limit], None)

    def lock_owner(self, lock: str) -> str | None:
        return self.locks.get(lock)

    def create(self, resource: Resource, locks: tuple[str, ...] = ()) -> None:
        raise NotImplementedError

    def update(self, arn: str, doc_changes: Mapping[str, Any], **kwargs: Any) -> Resource:
        raise ResourceNotFoundException(arn)

    def delete(self, arn: str) -> None:
        raise NotImplementedError

    def set_tags(self, arn: str, tags: Mapping[str, str]) -> None:
        raise NotImplementedError


class NullEventStore(MemoryEventStore):
    """PutEvents with the store stubbed: the write itself is not counted."""

    def put_events(self, group_arn: str, events: Any) -> None:
        return None


class NoLauncher:
    def launch(self, job: str, arn: str) -> None:
        raise RuntimeError("the runtime starts no jobs")


def interaction_data(users: np.ndarray, items: np.ndarray, stamps: np.ndarray) -> InteractionData:
    rng = np.random.default_rng(1)
    types = rng.integers(0, 2, len(users)).astype(np.int16)  # click / watch
    return InteractionData(
        user_ids=np.array([f"u{u}" for u in range(CASE.users)]),
        item_ids=np.array([f"i{i}" for i in range(CASE.items)]),
        users=users.astype(np.int32), items=items.astype(np.int32), timestamps=stamps.astype(np.int64),
        weights=np.ones(len(users), dtype=np.float32), event_types=types, event_type_names=("click", "watch"),
    )


def items_snapshot() -> Snapshot:
    rng = np.random.default_rng(2)
    genres = np.array(GENRES + tuple(f"{a}|{b}" for a in GENRES[:3] for b in GENRES[3:5]))
    codes = rng.integers(0, len(genres), CASE.items).astype(np.int32)
    ids = np.array([f"i{i}" for i in range(CASE.items)])
    fields = (Field("ITEM_ID", "string"), Field("GENRES", "string", nullable=True, categorical=True))
    columns = {"ITEM_ID": Column(np.arange(CASE.items, dtype=np.int32), vocab=ids),
               "GENRES": Column(codes, vocab=genres)}
    return Snapshot(fields, columns, CASE.items)


def resource(arn: str, kind: str, doc: dict[str, Any], parent: str | None = None, **internal: Any) -> Resource:
    return Resource(arn=arn, kind=kind, doc={"status": "ACTIVE", **doc}, parent=parent, internal=dict(internal))


def build_service(artifact: bytes, events: MemoryEventStore) -> Service:
    blobs = MemoryBlobStore()
    blobs.put("s3://bench/model.npz", artifact)
    write_snapshot(blobs, "s3://bench/items.npz", items_snapshot())
    interactions_schema = json.dumps({"type": "record", "name": "Interactions", "fields": [
        {"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"}, {"name": "EVENT_TYPE", "type": "string"}], "version": "1.0"})
    schema_arn = f"arn:aws:personalize:{REGION}:{ACCOUNT}:schema/bench"
    tracker = f"arn:aws:personalize:{REGION}:{ACCOUNT}:event-tracker/bench"
    resources = [
        resource(CAMPAIGN, "campaign", {"campaignArn": CAMPAIGN, "solutionVersionArn": VERSION, "campaignConfig": {}}),
        resource(VERSION, "solution-version", {"solutionVersionArn": VERSION, "datasetGroupArn": GROUP},
                 artifact="s3://bench/model.npz"),
        resource(FILTER_ARN, "filter", {"filterArn": FILTER_ARN, "datasetGroupArn": GROUP,
                                        "filterExpression": FILTER}),
        resource(f"{GROUP}/ITEMS", "dataset", {"datasetType": "ITEMS", "datasetArn": f"{GROUP}/ITEMS"}, GROUP,
                 snapshot="s3://bench/items.npz"),
        resource(f"{GROUP}/INTERACTIONS", "dataset", {"datasetType": "INTERACTIONS", "schemaArn": schema_arn,
                                                      "datasetArn": f"{GROUP}/INTERACTIONS"}, GROUP),
        resource(schema_arn, "schema", {"schemaArn": schema_arn, "schema": interactions_schema}),
        resource(tracker, "event-tracker", {"eventTrackerArn": tracker, "datasetGroupArn": GROUP,
                                            "trackingId": TRACKING_ID}, GROUP),
    ]
    return Service(store=DictStore(resources, {tracking_lock(TRACKING_ID): tracker}), blobs=blobs,
                   launcher=NoLauncher(), events=events, region=REGION, account=ACCOUNT, artifacts_bucket="bench",
                   cache_seconds=5.0)


def live_events(rng: np.random.Generator, users: list[int]) -> dict[int, list[StoredEvent]]:
    now = time.time()
    found = {}
    for user in users:
        items = rng.integers(0, CASE.items, LIVE_EVENTS)
        found[user] = [StoredEvent(user_id=f"u{user}", event_id=f"e{user}-{k}", event_type=("click", "watch")[k % 2],
                                   timestamp=now - LIVE_EVENTS + k, session_id="s", item_id=f"i{item}")
                       for k, item in enumerate(items.tolist())]
    return found


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.array(samples) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)), "mean": float(ms.mean()),
            "n": len(ms)}


def timed(calls: Iterator[Callable[[], Any]], warmup: int) -> dict[str, float]:
    samples = []
    gc.collect()
    for i, call in enumerate(calls):
        start = time.perf_counter()
        call()
        elapsed = time.perf_counter() - start
        if i >= warmup:
            samples.append(elapsed)
    return percentiles(samples)


def handler_call(handler: Callable[..., Any], path: str, body: dict[str, Any]) -> Callable[[], Any]:
    from tailor.local.embedded import LambdaContext

    event = event_from_request("POST", path, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def call() -> None:
        response = handler(event, LambdaContext(aws_request_id=str(uuid.uuid4())))
        if response["statusCode"] != 200:
            raise RuntimeError(f"{path} answered {response['statusCode']}: {response['body'][:500]}")

    return call


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def monthly_costs(rps: float, billed_ms: float, memory_mb: int, read_units: float) -> dict[str, float]:
    requests = rps * HOURS_PER_MONTH * 3600
    tps_hours = max(rps, 1.0) * HOURS_PER_MONTH  # Personalize bills max(actual TPS, minimum 1) per hour
    personalize, left = 0.0, tps_hours
    for size, price in PERSONALIZE_TIERS:
        used = min(left, size)
        personalize += used * price
        left -= used
    tailor = requests / 1e6 * (API_GATEWAY_PER_MILLION + LAMBDA_PER_MILLION + read_units * DYNAMODB_READ_PER_MILLION)
    tailor += requests * math.ceil(billed_ms) / 1000 * memory_mb / 1024 * LAMBDA_GB_SECOND
    return {"rps": rps, "personalize": personalize, "tailor": tailor}


def run(requests: int, with_peer: bool) -> dict[str, Any]:
    started = time.perf_counter()
    users, items, stamps = synthetic(CASE)
    data = interaction_data(users, items, stamps)
    recipe = get_recipe(RECIPE)
    params = dict(recipe.defaults)
    split = evaluation.split(data)
    fit_start = time.perf_counter()
    model = recipe.fit(data, params)
    fit_s = time.perf_counter() - fit_start
    temperature = evaluation.calibrate_temperature(model, data, split)
    buffer = io.BytesIO()
    write_artifact(buffer, RECIPE, params, model, data, {}, temperature)
    artifact = buffer.getvalue()
    del model, split, buffer
    gc.collect()
    print(f"data + fit + artifact: {time.perf_counter() - started:.0f}s (fit {fit_s:.0f}s), "
          f"artifact {len(artifact) / 2**20:.0f} MiB", file=sys.stderr)

    rng = np.random.default_rng(3)
    sample = sorted(rng.choice(CASE.users, size=min(500, CASE.users), replace=False).tolist())
    live = live_events(rng, sample)
    events = MemoryEventStore()
    for user in sample:
        for start in range(0, LIVE_EVENTS, 10):  # PutEvents batches hold at most 10
            events.put_events(GROUP, live[user][start:start + 10])
    svc = build_service(artifact, events)
    from tailor.handlers import common as handler_common
    from tailor.handlers.all_apis import lambda_handler

    handler_common.use_service(svc)
    rss_before = rss_mib()

    def recommendation_calls() -> Iterator[Callable[[], Any]]:
        for i in range(requests):
            user = sample[i % len(sample)]
            yield handler_call(lambda_handler, "/recommendations", {
                "campaignArn": CAMPAIGN, "userId": f"u{user}", "numResults": 25, "filterArn": FILTER_ARN,
                "filterValues": {"GENRE": f'"{GENRES[user % len(GENRES)]}"'}})

    first = time.perf_counter()
    next(recommendation_calls())()  # the cold call: loads the model and builds the catalog
    cold_s = time.perf_counter() - first
    rss_loaded = rss_mib()
    recommendations = timed(recommendation_calls(), warmup=100)

    put_results = {}
    svc.events = NullEventStore()
    for batch in (1, 10):
        def put_calls(batch: int = batch) -> Iterator[Callable[[], Any]]:
            for i in range(requests):
                yield handler_call(lambda_handler, "/events", {
                    "trackingId": TRACKING_ID, "userId": f"u{i % 1000}", "sessionId": "s",
                    "eventList": [{"eventType": "click", "sentAt": 1_700_000_000 + i, "itemId": f"i{(i * 7 + k) % 997}",
                                   "eventId": f"{i}-{k}"} for k in range(batch)]})

        put_results[batch] = timed(put_calls(), warmup=100)
    handler_common.use_service(None)

    result: dict[str, Any] = {
        "fit_s": fit_s, "artifact_mib": len(artifact) / 2**20, "cold_s": cold_s, "rss_mib": rss_loaded,
        "model_mib": rss_loaded - rss_before, "recommendations": recommendations, "put": put_results,
        "events": len(users), "temperature": temperature,
    }
    if with_peer:
        result["peer"] = peer(data, sample, live, requests)
    return result


def peer(data: InteractionData, sample: list[int], live: dict[int, list[StoredEvent]], requests: int) -> dict[str, Any]:
    import implicit
    import scipy.sparse as sp
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    matrix = sp.csr_matrix((np.ones(data.n_events, dtype=np.float32), (data.users, data.items)),
                           shape=(data.n_users, data.n_items))
    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(factors=64, iterations=15, random_state=0, num_threads=2)
        start = time.perf_counter()
        als.fit(matrix, show_progress=False)
        fit_s = time.perf_counter() - start
    snap = items_snapshot()
    genres = snap.columns["GENRES"]
    assert genres.vocab is not None
    genre_of = genres.vocab[genres.codes]
    rows: dict[int, tuple[sp.csr_matrix, np.ndarray]] = {}
    for user in sample:
        start, stop = np.searchsorted(data.users, [user, user + 1])
        live_items = np.array([int(e.item_id[1:]) for e in live[user] if e.item_id])
        history = np.concatenate([data.items[start:stop], live_items])
        row = sp.csr_matrix((np.ones(len(history), dtype=np.float32), (np.zeros(len(history)), history)),
                            shape=(1, data.n_items))
        row.sum_duplicates()
        wanted = GENRES[user % len(GENRES)]
        clicked = np.array([int(e.item_id[1:]) for e in live[user] if e.item_id and e.event_type == "click"])
        excluded = np.union1d(np.flatnonzero(np.char.find(genre_of.astype(str), wanted) < 0), clicked)
        rows[user] = (row, excluded.astype(np.int32))

    def calls() -> Iterator[Callable[[], Any]]:
        for i in range(requests):
            user = sample[i % len(sample)]
            row, excluded = rows[user]
            yield lambda u=user, r=row, x=excluded: als.recommend(u, r, N=25, filter_items=x, recalculate_user=True)

    with threadpool_limits(1, "blas"):
        timing = timed(calls(), warmup=100)
    return {"fit_s": fit_s, "timing": timing, "version": implicit.__version__}


HEAD = """## Serving

Measured {date} on {machine}:

```
{command}
```

GetRecommendations and PutEvents through the API's Lambda handler (an API Gateway proxy event in, the response out:
routing, botocore-model validation, the domain call, JSON), in-process and warm, with the stores in memory so the
figures are Tailor's own compute. The model is {recipe} (default hyper-parameters) trained on a synthetic dataset
(`synthetic()` of `benchmarks/scale.py`: {items:,} items, {events:,} interactions, {users:,} users); each request is
for one of 500 users with {live} events put since training (folded in at request time), numResults 25, and the filter
`{filter}` with a genre in filterValues. **Peer**: implicit {peer_version} ALS (64 factors, 15 iterations)
`recommend(recalculate_user=True)` for the same users and events, given the filter as a precomputed list of excluded
items (so its figure has no filter work in it), BLAS at one thread."""


def report(result: dict[str, Any], command: str) -> str:
    rec = result["recommendations"]
    peer_result = result.get("peer")
    out = [HEAD.format(date=datetime.date.today().isoformat(), machine=machine(), command=command, recipe=RECIPE,
                       items=CASE.items, events=result["events"], users=CASE.users, live=LIVE_EVENTS, filter=FILTER,
                       peer_version=peer_result["version"] if peer_result else "(not run)")]
    rows = [["GetRecommendations (handler)", f"{rec['p50']:.2f}", f"{rec['p99']:.2f}", f"{rec['mean']:.2f}",
             f"{rec['n']:,}", "≤ 3 / ≤ 15"]]
    if peer_result:
        t = peer_result["timing"]
        rows.append(["implicit ALS recommend (peer)", f"{t['p50']:.2f}", f"{t['p99']:.2f}", f"{t['mean']:.2f}",
                     f"{t['n']:,}", ""])
    for batch, t in result["put"].items():
        rows.append([f"PutEvents, {batch} event{'s' if batch > 1 else ''} per call, store stubbed",
                     f"{t['p50']:.3f}", f"{t['p99']:.3f}", f"{t['mean']:.3f}", f"{t['n']:,}",
                     f"≤ 0.3 per event ({t['p50'] / batch:.3f} per event)"])
    out += table(["request", "p50 ms", "p99 ms", "mean ms", "requests", "goal"], rows)
    if peer_result:
        ratio = peer_result["timing"]["p50"] / rec["p50"]
        out += ["", f"Tailor's p50 is {ratio:.2f}x the peer's speed ({'faster' if ratio >= 1 else 'slower'}); "
                    f"p99 ratio {peer_result['timing']['p99'] / rec['p99']:.2f}x."]
    out += ["", textwrap.fill(
        f"The first request in a fresh process (model artifact {result['artifact_mib']:.0f} MiB read and loaded, "
        f"catalog and filter columns built) took {result['cold_s']:.1f} s; the process held {result['rss_mib']:.0f} "
        f"MiB after it ({result['model_mib']:.0f} MiB for the model and catalog). The fit took {result['fit_s']:.0f} s "
        f"(the training job's, not a request's). Softmax temperature calibrated at training: "
        f"{result['temperature']:.4g}.", 120)]

    memory_mb = int(math.ceil((result["rss_mib"] + 256) / 128) * 128)
    billed = rec["p50"] + DYNAMODB_IO_MS
    read_units = math.ceil(LIVE_EVENTS * 250 / 4096) * 0.5
    costs = [monthly_costs(rps, billed, memory_mb, read_units) for rps in (1, 10, 100)]
    out += ["", "### Cost of a month of GetRecommendations", "", textwrap.fill(
        f"Personalize: max(actual TPS, 1) TPS-hours x 730 h at its tiers ($0.20 for the first 20,000 TPS-hours, "
        f"$0.10 for the next 180,000, then $0.05; seeds/003), for one campaign. Tailor: API Gateway REST "
        f"${API_GATEWAY_PER_MILLION}/M, Lambda ${LAMBDA_PER_MILLION}/M + {memory_mb} MB (the process above plus 256 "
        f"MB) x {math.ceil(billed)} ms billed (p50 above + {DYNAMODB_IO_MS:.0f} ms allowed for the DynamoDB Query) "
        f"at ${LAMBDA_GB_SECOND}/GB-s (x86), and {read_units:g} DynamoDB read units per request (the user's "
        f"{LIVE_EVENTS} events, ~250 B each) at ${DYNAMODB_READ_PER_MILLION}/M; us-east-1 list prices. Training, "
        "storage and PutEvents are left out of both (PutEvents: Personalize bills ingestion per GB).", 120)]
    out += table(["requests/s", "Personalize $/month", "Tailor $/month", "Personalize / Tailor"],
                 [[f"{c['rps']:g}", f"{c['personalize']:,.2f}", f"{c['tailor']:,.2f}",
                   f"{c['personalize'] / c['tailor']:.1f}x"] for c in costs])
    out += ["", textwrap.fill("With no traffic Tailor's runtime costs nothing (no provisioned capacity); "
                              "Personalize bills the 1-TPS minimum, $146 a month per campaign.", 120)]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=3000, help="timed requests per measurement (after 100 warm-up)")
    ap.add_argument("--no-peer", action="store_true", help="skip implicit ALS (when the bench group is missing)")
    ap.add_argument("--write", action="store_true", help="replace the '## Serving' section of BENCHMARKS.md")
    ap.add_argument("--quick", action="store_true", help="a 5,000-item, 100k-event model: checks the script runs")
    args = ap.parse_args()
    if args.quick:
        global CASE
        CASE = Case("quick check", 2_000, 5_000, 100_000)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
    command = shlex.join([exe, "benchmarks/serving.py", *sys.argv[1:]])
    result = run(args.requests, not args.no_peer)
    section = report(result, command)
    print(section)
    if args.write:
        write_section(section, ROOT / "BENCHMARKS.md", "Serving")


if __name__ == "__main__":
    main()
