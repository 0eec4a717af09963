"""Scale benchmark: aws-user-personalization trained at ML-20M size and at 1M interactions, vs implicit ALS, same run.

For each synthetic dataset (seeded; the shapes of the issue: ML-20M-sized, and 1M interactions):

* **Training job**: the data goes through the local endpoint exactly as a user's would (CSV to S3, a dataset import
  job, CreateSolution, CreateSolutionVersion), and the version is trained by the container's command,
  `python -m tailor.handlers.container train <arn>`, in a child process that reaches DynamoDB and S3 (moto) through
  the endpoint, as the Fargate task reaches AWS. Its wall time and peak memory (the child's max RSS, what a task's
  memory limit is measured against) cover everything the job does: reading the snapshot, the held-out fit and
  evaluation for GetSolutionMetrics, the final fit, and writing the artifact.
* **Fit**: aws-user-personalization's fit alone on all events, default hyper-parameters, in a fresh child process.
* **Peer**: implicit's ALS (CPU, 64 factors, 15 iterations, 2 threads, BLAS at 1 as implicit advises) fitted on the
  same events in a fresh child process.

    .venv/bin/python benchmarks/scale.py --write          (needs the bench group for the peer: uv sync --group bench)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import boto3
import numpy as np
from report import table, write_section

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20
RECIPE = "aws-user-personalization"


@dataclasses.dataclass(frozen=True)
class Case:
    title: str
    users: int
    items: int
    events: int


CASES = {
    "ml20m": Case("ML-20M-sized synthetic", 138_000, 20_000, 12_000_000),
    "1m-wide": Case("1M interactions, 20,000 items", 12_000, 20_000, 1_000_000),
    "1m": Case("1M interactions, ML-1M shape", 6_040, 3_706, 1_000_000),
}


def synthetic(case: Case, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, items, timestamps) sorted by user then time, one event per user-item pair (as ratings), about
    `case.events` of them. Item popularity is Zipf-like (rank^-0.9, shuffled over item ids); user activity is
    lognormal (sigma 1.2) on top of 20 events each (MovieLens keeps users with at least 20 ratings)."""
    rng = np.random.default_rng(seed)
    popularity = rng.permutation(1.0 / np.arange(1, case.items + 1) ** 0.9)
    popularity /= popularity.sum()
    activity = rng.lognormal(0.0, 1.2, case.users)
    wanted = case.events
    for _ in range(3):  # draws repeat popular items for heavy users: draw more until the unique pairs hit the goal
        extra = activity / activity.sum() * max(wanted - 20 * case.users, 0)
        degree = np.minimum(np.round(20 + extra).astype(np.int64), case.items // 2)
        users = np.repeat(np.arange(case.users, dtype=np.int64), degree)
        items = rng.choice(case.items, size=len(users), p=popularity)
        pairs = np.unique(users * case.items + items)
        if abs(len(pairs) - case.events) < 0.01 * case.events:
            break
        wanted = int(wanted * case.events / len(pairs))
    users, items = pairs // case.items, pairs % case.items
    stamps = 1_500_000_000 + rng.integers(0, 10**8, len(users))
    order = np.lexsort((stamps, users))
    return users[order].astype(np.int32), items[order].astype(np.int32), stamps[order]


def write_csv(path: Path, users: np.ndarray, items: np.ndarray, stamps: np.ndarray) -> None:
    with path.open("w") as f:
        f.write("USER_ID,ITEM_ID,TIMESTAMP\n")
        for lo in range(0, len(users), 1_000_000):
            hi = lo + 1_000_000
            f.writelines(f"u{u},i{i},{t}\n" for u, i, t in
                         zip(users[lo:hi].tolist(), items[lo:hi].tolist(), stamps[lo:hi].tolist(), strict=True))


def run_child(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a child process to the end: its wall time and output (it prints its own max RSS last)."""
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{argv} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"wall_s": wall, "out": proc.stdout, "err": proc.stderr}


def child_peak_mib(result: dict[str, Any]) -> float:
    """The child's own report of its peak RSS."""
    return float(json.loads(result["out"].strip().splitlines()[-1])["peak_kib"]) / 1024


def peak_kib() -> int:
    """This process's peak resident memory since exec (VmHWM). Not ru_maxrss: Linux carries the parent's peak into a
    forked child's ru_maxrss across exec, so a child of a big benchmark process would report the parent's."""
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:", 1)[1].split()[0])


# --- children ------------------------------------------------------------------------------------------------------

def _load(npz: str, n_items: int) -> Any:
    from tailor.training.base import InteractionData

    z = np.load(npz)
    n_users = int(z["users"].max()) + 1
    return InteractionData(user_ids=np.array([f"u{u}" for u in range(n_users)]),
                           item_ids=np.array([f"i{i}" for i in range(n_items)]), users=z["users"], items=z["items"],
                           timestamps=z["stamps"], weights=np.ones(len(z["users"]), dtype=np.float32),
                           event_types=np.full(len(z["users"]), -1, dtype=np.int16))


def child_fit(npz: str, n_items: int) -> None:
    from tailor.training.recipes import get_recipe

    data = _load(npz, n_items)
    loaded = peak_kib()
    start = time.perf_counter()
    model = get_recipe(RECIPE).fit(data, {})
    fit_s = time.perf_counter() - start
    print(json.dumps({"fit_s": fit_s, "loaded_kib": loaded, "artifact_mib": sum(
        a.nbytes for a in model.arrays().values()) / MB,
        "peak_kib": peak_kib()}))


def child_als(npz: str, n_items: int) -> None:
    import scipy.sparse as sp
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    data = _load(npz, n_items)
    loaded = peak_kib()
    x = sp.csr_matrix((np.ones(data.n_events, dtype=np.float32), (data.users, data.items)),
                      shape=(data.n_users, data.n_items))
    start = time.perf_counter()
    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(factors=64, regularization=0.01, alpha=1.0, iterations=15, num_threads=2,
                                      random_state=0, use_gpu=False)
        als.fit(x, show_progress=False)
    print(json.dumps({"fit_s": time.perf_counter() - start, "loaded_kib": loaded,
                      "peak_kib": peak_kib()}))


def child_train(arn: str) -> None:
    """The container's command, run in this process, then this process's peak memory."""
    from tailor.handlers import container

    code = container.main(["train", arn])
    print(json.dumps({"code": code, "peak_kib": peak_kib()}))


# --- parent --------------------------------------------------------------------------------------------------------

class _Held:
    """Holds launched jobs so the benchmark runs training in a child process, as the Fargate task would."""

    def __init__(self) -> None:
        self.launched: list[tuple[str, str]] = []

    def launch(self, job: str, arn: str) -> None:
        self.launched.append((job, arn))


def training_job(case: Case, csv_path: Path) -> dict[str, Any]:
    from tailor import config
    from tailor.local import embedded
    from tailor.local.server import LocalServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request would bury the progress
    server = LocalServer(port=0).start()
    held = _Held()
    try:
        server.tailor.service = dataclasses.replace(server.tailor.service, launcher=held)
        session = boto3.session.Session(region_name=config.DEFAULT_REGION, **embedded.LOCAL_CREDENTIALS)
        s3 = session.client("s3", endpoint_url=server.endpoint)
        personalize = session.client("personalize", endpoint_url=server.endpoint)
        s3.create_bucket(Bucket="bench")
        start = time.perf_counter()
        s3.upload_file(str(csv_path), "bench", "interactions.csv")
        upload_s = time.perf_counter() - start
        group = personalize.create_dataset_group(name="scale")["datasetGroupArn"]
        schema = personalize.create_schema(name="scale", schema=json.dumps({
            "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
            "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                       {"name": "TIMESTAMP", "type": "long"}], "version": "1.0"}))["schemaArn"]
        _run_held(server, held)
        dataset = personalize.create_dataset(name="i", schemaArn=schema, datasetGroupArn=group,
                                             datasetType="INTERACTIONS")["datasetArn"]
        _run_held(server, held)
        start = time.perf_counter()
        job = personalize.create_dataset_import_job(
            jobName="i", datasetArn=dataset, dataSource={"dataLocation": "s3://bench/interactions.csv"},
            roleArn="arn:aws:iam::123456789012:role/bench")["datasetImportJobArn"]
        _run_held(server, held)
        import_s = time.perf_counter() - start
        assert personalize.describe_dataset_import_job(datasetImportJobArn=job)["datasetImportJob"][
            "status"] == "ACTIVE"
        solution = personalize.create_solution(name="s", datasetGroupArn=group,
                                               recipeArn=f"arn:aws:personalize:::recipe/{RECIPE}")["solutionArn"]
        _run_held(server, held)
        version = personalize.create_solution_version(solutionArn=solution)["solutionVersionArn"]
        (_, arn), = held.launched
        held.launched.clear()
        env = {**os.environ, "AWS_ENDPOINT_URL": server.endpoint, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", config.ENV_REGION: config.DEFAULT_REGION,
               config.ENV_ACCOUNT_ID: config.DEFAULT_ACCOUNT, config.ENV_RESOURCES_TABLE: embedded.RESOURCES_TABLE,
               config.ENV_EVENTS_TABLE: embedded.EVENTS_TABLE, config.ENV_ARTIFACTS_BUCKET: embedded.ARTIFACTS_BUCKET,
               config.ENV_TOKEN_SECRET: "tailor-local"}
        result = run_child([sys.executable, __file__, "--child", "train", arn], env)
        described = personalize.describe_solution_version(solutionVersionArn=version)["solutionVersion"]
        if described["status"] != "ACTIVE":
            raise RuntimeError(f"training ended {described['status']}: {described.get('failureReason')}")
        metrics = personalize.get_solution_metrics(solutionVersionArn=version)["metrics"]
        steps = re.findall(r"\[(\d)/\d\] (.*?) \(([\d.]+)s\)", result["err"])
        return {"wall_s": result["wall_s"], "peak_mib": child_peak_mib(result), "upload_s": upload_s,
                "import_s": import_s, "metrics": metrics, "steps": [float(s) for _, _, s in steps]}
    finally:
        server.stop()


def _run_held(server: Any, held: _Held) -> None:
    from tailor import jobs

    while held.launched:
        job, arn = held.launched.pop(0)
        jobs.run_and_record(server.tailor.service, job, arn)


def run_case(key: str, case: Case, tmp: Path, with_peer: bool) -> dict[str, Any]:
    print(f"{case.title}: generating", file=sys.stderr)
    users, items, stamps = synthetic(case)
    npz, csv_path = tmp / f"{key}.npz", tmp / f"{key}.csv"
    np.savez(npz, users=users, items=items, stamps=stamps)
    write_csv(csv_path, users, items, stamps)
    res: dict[str, Any] = {"case": case, "events": len(users), "users": int(users.max()) + 1,
                           "sum_deg2": float((np.bincount(users).astype(np.float64) ** 2).sum()),
                           "csv_mib": csv_path.stat().st_size / MB}
    del users, items, stamps
    print(f"{case.title}: fit", file=sys.stderr)
    fit = run_child([sys.executable, __file__, "--child", "fit", str(npz), str(case.items)])
    res["fit"] = {**json.loads(fit["out"].strip().splitlines()[-1]), "peak_mib": child_peak_mib(fit)}
    if with_peer:
        print(f"{case.title}: implicit ALS", file=sys.stderr)
        als = run_child([sys.executable, __file__, "--child", "als", str(npz), str(case.items)])
        res["als"] = {**json.loads(als["out"].strip().splitlines()[-1]), "peak_mib": child_peak_mib(als)}
    print(f"{case.title}: training job", file=sys.stderr)
    res["job"] = training_job(case, csv_path)
    npz.unlink()
    csv_path.unlink()
    return res


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "")
    import scipy

    return (f"{os.cpu_count()} CPUs ({cpu}), {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} "
            f"GiB, Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
            f"{platform.system()} {platform.release()}")


HEAD = """## Scale

Measured {date} on {machine}:

```
{command}
```

Synthetic data (`synthetic()` in the script, seeded): one event per user-item pair, item popularity Zipf-like
(rank^-0.9), user activity 20 + lognormal(sigma 1.2), random timestamps. **Training job**: the CSV goes to S3 (moto) and
through a dataset import job on the local endpoint, then CreateSolution / CreateSolutionVersion, and the version is
trained by the container's command (`python -m tailor.handlers.container train <arn>`) in a child process that reaches
DynamoDB and S3 through the endpoint, as the Fargate task would: snapshot read, held-out fit and evaluation
(GetSolutionMetrics), final fit on all events, artifact written. **Peak** is the child's peak resident memory (VmHWM:
what a task's memory limit counts). **Fit** is {recipe}'s fit alone on all events (default hyper-parameters) in a fresh
process; **implicit ALS** (64 factors, 15 iterations, 2 threads, BLAS at 1) is fitted on the same events in a fresh
process."""


STEPS = ["data read", "held-out fit + metrics", "final fit", "artifact written", "ACTIVE"]  # the job's 5 steps


def report(results: list[dict[str, Any]], command: str) -> str:
    out = [HEAD.format(date=datetime.date.today().isoformat(), machine=machine(), command=command, recipe=RECIPE)]
    rows = []
    for r in results:
        c, job, fit = r["case"], r["job"], r["fit"]
        rows.append([c.title, f"{r['users']:,}", f"{c.items:,}", f"{r['events']:,}", f"{job['wall_s']:.1f}",
                     f"{job['peak_mib']:,.0f}", f"{fit['fit_s']:.1f}", f"{fit['peak_mib']:,.0f}",
                     f"{fit['artifact_mib']:,.0f}"])
    out += table(["data", "users", "items", "events", "training job s", "job peak MiB", "fit s", "fit peak MiB",
                  "model MiB"], rows)
    out.append("\nWhere the training job's time goes (seconds since the job started, from its progress log):")
    out += table(["data", "S3 upload s", "import job s", *STEPS],
                 [[r["case"].title, f"{r['job']['upload_s']:.1f}", f"{r['job']['import_s']:.1f}",
                   *(f"{s:.1f}" for s in r["job"]["steps"])] for r in results])
    peers = [r for r in results if "als" in r]
    if peers:
        out.append("\nAgainst implicit ALS on the same events, same run (fit only; ratio < 1: Tailor is faster / "
                   "smaller):")
        out += table(["data", "Tailor fit s", "ALS fit s", "**fit time ÷ ALS**", "Tailor fit peak MiB",
                      "ALS fit peak MiB", "**peak ÷ ALS**"],
                     [[r["case"].title, f"{r['fit']['fit_s']:.1f}", f"{r['als']['fit_s']:.1f}",
                       f"**{r['fit']['fit_s'] / r['als']['fit_s']:.2f}**", f"{r['fit']['peak_mib']:,.0f}",
                       f"{r['als']['peak_mib']:,.0f}", f"**{r['fit']['peak_mib'] / r['als']['peak_mib']:.2f}**"]
                      for r in peers])
    out += targets(results)
    out.append("\nOffline metrics the training job reported (GetSolutionMetrics; the synthetic data has popularity "
               "and nothing else to learn, so these only show the job completed):")
    out += table(["data", "NDCG@10", "P@10", "coverage"],
                 [[r["case"].title, *(f"{r['job']['metrics'][k]:.4f}" for k in (
                     "normalized_discounted_cumulative_gain_at_10", "precision_at_10", "coverage"))]
                  for r in results])
    return "\n".join(out) + "\n"


# The targets: the ML-20M-sized training in <= 3 minutes and <= 6 GB; 1M interactions in a 4 GB Fargate task.
TARGETS = {"ml20m": (180.0, 6 * 1024), "1m-wide": (None, 4 * 1024), "1m": (None, 4 * 1024)}


def targets(results: list[dict[str, Any]]) -> list[str]:
    lines = ["\nAgainst the targets (the whole training job, not only the fit):", ""]
    for r in results:
        key = next(k for k, c in CASES.items() if c == r["case"])
        seconds, mib = TARGETS[key]
        job = r["job"]
        time_part = (f"{job['wall_s']:.0f} s against {seconds:.0f} s "
                     f"({'met' if job['wall_s'] <= seconds else 'NOT met'}), ") if seconds else ""
        lines.append(f"- {r['case'].title}: {time_part}peak {job['peak_mib']:,.0f} MiB against {mib:,} MiB "
                     f"({'met' if job['peak_mib'] <= mib else 'NOT met'}).")
    lines += ["", textwrap.fill(
        "EASE's dense inverse is the cost: n³ time and n² · 4 bytes at n items (1.6 GB at 20,000), whatever the "
        "number of events, which is why 1M events over 20,000 items take longer than ALS by far more than 12M "
        "events do. The job's peak is above the fit's because it also holds the dataset snapshot and the held-out "
        "split (the artifact is spooled to disk, not held in memory); its held-out fit and evaluation "
        "(GetSolutionMetrics) make it about twice the fit.", 120)]
    return lines




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=list(CASES), help="run these datasets only")
    ap.add_argument("--no-peer", action="store_true", help="skip implicit ALS (when the bench group is missing)")
    ap.add_argument("--write", action="store_true", help="replace the '## Scale' section of BENCHMARKS.md")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, *rest = args.child
        {"fit": lambda: child_fit(rest[0], int(rest[1])), "als": lambda: child_als(rest[0], int(rest[1])),
         "train": lambda: child_train(rest[0])}[kind]()
        return
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
    command = shlex.join([exe, "benchmarks/scale.py", *sys.argv[1:]])
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        results = [run_case(key, case, Path(tmp), not args.no_peer) for key, case in CASES.items()
                   if not args.only or key in args.only]
    section = report(results, command) + "\n" + textwrap.fill(
        f"The whole run took {(time.perf_counter() - start) / 60:.1f} minutes.", 120) + "\n"
    print(section)
    if args.write:
        write_section(section, ROOT / "BENCHMARKS.md", "Scale")


if __name__ == "__main__":
    main()
