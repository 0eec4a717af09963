"""Load test of the local endpoint: `tailor serve` in its own process on loopback, GetRecommendations and PutEvents
sent concurrently through stock boto3 clients for a fixed time, with no retries, then every event counted back.

* **Setup** (not timed): the shipped airline sample (`lambdas/tailor/local/sample/airline/`, what `tailor demo` uses)
  uploaded to the endpoint's S3, Interactions and Items datasets imported, an event tracker, a filter
  (`INCLUDE ItemID WHERE Items.Promotion IN ($PROMOTION)`), an aws-user-personalization solution version trained on
  it and a campaign.
* **Load**: `--readers` threads loop GetRecommendations (numResults 25; one request in four with the filter and
  PROMOTION="Yes") for random travellers of the sample; `--writers` threads loop PutEvents (1-3 RATING events a call,
  each with its own eventId and TIMESTAMP) for random travellers, half of them from the readers' pool, so the reads
  fold in events put during the run. Each thread has its own client, with retries off (`total_max_attempts` 1, and
  every response's RetryAttempts checked to be 0), so every error is counted. No call starts after the deadline.
* **Peer, same run**: the same readers alone before the mixed phase (empty events store) and after it (the events it
  put), then the same writers alone (`--alone-seconds` each): GetRecommendations latency under concurrent PutEvents
  against without it, and the other way round.
* **Counted back**: a CreateDatasetExportJob with ingestionMode PUT writes what PutEvents stored to the endpoint's S3
  as CSV; every event of a call answered 200 must be there exactly once, and nothing else.

    .venv/bin/python benchmarks/load.py --write        (about 100 s: a few seconds of setup, 90 s of load, the export)

Exits non-zero on any error, a lost, unexpected or duplicated event, or a thread that stopped early.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import ipaddress
import itertools
import json
import os
import random
import shlex
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import numpy as np
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambdas"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from report import machine, table, write_section  # noqa: E402

SAMPLE = ROOT / "lambdas" / "tailor" / "local" / "sample" / "airline"
TITLE = "Load (local endpoint)"
BUCKET = "tailor-load-data"
GROUP = "load"
ROLE = "arn:aws:iam::123456789012:role/TailorLoad"
RECIPE = "aws-user-personalization"
FILTER = "INCLUDE ItemID WHERE Items.Promotion IN ($PROMOTION)"
FILTER_SHARE = 0.25  # of GetRecommendations requests
NUM_RESULTS = 25
READ_POOL = 2_000  # travellers the readers ask for; the writers pick half their users from them
CABINS = ("Economy", "Business Class", "Premium Economy", "First Class")
TERMINAL = ("ACTIVE", "CREATE FAILED")
GET, GET_FILTERED, PUT = "GetRecommendations", "GetRecommendations + filter", "PutEvents"
OPS = (GET, GET_FILTERED, PUT)
# Every event's TIMESTAMP is unique (this base + a serial): the exported rows name the events one to one.
SENT_AT_BASE = int(time.time()) - 30 * 86_400


class LoadFailed(Exception):
    pass


# ---- the endpoint ----------------------------------------------------------------------------------------------------


class Served:
    """`tailor serve --port 0` as a user runs it, in its own process; its output is drained (and kept) by a thread."""

    def __init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "lambdas"), env.get("PYTHONPATH")]))
        self.proc = subprocess.Popen([sys.executable, "-m", "tailor.local.cli", "serve", "--host", "127.0.0.1",
                                      "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "serving" not in line:
            self.stop()
            raise LoadFailed(f"tailor serve did not start: {line!r}")
        self.endpoint = line.split(" at ")[1].split()[0]
        host = urlsplit(self.endpoint).hostname or ""
        if not (host == "localhost" or _is_loopback(host)):
            self.stop()
            raise LoadFailed(f"refusing to load {self.endpoint}: not a loopback address")
        self.output: list[str] = []
        self._drain = threading.Thread(target=self._read, daemon=True, name="serve-output")
        self._drain.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line.rstrip("\n"))

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def clients(endpoint: str, *names: str) -> list[Any]:
    """Stock boto3 clients on the endpoint, retries off: a failed call is an error, never a hidden retry."""
    session: Any = boto3.session.Session(aws_access_key_id="load", aws_secret_access_key="load",
                                         region_name="us-east-1")
    config = Config(retries={"total_max_attempts": 1}, read_timeout=30, connect_timeout=5)
    return [session.client(name, endpoint_url=endpoint, config=config) for name in names]


def wait(label: str, describe: Callable[[], str], timeout: float = 900) -> float:
    """Poll until the status is terminal; seconds taken. LoadFailed unless it ended ACTIVE."""
    start = time.monotonic()
    while (status := describe()) not in TERMINAL:
        if time.monotonic() - start > timeout:
            raise LoadFailed(f"{label}: still {status} after {timeout:.0f}s")
        time.sleep(0.1)
    if status != "ACTIVE":
        raise LoadFailed(f"{label} ended {status}")
    return time.monotonic() - start


@dataclass
class Setup:
    campaign: str
    filter_arn: str
    tracking_id: str
    interactions: str
    users: list[str]
    items: list[str]
    seconds: dict[str, float]


def set_up(endpoint: str) -> Setup:
    spec = json.loads((SAMPLE / "schemas.json").read_text())
    s3, personalize = clients(endpoint, "s3", "personalize")
    seconds: dict[str, float] = {}
    s3.create_bucket(Bucket=BUCKET)
    for dataset_type in ("INTERACTIONS", "ITEMS"):
        s3.put_object(Bucket=BUCKET, Key=spec[dataset_type]["file"],
                      Body=(SAMPLE / spec[dataset_type]["file"]).read_bytes())
    group = personalize.create_dataset_group(name=GROUP)["datasetGroupArn"]
    wait("dataset group", lambda: personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"])

    def dataset_status(arn: str) -> str:
        return str(personalize.describe_dataset(datasetArn=arn)["dataset"]["status"])

    def import_status(arn: str) -> str:
        return str(personalize.describe_dataset_import_job(datasetImportJobArn=arn)["datasetImportJob"]["status"])

    datasets = {}
    for dataset_type in ("INTERACTIONS", "ITEMS"):
        schema = personalize.create_schema(name=f"{GROUP}-{dataset_type.lower()}",
                                           schema=json.dumps(spec[dataset_type]["schema"]))["schemaArn"]
        arn = personalize.create_dataset(name=f"{GROUP}-{dataset_type.lower()}", schemaArn=schema,
                                         datasetGroupArn=group, datasetType=dataset_type)["datasetArn"]
        wait(f"{dataset_type} dataset", partial(dataset_status, arn))
        job = personalize.create_dataset_import_job(
            jobName=f"{GROUP}-{dataset_type.lower()}", datasetArn=arn, roleArn=ROLE,
            dataSource={"dataLocation": f"s3://{BUCKET}/{spec[dataset_type]['file']}"})["datasetImportJobArn"]
        seconds[f"import {dataset_type.lower()}"] = wait(f"{dataset_type} import", partial(import_status, job))
        datasets[dataset_type] = arn
    tracker = personalize.create_event_tracker(name=f"{GROUP}-tracker", datasetGroupArn=group)
    wait("event tracker", lambda: personalize.describe_event_tracker(eventTrackerArn=tracker["eventTrackerArn"])[
        "eventTracker"]["status"])
    filter_arn = personalize.create_filter(name=f"{GROUP}-promotions", datasetGroupArn=group,
                                           filterExpression=FILTER)["filterArn"]
    wait("filter", lambda: personalize.describe_filter(filterArn=filter_arn)["filter"]["status"])
    solution = personalize.create_solution(name=f"{GROUP}-{RECIPE}", datasetGroupArn=group,
                                           recipeArn=f"arn:aws:personalize:::recipe/{RECIPE}")["solutionArn"]
    wait("solution", lambda: personalize.describe_solution(solutionArn=solution)["solution"]["status"])
    version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
    seconds["training"] = wait("training", lambda: personalize.describe_solution_version(
        solutionVersionArn=version)["solutionVersion"]["status"])
    campaign = personalize.create_campaign(name=f"{GROUP}-campaign", solutionVersionArn=version,
                                           minProvisionedTPS=1)["campaignArn"]
    wait("campaign", lambda: personalize.describe_campaign(campaignArn=campaign)["campaign"]["status"])
    with open(SAMPLE / spec["INTERACTIONS"]["file"], newline="") as f:
        users = sorted({row["USER_ID"] for row in csv.DictReader(f)})
    with open(SAMPLE / spec["ITEMS"]["file"], newline="") as f:
        items = [row["ITEM_ID"] for row in csv.DictReader(f)]
    return Setup(campaign, filter_arn, tracker["trackingId"], datasets["INTERACTIONS"], users, items, seconds)


# ---- the load --------------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """One thread's record: latencies (s) per op, errors by kind, and the events of the calls answered 200."""

    latencies: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: {op: [] for op in OPS})  # start, s
    errors: Counter[str] = field(default_factory=Counter)
    stored: list[tuple[float, tuple[str, int, str]]] = field(default_factory=list)  # (end, (USER_ID, TIMESTAMP, ITEM))
    unsure: list[tuple[str, int, str]] = field(default_factory=list)  # events of calls that failed
    last_end: float = 0.0


