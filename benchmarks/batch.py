"""Batch inference benchmark: recommendations for every ML-1M user in one batch job vs one GetRecommendations per user.

* **Data and model**: the ML-1M ratings in ../shared/data (users 1-2999, every one of their ratings; the licence
  keeps the file out of the repo), aws-user-personalization with its default hyper-parameters fitted on all of it,
  the softmax temperature calibrated as training does, written as the artifact the runtime and batch jobs read.
* **Batch**: `BatchRecommender.answer` (what a batch inference job runs for each input file): every user's JSON line
  in, the JSON output line out (numResults 25, scores), blocks of users scored together
  (`UserPersonalizationModel.score_batch`: one sparse x dense product per block).
* **Per user (the peer Tailor replaces)**: one GetRecommendations per user with the same request, as an API Gateway
  proxy event through the API's Lambda handler, in-process and warm (no network, no DynamoDB: a deployed per-user
  loop adds a round trip and a Query per user).
* **Peer library**: implicit's ALS (64 factors, 15 iterations) batch `recommend` for all users at once with their
  rated items, the fastest batch top-k the quality benchmark's peer offers, measured in the same run.
* Both Tailor modes run twice: without a filter, and with `EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")`
  (nothing the user already rated: what a nightly e-mail wants). Batch and per-user lists are checked identical.
* **Peak memory**: tracemalloc's peak of Python and numpy allocations during each mode (a separate, untimed pass),
  on top of the loaded model.

    .venv/bin/python benchmarks/batch.py --write      (needs ../shared/data and the bench group: uv sync --group bench)
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import shlex
import sys
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lambdas"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import load_ml1m  # noqa: E402
from report import machine, table, write_section  # noqa: E402
from serving import DictStore, NoLauncher, resource  # noqa: E402

from tailor.adapters.memory import MemoryBlobStore, MemoryEventStore  # noqa: E402
from tailor.service import Service  # noqa: E402
from tailor.serving.batch import BatchRecommender  # noqa: E402
from tailor.serving.recommend import get_recommendations  # noqa: E402
from tailor.training import evaluation  # noqa: E402
from tailor.training.base import InteractionData  # noqa: E402
from tailor.training.entrypoint import write_artifact  # noqa: E402
from tailor.training.recipes import get_recipe  # noqa: E402

RECIPE = "aws-user-personalization"
ACCOUNT, REGION = "123456789012", "us-east-1"
GROUP = f"arn:aws:personalize:{REGION}:{ACCOUNT}:dataset-group/bench"
VERSION = f"arn:aws:personalize:{REGION}:{ACCOUNT}:solution/bench/v1"
CAMPAIGN = f"arn:aws:personalize:{REGION}:{ACCOUNT}:campaign/bench"
FILTER_ARN = f"arn:aws:personalize:{REGION}:{ACCOUNT}:filter/unseen"
FILTER = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'
NUM_RESULTS = 25
NO_EXPLORATION = {"itemExplorationConfig": {"explorationWeight": "0"}}


def build_service(artifact: bytes) -> Service:
    blobs = MemoryBlobStore()
    blobs.put("s3://bench/model.npz", artifact)
    resources = [
        resource(VERSION, "solution-version", {"solutionVersionArn": VERSION, "datasetGroupArn": GROUP},
                 artifact="s3://bench/model.npz"),
        resource(CAMPAIGN, "campaign", {"campaignArn": CAMPAIGN, "solutionVersionArn": VERSION,
                                        "campaignConfig": NO_EXPLORATION}),
        resource(FILTER_ARN, "filter", {"filterArn": FILTER_ARN, "datasetGroupArn": GROUP, "filterExpression": FILTER}),
    ]
    return Service(store=DictStore(resources, {}), blobs=blobs, launcher=NoLauncher(), events=MemoryEventStore(),
                   region=REGION, account=ACCOUNT, artifacts_bucket="bench", cache_seconds=60.0)


def batch_lists(svc: Service, users: list[str], filter_arn: str | None) -> list[list[str]]:
    recommender = BatchRecommender(svc, svc.store.get(VERSION), num_results=NUM_RESULTS,  # type: ignore[arg-type]
                                   filter_arn=filter_arn, job_config=NO_EXPLORATION)
    lines = (json.dumps({"userId": u}) for u in users)
    return [json.loads(line)["output"]["recommendedItems"] for line in recommender.answer(lines)]


def per_user_lists(svc: Service, users: list[str], filter_arn: str | None) -> list[list[str]]:
    """One GetRecommendations per user through the API's Lambda handler (API Gateway proxy event in, JSON out)."""
    from tailor.handlers import common as handler_common
    from tailor.handlers.all_apis import lambda_handler
    from tailor.local.embedded import LambdaContext
    from tailor.protocol.apigw import event_from_request

    extra = {"filterArn": filter_arn} if filter_arn else {}
    handler_common.use_service(svc)
    found = []
    try:
        for user in users:
            body = json.dumps({"campaignArn": CAMPAIGN, "userId": user, "numResults": NUM_RESULTS, **extra})
            event = event_from_request("POST", "/recommendations", {"Content-Type": "application/json"},
                                       body.encode())
            response = lambda_handler(event, LambdaContext(aws_request_id=str(uuid.uuid4())))
            found.append([i["itemId"] for i in json.loads(response["body"])["itemList"]])
    finally:
        handler_common.use_service(None)
    return found


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    start = time.perf_counter()
    result = call()
    return result, time.perf_counter() - start


