"""Import benchmark: a full dataset import job on the local endpoint vs a naive csv + numpy loader, same run."""

from __future__ import annotations

import argparse
import csv
import datetime
import gc
import gzip
import importlib.util
import io
import json
import logging
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from report import table, write_section

from tailor.adapters.memory import MemoryBlobStore
from tailor.imports import import_csv
from tailor.local.server import LocalServer
from tailor.schemas import parse_schema

ROOT = Path(__file__).resolve().parents[1]
ML1M_RATINGS = "ml-1m/ratings_users_1-2999.dat.gz"
ROLE = "arn:aws:iam::123456789012:role/PersonalizeS3"
BUCKET = "bench-data"
HEADER = "USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE\n"
SCHEMA = json.dumps({"type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
                     "fields": [{"name": n, "type": t} for n, t in (
                         ("USER_ID", "string"), ("ITEM_ID", "string"), ("TIMESTAMP", "long"),
                         ("EVENT_TYPE", "string"), ("EVENT_VALUE", ["null", "float"]))], "version": "1.0"})
MB = 1 << 20


def movielens_csv(src: Path, out: Path) -> int:
    """`UserID::MovieID::Rating::Timestamp` lines as a Personalize interactions CSV; returns the row count."""
    rows = 0
    with gzip.open(src, "rt", encoding="latin-1") as f, out.open("w") as w:
        w.write(HEADER)
        for line in f:
            user, item, rating, ts = line.rstrip("\n").split("::")
            w.write(f"{user},{item},{ts},rating,{rating}\n")
            rows += 1
    return rows


def synthetic_csv(rows: int, out: Path, seed: int = 42) -> int:
    """ML-1M-shaped interactions: 6,040 users x 3,706 items, ratings 1-5. Item popularity is a power law of
    rank, (rank + 50) ** -0.9, and user activity lognormal: both fitted to the ML-1M file (top item 0.36% of
    ratings, top 10% of items 44%, top 10% of users 39%)."""
    rng = np.random.default_rng(seed)
    n_users, n_items = 6040, 3706
    item_p = (np.arange(1, n_items + 1) + 50.0) ** -0.9
    user_p = rng.lognormal(0.0, 1.0, n_users)
    item_ids, user_ids = rng.permutation(n_items) + 1, rng.permutation(n_users) + 1
    with out.open("w") as w:
        w.write(HEADER)
        for start in range(0, rows, 100_000):  # in chunks, so generating leaves the process's peak RSS low
            n = min(100_000, rows - start)
            users = user_ids[rng.choice(n_users, n, p=user_p / user_p.sum())]
            items = item_ids[rng.choice(n_items, n, p=item_p / item_p.sum())]
            ts = rng.integers(956_703_932, 1_046_454_590, n)
            ratings = rng.choice(5, n, p=[0.06, 0.11, 0.26, 0.35, 0.22]) + 1
            w.writelines(f"{u},{i},{t},rating,{r}\n" for u, i, t, r in zip(
                users.tolist(), items.tolist(), ts.tolist(), ratings.tolist(), strict=True))
    return rows


def wait_status(describe: Callable[[], str], poll: float = 0.05, timeout: float = 1800) -> str:
    deadline = time.monotonic() + timeout
    while (status := describe()) not in ("ACTIVE", "CREATE FAILED") and time.monotonic() < deadline:
        time.sleep(poll)
    return status


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def endpoint_import(path: Path, repeats: int) -> None:
    """In a fresh process: serve, upload `path`, then `repeats` FULL import jobs through stock boto3 clients,
    each timed from CreateDatasetImportJob to ACTIVE; the result as one JSON line on stdout."""
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # keep stdout for the result
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    body = path.read_bytes()
    server = LocalServer("127.0.0.1", 0).start()
    try:
        session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1")
        s3, personalize = (session.client(s, endpoint_url=server.endpoint) for s in ("s3", "personalize"))
        s3.create_bucket(Bucket=BUCKET)
        t0 = time.perf_counter()
        s3.put_object(Bucket=BUCKET, Key="data.csv", Body=body)
        upload = time.perf_counter() - t0
        group = personalize.create_dataset_group(name="bench")["datasetGroupArn"]
        wait_status(lambda: personalize.describe_dataset_group(datasetGroupArn=group)["datasetGroup"]["status"])
        schema = personalize.create_schema(name="bench-interactions", schema=SCHEMA)["schemaArn"]
        dataset = personalize.create_dataset(name="bench", schemaArn=schema, datasetGroupArn=group,
                                             datasetType="INTERACTIONS")["datasetArn"]
        wait_status(lambda: personalize.describe_dataset(datasetArn=dataset)["dataset"]["status"])
        rss_before, times = maxrss_mb(), []
        for k in range(repeats):
            t0 = time.perf_counter()
            job = personalize.create_dataset_import_job(
                jobName=f"bench-{k}", datasetArn=dataset, roleArn=ROLE, importMode="FULL",
                dataSource={"dataLocation": f"s3://{BUCKET}/data.csv"})["datasetImportJobArn"]
            status = wait_status(lambda j=job: personalize.describe_dataset_import_job(
                datasetImportJobArn=j)["datasetImportJob"]["status"])
            times.append(time.perf_counter() - t0)
            if status != "ACTIVE":
                raise SystemExit(f"import job {job} ended {status}")
        rss_after = maxrss_mb()
        # The same parse alone, in this process with the server's heap (the cyclic GC's work grows with it).
        parse = statistics.median(timed(tailor_direct, body) for _ in range(repeats))
        gc.disable()  # and with the cyclic GC off, to show what the GC's passes over that heap cost
        parse_nogc = statistics.median(timed(tailor_direct, body) for _ in range(repeats))
        gc.enable()
    finally:
        server.stop()
    print(json.dumps({"upload": upload, "job": statistics.median(times), "parse_in_server": parse,
                      "parse_nogc": parse_nogc, "rss_before": rss_before, "rss_import": rss_after - rss_before,
                      "rss_after": rss_after}))