@dataclass
class Phase:
    name: str
    start: float  # perf_counter
    seconds: float  # from the start to the end of the last call
    tally: Tally
    server_cpu: float
    client_cpu: float
    threads: dict[str, int]


_serial = itertools.count()
_serial_lock = threading.Lock()


def next_serial() -> int:
    with _serial_lock:
        return next(_serial)


def _error(tally: Tally, op: str, err: BaseException) -> None:
    tally.errors[f"{op}: {type(err).__name__}: {str(err)[:200]}"] += 1


def reader(client: Any, setup: Setup, pool: list[str], seed: int, deadline: float, tally: Tally) -> None:
    rng = random.Random(seed)
    while time.perf_counter() < deadline:
        kwargs: dict[str, Any] = {"campaignArn": setup.campaign, "userId": rng.choice(pool), "numResults": NUM_RESULTS}
        op = GET
        if rng.random() < FILTER_SHARE:
            kwargs.update(filterArn=setup.filter_arn, filterValues={"PROMOTION": '"Yes"'})
            op = GET_FILTERED
        start = time.perf_counter()
        try:
            resp = client.get_recommendations(**kwargs)
        except Exception as err:  # every failure is counted, by kind
            tally.last_end = time.perf_counter()
            _error(tally, op, err)
            continue
        tally.last_end = end = time.perf_counter()
        meta = resp["ResponseMetadata"]
        if meta["HTTPStatusCode"] != 200 or meta.get("RetryAttempts", 0):
            tally.errors[f"{op}: HTTP {meta['HTTPStatusCode']}, {meta.get('RetryAttempts')} retries"] += 1
        elif len(resp["itemList"]) != NUM_RESULTS:
            tally.errors[f"{op}: {len(resp['itemList'])} items instead of {NUM_RESULTS}"] += 1
        else:
            tally.latencies[op].append((start, end - start))