def peak_mib(call: Callable[[], Any]) -> float:
    gc.collect()
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def implicit_peer(data: InteractionData) -> dict[str, float] | None:
    try:
        import scipy.sparse as sp
        from implicit.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    matrix = sp.csr_matrix((np.ones(data.n_events, dtype=np.float32), (data.users, data.items)),
                           shape=(data.n_users, data.n_items))
    matrix.data[:] = 1.0
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=64, iterations=15, random_state=0)
        model.fit(matrix, show_progress=False)
        users = np.arange(data.n_users)
        _, seconds = timed(lambda: model.recommend(users, matrix[users], N=NUM_RESULTS,
                                                   filter_already_liked_items=False))
        _, seconds_unseen = timed(lambda: model.recommend(users, matrix[users], N=NUM_RESULTS,
                                                          filter_already_liked_items=True))
    return {"seconds": seconds, "seconds_unseen": seconds_unseen}


def run(root: Path, with_peer: bool) -> dict[str, Any]:
    data = load_ml1m(root)
    recipe = get_recipe(RECIPE)
    params = dict(recipe.defaults)
    split = evaluation.split(data)
    model = recipe.fit(data, params)
    temperature = evaluation.calibrate_temperature(recipe.fit(split.train, params), data, split)
    buffer = io.BytesIO()
    write_artifact(buffer, RECIPE, params, model, data, {}, temperature)
    svc = build_service(buffer.getvalue())
    del model, buffer
    users = data.user_ids.astype(str).tolist()
    get_recommendations(svc, {"campaignArn": CAMPAIGN, "userId": users[0]})  # load the model once (warm)
    rows = []
    for label, flt in (("no filter", None), ("unseen items only", FILTER_ARN)):
        batch, batch_s = timed(lambda flt=flt: batch_lists(svc, users, flt))
        single, single_s = timed(lambda flt=flt: per_user_lists(svc, users, flt))
        same = sum(a == b for a, b in zip(batch, single, strict=True))
        rows.append({
            "label": label, "batch_s": batch_s, "single_s": single_s, "same": same,
            "batch_mib": peak_mib(lambda flt=flt: batch_lists(svc, users, flt)),
            "single_mib": peak_mib(lambda flt=flt: per_user_lists(svc, users, flt)),
        })
        print(f"{label}: batch {batch_s:.2f}s, per user {single_s:.2f}s, identical {same}/{len(users)}", flush=True)
    return {"users": len(users), "items": data.n_items, "events": data.n_events, "rows": rows,
            "peer": implicit_peer(data) if with_peer else None}


def report(result: dict[str, Any], command: str) -> str:
    n = result["users"]
    out = [
        "## Batch inference",
        "",
        f"Command: `{command}`. Machine: {machine()}.",
        "",
        f"Recommendations (numResults {NUM_RESULTS}, with scores) for all {n:,} users of the ML-1M ratings here "
        f"({result['events']:,} ratings, {result['items']:,} items), aws-user-personalization at its defaults. "
        "**Batch** is what a batch inference job runs per input file (JSON line in, JSON line out, users scored a "
        "block at a time); **per user** sends one GetRecommendations per user through the API's Lambda handler, "
        "in-process and warm (a deployed loop adds a network round trip and a DynamoDB Query per user). Peak memory "
        "is tracemalloc's peak during the mode, on top of the loaded model. Both modes must give every user the same "
        "list; the 'identical' column checks it.",
    ]
    rows = []
    for r in result["rows"]:
        rows.append([r["label"], f"{n / r['batch_s']:,.0f}", f"{n / r['single_s']:,.0f}",
                     f"{r['single_s'] / r['batch_s']:.1f}x", f"{r['batch_mib']:.0f} MiB", f"{r['single_mib']:.0f} MiB",
                     f"{r['same']:,}/{n:,}"])
    out += table(["filter", "batch users/s", "per-user users/s", "batch speed-up", "batch peak", "per-user peak",
                  "identical lists"], rows)
    peer = result.get("peer")
    if peer:
        out += ["", f"Peer library in the same run: implicit ALS (64 factors) batch `recommend` for all {n:,} users: "
                f"{n / peer['seconds']:,.0f} users/s, {n / peer['seconds_unseen']:,.0f} users/s leaving out rated "
                f"items (Tailor's batch: {result['rows'][0]['batch_s'] / peer['seconds']:.1f}x and "
                f"{result['rows'][1]['batch_s'] / peer['seconds_unseen']:.1f}x its time; ALS returns ids only, "
                "Tailor also writes each JSON line with softmax scores)."]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="the shared datasets folder")
    ap.add_argument("--no-peer", action="store_true", help="skip implicit ALS (when the bench group is missing)")
    ap.add_argument("--write", action="store_true", help="replace the '## Batch inference' section of BENCHMARKS.md")
    args = ap.parse_args()
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
    command = shlex.join([exe, "benchmarks/batch.py", *sys.argv[1:]])
    section = report(run(args.data, not args.no_peer), command)
    print(section)
    if args.write:
        write_section(section, ROOT / "BENCHMARKS.md", "Batch inference")


if __name__ == "__main__":
    main()