def tailor_direct(body: bytes) -> Any:
    blobs = MemoryBlobStore()
    blobs.put("s3://b/data.csv", body)
    return import_csv(blobs, "s3://b/data.csv", parse_schema(SCHEMA), "INTERACTIONS", "FULL", None)


def naive_peer(body: bytes) -> Any:
    """What a user writes without Tailor: the stdlib csv module into a list of tuples, then one array per column."""
    rows = [tuple(r) for r in csv.reader(io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", newline=""))]
    cols = list(zip(*rows[1:], strict=True))
    return [np.array(cols[0]), np.array(cols[1]), np.array([int(v) for v in cols[2]]),
            np.array(cols[3]), np.array([float(v) for v in cols[4]])]


def pandas_peer(body: bytes) -> Any:
    import pandas as pd

    return pd.read_csv(io.BytesIO(body), dtype={"USER_ID": str, "ITEM_ID": str, "EVENT_TYPE": str})


def timed(fn: Callable[[bytes], Any], body: bytes) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn(body)
    return time.perf_counter() - t0


def measure(fns: dict[str, Callable[[bytes], Any]], body: bytes, repeats: int) -> dict[str, tuple[float, float]]:
    """Per function: (median seconds of `repeats` untraced calls, interleaved with the others' so drift in the
    machine's speed hits all alike; tracemalloc peak MiB of one more, traced, call)."""
    times = [{name: timed(fn, body) for name, fn in fns.items()} for _ in range(repeats)]
    print("  seconds per call:", times, file=sys.stderr)
    out = {}
    for name, fn in fns.items():
        gc.collect()
        tracemalloc.start()
        fn(body)
        out[name] = (statistics.median(t[name] for t in times), tracemalloc.get_traced_memory()[1] / MB)
        tracemalloc.stop()
    return out


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "")
    return f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, numpy {np.__version__}, " \
           f"{platform.system()} {platform.release()}"


HEAD = """## Import

Measured {date} on {machine}:

```
{command}
```

**Import job**: a FULL import through stock boto3 clients against `LocalServer` (what `tailor serve` runs, moto S3),
from CreateDatasetImportJob until DescribeDatasetImportJob says ACTIVE, polled every 50 ms. **`import_csv`**: the same
parse called on the same bytes in a `MemoryBlobStore`. **Peer**: stdlib `csv` into a list of tuples, then `np.array`
per column, no validation, its calls interleaved with `import_csv`'s. Medians of the times; peaks are tracemalloc's.
"""
TAIL = """
Where the job's time goes ({name}): of {job:.2f} s, the parse takes {parse_in_server:.2f} s in the job's process
({parse_nogc:.2f} s with the cyclic GC off: the rest is the GC's passes over the server's heap as the parse allocates
rows) against {lean:.2f} s in the lean benchmark process; {other:.2f} s is reading the object from moto, writing the
snapshot back, bookkeeping and sharing the process with the polling. Uploading took {upload:.2f} s.

Each file's jobs run in a fresh process (server and clients); max-RSS growth is its `ru_maxrss` after the jobs minus
after the upload, so it includes moto's copies of the CSV and of the snapshot. ML-1M is `{ml}`: users 1-2999 only, as
the full ratings file is not available here; it is converted in a temporary directory. The synthetic file is seeded.
{pandas}"""


def report(results: list[dict[str, Any]], command: str, peers: list[str]) -> str:
    out = [HEAD.format(date=datetime.date.today().isoformat(), machine=machine(), command=command).rstrip()]
    out += table(["data", "rows", "CSV MiB", "S3 upload s", "import job s", "`import_csv` s, job's process",
                  "`import_csv` s", "peer s"],
                 [[r["name"], f"{r['rows']:,}", f"{r['mib']:.1f}", *(f"{r[k]:.2f}" for k in (
                     "upload", "job", "parse_in_server")), f"{r['direct'][0]:.2f}", f"{r['naive'][0]:.2f}"]
                  for r in results])
    out += table(["data", "job rows/s", "`import_csv` rows/s", "peer rows/s", "**job ÷ peer** (speed)",
                  "**`import_csv` ÷ peer** (speed)"],
                 [[r["name"], *(f"{r['rows'] / t:,.0f}" for t in (r["job"], r["direct"][0], r["naive"][0])),
                   f"{r['naive'][0] / r['job']:.2f}", f"{r['naive'][0] / r['direct'][0]:.2f}"] for r in results])
    out += table(["data", "`import_csv` peak MiB", "peer peak MiB", "**Tailor ÷ peer** (peak)",
                  "job's max-RSS growth MiB", "job's process max RSS before → after, MiB"],
                 [[r["name"], f"{r['direct'][1]:.1f}", f"{r['naive'][1]:.1f}", f"{r['direct'][1] / r['naive'][1]:.2f}",
                   f"{r['rss_import']:.0f}", f"{r['rss_before']:.0f} → {r['rss_after']:.0f}"] for r in results])
    if "pandas" in peers:
        out += table(["data", "pandas rows/s", "`import_csv` ÷ pandas (speed)", "pandas peak MiB",
                      "Tailor ÷ pandas (peak)"],
                     [[r["name"], f"{r['rows'] / r['pandas'][0]:,.0f}", f"{r['pandas'][0] / r['direct'][0]:.2f}",
                       f"{r['pandas'][1]:.1f}", f"{r['direct'][1] / r['pandas'][1]:.2f}"] for r in results])
    big = max(results, key=lambda r: r["rows"])
    out.append(TAIL.format(**big, lean=big["direct"][0], other=big["job"] - big["parse_in_server"], ml=ML1M_RATINGS,
                           pandas="" if "pandas" in peers else "\npandas is not installed here, so it is no peer.\n"))
    return "\n".join(out)



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder holding ml-1m/")
    ap.add_argument("--synthetic-rows", type=int, default=1_000_000, help="rows of the synthetic CSV (0: skip)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="replace the '## Import' section of BENCHMARKS.md")
    ap.add_argument("--endpoint-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.endpoint_child:
        endpoint_import(args.endpoint_child, args.repeats)
        return
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
    command = shlex.join([exe, "benchmarks/import_benchmark.py", *sys.argv[1:]])
    peers = ["naive", *(["pandas"] if importlib.util.find_spec("pandas") else [])]  # pandas only if present
    with tempfile.TemporaryDirectory() as tmp:
        files = [("ML-1M users 1-2999", movielens_csv(args.data / ML1M_RATINGS, Path(tmp, "ml.csv")), "ml.csv")]
        if args.synthetic_rows:
            files.append(("synthetic", synthetic_csv(args.synthetic_rows, Path(tmp, "syn.csv")), "syn.csv"))
        results = []
        for name, rows, f in files:
            # The endpoint job runs in a fresh process (server and clients together) so its max RSS is its own.
            print(f"endpoint import: {name} ({rows:,} rows)", file=sys.stderr)
            child = subprocess.run([sys.executable, __file__, "--endpoint-child", str(Path(tmp, f)),
                                    "--repeats", str(args.repeats)], capture_output=True, text=True)
            if child.returncode:
                raise SystemExit(f"the endpoint run for {name} failed:\n{child.stderr}")
            results.append({"name": name, "rows": rows, "path": Path(tmp, f),
                            **json.loads(child.stdout.strip().splitlines()[-1])})
        for r in results:
            print(f"in-process: {r['name']}", file=sys.stderr)
            body = r["path"].read_bytes()
            r["mib"] = len(body) / MB
            fns = {"direct": tailor_direct, "naive": naive_peer, "pandas": pandas_peer}
            r.update(measure({k: fn for k, fn in fns.items() if k == "direct" or k in peers}, body, args.repeats))
    section = report(results, command, peers)
    print(section)
    if args.write:
        write_section(section, ROOT / "BENCHMARKS.md", "Import")


if __name__ == "__main__":
    main()