def writer(client: Any, setup: Setup, pool: list[str], others: list[str], seed: int, deadline: float,
           tally: Tally) -> None:
    rng = random.Random(seed)
    while time.perf_counter() < deadline:
        user = rng.choice(pool) if rng.random() < 0.5 else rng.choice(others)
        events, keys = [], []
        for _ in range(rng.randint(1, 3)):
            serial = next_serial()
            item = rng.choice(setup.items)
            events.append({"eventId": f"load-{serial}", "eventType": "RATING", "sentAt": SENT_AT_BASE + serial,
                           "itemId": item, "eventValue": float(rng.randint(1, 10)),
                           "properties": json.dumps({"cabinType": rng.choice(CABINS)})})
            keys.append((user, SENT_AT_BASE + serial, item))
        start = time.perf_counter()
        try:
            resp = client.put_events(trackingId=setup.tracking_id, userId=user, sessionId=f"load-{seed}-{user}",
                                     eventList=events)
        except Exception as err:
            tally.last_end = time.perf_counter()
            _error(tally, PUT, err)
            tally.unsure.extend(keys)
            continue
        tally.last_end = end = time.perf_counter()
        meta = resp["ResponseMetadata"]
        if meta["HTTPStatusCode"] != 200 or meta.get("RetryAttempts", 0):
            tally.errors[f"{PUT}: HTTP {meta['HTTPStatusCode']}, {meta.get('RetryAttempts')} retries"] += 1
            tally.unsure.extend(keys)
        else:
            tally.latencies[PUT].append((start, end - start))
            tally.stored.extend((end, key) for key in keys)


def run_phase(name: str, served: Served, setup: Setup, readers: int, writers: int, seconds: float,
              seed: int) -> Phase:
    """`readers` + `writers` threads, each with its own clients, from one start until `seconds` later."""
    rng = random.Random(seed)
    pool = rng.sample(setup.users, READ_POOL)
    in_pool = set(pool)
    others = [u for u in setup.users if u not in in_pool]
    tallies = [Tally() for _ in range(readers + writers)]
    runtimes = [clients(served.endpoint, "personalize-runtime")[0] for _ in range(readers)]
    trackers = [clients(served.endpoint, "personalize-events")[0] for _ in range(writers)]
    server_cpu, client_cpu = served.cpu_seconds(), time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    threads = [threading.Thread(target=reader, args=(runtimes[i], setup, pool, seed * 100 + i, deadline, tallies[i]))
               for i in range(readers)]
    threads += [threading.Thread(target=writer, args=(trackers[i], setup, pool, others, seed * 100 + 50 + i,
                                                      deadline, tallies[readers + i])) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ended = max([t.last_end for t in tallies] + [start])
    merged = Tally()
    for t in tallies:
        for op in OPS:
            merged.latencies[op] += t.latencies[op]
        merged.errors.update(t.errors)
        merged.stored += t.stored
        merged.unsure += t.unsure
        if t.last_end < deadline:  # a thread that ended before the deadline did not run the full time
            merged.errors["a thread stopped before the deadline"] += 1
    return Phase(name, start, ended - start, merged, served.cpu_seconds() - server_cpu,
                 time.process_time() - client_cpu, {"readers": readers, "writers": writers})


def stats(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Count and percentiles (ms) of (start, seconds) samples."""
    if not samples:
        return {"n": 0, "p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    ms = np.array([seconds for _, seconds in samples]) * 1000
    return {"n": len(ms), "p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
            "p99": float(np.percentile(ms, 99)), "max": float(ms.max())}


# ---- counting the events back ---------------------------------------------------------------------------------------


def exported_events(endpoint: str, setup: Setup) -> tuple[Counter[tuple[str, int, str]], float]:
    """What PutEvents stored, read back through a dataset export job (ingestionMode PUT) and its CSV files."""
    s3, personalize = clients(endpoint, "s3", "personalize")
    name = f"{GROUP}-export-{int(time.time())}"
    job = personalize.create_dataset_export_job(
        jobName=name, datasetArn=setup.interactions, ingestionMode="PUT", roleArn=ROLE,
        jobOutput={"s3DataDestination": {"path": f"s3://{BUCKET}/export/"}})["datasetExportJobArn"]
    took = wait("export job", lambda: personalize.describe_dataset_export_job(datasetExportJobArn=job)[
        "datasetExportJob"]["status"])
    rows: Counter[tuple[str, int, str]] = Counter()
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=f"export/{name}/")
    if listed.get("IsTruncated"):
        raise LoadFailed("more than 1,000 export files")
    for obj in listed.get("Contents", []):
        text = s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().decode()
        for row in csv.DictReader(io.StringIO(text)):
            rows[(row["USER_ID"], int(row["TIMESTAMP"]), row["ITEM_ID"])] += 1
    return rows, took


# ---- the report ------------------------------------------------------------------------------------------------------


HEAD = """## {title}

Measured {date} on {machine}:

```
{command}
```

A bounded load test over loopback: `tailor serve` (`python -m tailor.local.cli serve --port 0`, the console command as
a user runs it) in its own process on 127.0.0.1, and the load from threads of this script in another process, each
thread with its own stock boto3 client (retries off: `total_max_attempts` 1, and each response's RetryAttempts checked
to be 0). Client and server are on the same {cpus}-CPU machine, so the client competes with the server for the CPUs.
The server is one Python process (werkzeug, a thread per connection, moto's DynamoDB and S3 in memory behind one
lock), so its requests share one GIL. Data: the shipped airline sample (what `tailor demo` uses; {events:,}
interactions, {users:,} travellers, {items} trips) imported, an {recipe} solution version trained on it (default
hyper-parameters) and a campaign. **GetRecommendations**: numResults {num}, for a random traveller of a pool of
{pool:,}; one request in four with the filter `{filter}` and PROMOTION="Yes" ({promoted} of the trips); each response
must hold {num} items. **PutEvents**: 1-3 RATING events a call (eventValue, cabinType in properties), each with its
own eventId and TIMESTAMP, for a random traveller, half of them from the readers' pool, so reads fold in events put
during the run. A latency is the client's: perf_counter around the boto3 call (serializing, HTTP over loopback, the
server, parsing). No call starts after a phase's deadline; 'seconds run' is from its start to the end of its last
call. Load average (1 / 5 / 15 min) at the start: {load_start}; at the end: {load_end}.

Phases, in this order: **readers alone, before** ({readers} GetRecommendations threads, {alone:.0f} s, nothing put
yet), **mixed** ({readers} readers + {writers} writers, the load test proper), **readers alone, after** (as before, with
the events the run put in the store), **writers alone** ({writers} PutEvents threads, {alone:.0f} s). The alone phases
are the peer, in the same run: the same requests without the other kind beside them."""


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"


def report(result: dict[str, Any], command: str) -> str:
    from moto import __version__ as moto_version

    phases: dict[str, Phase] = {p.name: p for p in result["phases"]}
    before, mixed, after, writes = (phases[name] for name in PHASES)
    ends = np.sort(np.array([end for p in phases.values() for end, _ in p.tally.stored]))

    def in_store(at: float) -> int:
        return int(np.searchsorted(ends, at, side="right"))

    out = [HEAD.format(
        title=TITLE, date=datetime.date.today().isoformat(),
        machine=machine(f"boto3 {boto3.__version__}", f"moto {moto_version}"), command=command, cpus=os.cpu_count(),
        events=result["sample_events"], users=result["sample_users"],
        items=result["sample_items"], recipe=RECIPE, num=NUM_RESULTS, pool=READ_POOL, filter=FILTER,
        promoted=result["promoted"], load_start=result["load_start"], load_end=result["load_end"],
        readers=mixed.threads["readers"], writers=mixed.threads["writers"], alone=result["alone_seconds"])]
    rows = []
    for phase in phases.values():
        for op in OPS:
            s = stats(phase.tally.latencies[op])
            if not s["n"]:
                continue
            errors = sum(n for kind, n in phase.tally.errors.items() if kind.startswith(op + ":"))
            rows.append([phase.name, op, f"{s['n']:,}", fmt(s["n"] / phase.seconds), fmt(s["p50"]), fmt(s["p90"]),
                         fmt(s["p99"]), fmt(s["max"]), str(errors)])
    out += table(["phase", "request", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors"], rows)
    out += table(["phase", "threads", "seconds run", "events in the store (start → end)", "server CPUs busy",
                  "load client CPUs busy", "errors, all kinds"],
                 [[p.name, f"{p.threads['readers']} + {p.threads['writers']}", f"{p.seconds:.2f}",
                   f"{in_store(p.start):,} → {in_store(p.start + p.seconds):,}", fmt(p.server_cpu / p.seconds, 2),
                   fmt(p.client_cpu / p.seconds, 2), str(sum(p.tally.errors.values()))] for p in phases.values()])
    out += ["", "CPUs busy: CPU-seconds per second of the phase (1.00 = one CPU all the time).", "",
            "The mixed phase over time (GetRecommendations: both kinds together):"]
    slices = max(1, round(mixed.seconds / 10))
    width = mixed.seconds / slices
    slice_rows = []
    for k in range(slices):
        low, high = mixed.start + k * width, mixed.start + (k + 1) * width
        reads = [x for op in (GET, GET_FILTERED) for x in mixed.tally.latencies[op] if low <= x[0] < high]
        puts = [x for x in mixed.tally.latencies[PUT] if low <= x[0] < high]
        slice_rows.append([f"{k * width:.0f}-{(k + 1) * width:.0f}", f"{in_store(low):,}",
                           fmt(len(reads) / width), fmt(stats(reads)["p50"]), fmt(len(puts) / width),
                           fmt(stats(puts)["p50"])])
    out += table(["seconds", "events in the store", "GetRecommendations req/s", "p50 ms", "PutEvents req/s",
                  "p50 ms"], slice_rows)

    def p50(phase: Phase, ops: tuple[str, ...]) -> float:
        return stats([x for op in ops for x in phase.tally.latencies[op]])["p50"]

    def rate(phase: Phase, ops: tuple[str, ...]) -> float:
        return sum(len(phase.tally.latencies[op]) for op in ops) / phase.seconds

    both = (GET, GET_FILTERED)
    check = result["check"]
    errors = sum(sum(p.tally.errors.values()) for p in phases.values())
    requests = sum(len(x) for p in phases.values() for x in p.tally.latencies.values())
    kinds = "; ".join(f"{n} x {k}" for k, n in result["error_kinds"].most_common(5))
    out += ["", textwrap.fill(
        f"**Under load / alone** (p50 in the mixed phase over p50 alone): GetRecommendations "
        f"{p50(mixed, (GET,)) / p50(before, (GET,)):.2f}x against the readers before, "
        f"{p50(mixed, (GET,)) / p50(after, (GET,)):.2f}x against the readers after (with the filter "
        f"{p50(mixed, (GET_FILTERED,)) / p50(before, (GET_FILTERED,)):.2f}x and "
        f"{p50(mixed, (GET_FILTERED,)) / p50(after, (GET_FILTERED,)):.2f}x); PutEvents "
        f"{p50(mixed, (PUT,)) / p50(writes, (PUT,)):.2f}x against the writers alone. Throughput: GetRecommendations "
        f"{rate(mixed, both):,.1f} req/s in the mixed phase, {rate(before, both):,.1f} alone before and "
        f"{rate(after, both):,.1f} after; PutEvents {rate(mixed, (PUT,)):,.1f} req/s mixed, "
        f"{rate(writes, (PUT,)):,.1f} alone.", 120)]
    out += ["", textwrap.fill(
        f"**Errors: {errors}** in {requests:,} requests{f' ({kinds})' if errors else ''}. **Events**: "
        f"{check['sent']:,} sent in the {check['calls']:,} PutEvents calls answered 200 (all phases); "
        f"{check['exported']:,} exported by a CreateDatasetExportJob (ingestionMode PUT, {check['export_s']:.1f} s) "
        f"after the run: {check['lost']} lost, {check['duplicated']} stored twice, {check['unexpected']} not sent. "
        "They are counted through the API as a user would count them, so the server stays a process of its own (an "
        "in-process server could be read directly, but would share the client's GIL). Every event has its own "
        "TIMESTAMP, so each exported row names one event (an export writes rows that repeat in every field once, as "
        "Personalize documents, so a second copy of an event would show as a row with a TIMESTAMP not sent).", 120)]
    out += ["", textwrap.fill(
        f"The first GetRecommendations (the campaign's model loaded into the server) took {result['cold_ms']:.0f} ms "
        f"and is in no phase. The server process held {result['server_rss']:.0f} MiB at the end. Setup (not timed "
        f"above): the imports {result['setup_seconds']['import interactions']:.1f} s (interactions) and "
        f"{result['setup_seconds']['import items']:.1f} s (items), training {result['setup_seconds']['training']:.1f}"
        " s.", 120)]
    out += ["", textwrap.fill(
        f"Reading these figures: the mixed phase ran its full {mixed.seconds:.0f} s with {errors} errors and every "
        "event stored once. Its latencies are the local endpoint's, not a deployment's, and they grow with the events "
        f"put: GetRecommendations p50 {p50(before, both):.0f} ms alone with an empty events store, "
        f"{p50(after, both):.0f} ms alone after the run's {in_store(after.start):,} events. The cause (cProfile of "
        f"the server): moto {moto_version}'s DynamoDB Query sorts every item of the table on each call "
        "(`Table.all_items`), and each GetRecommendations makes two Queries on the events table (the user's events "
        "for the fold-in, and the log of PutItems the catalog reads), so its cost grows with all the events put, by "
        "anyone; DynamoDB itself reads only the queried partition. In the mixed phase PutEvents mostly waits: "
        "every moto call holds one lock and the server's threads share one GIL, so a put queues behind the reads. "
        f"The server kept {mixed.server_cpu / mixed.seconds:.2f} CPUs busy and the load client "
        f"{mixed.client_cpu / mixed.seconds:.2f}: the one server process is the bottleneck, not the client or the "
        "second CPU. The Serving section has the handler's own compute per request, as a deployment runs it.", 120)]
    return "\n".join(out)


# ---- main ------------------------------------------------------------------------------------------------------------


PHASES = ("readers alone, before", "mixed", "readers alone, after", "writers alone")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0, help="length of the mixed phase (default 60)")
    ap.add_argument("--alone-seconds", type=float, default=10.0, help="length of each alone phase (default 10)")
    ap.add_argument("--readers", type=int, default=4, help="GetRecommendations threads (default 4)")
    ap.add_argument("--writers", type=int, default=2, help="PutEvents threads (default 2)")
    ap.add_argument("--write", action="store_true", help=f"replace the '## {TITLE}' section of BENCHMARKS.md")
    args = ap.parse_args()
    if min(args.readers, args.writers) < 1 or min(args.seconds, args.alone_seconds) <= 0:
        ap.error("at least one reader and one writer, and positive durations")
    command = shlex.join([".venv/bin/python", "benchmarks/load.py", *sys.argv[1:]])

    load_start = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at start (1 / 5 / 15 min): {load_start}", file=sys.stderr)
    served = Served()
    print(f"tailor serve (pid {served.proc.pid}) at {served.endpoint}", file=sys.stderr)
    try:
        started = time.monotonic()
        setup = set_up(served.endpoint)
        took = ", ".join(f"{k} {v:.1f}s" for k, v in setup.seconds.items())
        print(f"setup: {time.monotonic() - started:.0f}s ({took})", file=sys.stderr)
        runtime = clients(served.endpoint, "personalize-runtime")[0]
        start = time.perf_counter()
        runtime.get_recommendations(campaignArn=setup.campaign, userId=setup.users[0], numResults=NUM_RESULTS)
        cold_ms = (time.perf_counter() - start) * 1000
        runtime.get_recommendations(campaignArn=setup.campaign, userId=setup.users[0], numResults=NUM_RESULTS,
                                    filterArn=setup.filter_arn, filterValues={"PROMOTION": '"Yes"'})
        phases = []
        threads = {PHASES[0]: (args.readers, 0), PHASES[1]: (args.readers, args.writers), PHASES[2]: (args.readers, 0),
                   PHASES[3]: (0, args.writers)}
        for seed, name in enumerate(PHASES, 1):
            readers, writers = threads[name]
            seconds = args.seconds if name == "mixed" else args.alone_seconds
            print(f"{name}: {readers} readers + {writers} writers for {seconds:.0f}s", file=sys.stderr)
            phase = run_phase(name, served, setup, readers, writers, seconds, seed=seed)
            counts = ", ".join(f"{op} {len(phase.tally.latencies[op]):,}" for op in OPS)
            print(f"  {phase.seconds:.2f}s, {counts}, errors {sum(phase.tally.errors.values())}", file=sys.stderr)
            phases.append(phase)
        load_end = " / ".join(f"{x:.2f}" for x in os.getloadavg())

        sent: Counter[tuple[str, int, str]] = Counter(key for p in phases for _, key in p.tally.stored)
        unsure = {key for p in phases for key in p.tally.unsure}
        exported, export_s = exported_events(served.endpoint, setup)
        check = {"sent": sum(sent.values()), "calls": sum(len(p.tally.latencies[PUT]) for p in phases),
                 "exported": sum(exported.values()), "export_s": export_s,
                 "lost": sum(1 for key in sent if key not in exported),
                 "duplicated": sum(1 for n in exported.values() if n > 1) + sum(1 for n in sent.values() if n > 1),
                 "unexpected": sum(1 for key in exported if key not in sent and key not in unsure)}
        server_rss = served.rss_mib()
    finally:
        served.stop()
    server_errors = [line for line in served.output if "Traceback" in line or " ERROR " in line]
    with open(SAMPLE / "df_item_deduplicated.csv", newline="") as f:
        promoted = sum(row["Promotion"] == "Yes" for row in csv.DictReader(f))
    with open(SAMPLE / "df_interactions.csv", newline="") as f:
        sample_events = sum(1 for _ in csv.DictReader(f))
    error_kinds: Counter[str] = Counter()
    for phase in phases:
        error_kinds.update(phase.tally.errors)
    result = {"phases": phases, "check": check, "cold_ms": cold_ms, "server_rss": server_rss,
              "setup_seconds": setup.seconds, "load_start": load_start, "load_end": load_end,
              "alone_seconds": args.alone_seconds, "sample_users": len(setup.users), "sample_items": len(setup.items),
              "sample_events": sample_events, "promoted": promoted, "error_kinds": error_kinds}
    section = report(result, command)
    print(section)
    for kind, n in error_kinds.most_common():
        print(f"error: {n} x {kind}", file=sys.stderr)
    if served.output:
        print("the server's output:\n" + "\n".join(served.output[-40:]), file=sys.stderr)
    failed = bool(error_kinds) or check["lost"] or check["duplicated"] or check["unexpected"] or server_errors
    if args.write and not failed:
        write_section(section, ROOT / "BENCHMARKS.md", TITLE)
    elif args.write:
        print("not written: the run had errors", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
