"""Quality benchmark: Tailor's recipes vs implicit ALS, plain EASE and popularity on Personalize's split, same run."""

from __future__ import annotations

import argparse
import csv
import datetime
import gc
import gzip
import os
import platform
import re
import shlex
import statistics
import sys
import textwrap
import time
import traceback
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import implicit
import numpy as np
import scipy
import scipy.linalg
import scipy.sparse as sp
from implicit.als import AlternatingLeastSquares
from report import table, write_section
from threadpoolctl import threadpool_limits

from tailor.operations.catalog import RECIPES as CATALOG
from tailor.training.base import InteractionData, Model, Recipe
from tailor.training.evaluation import METRIC_KEYS, Split, evaluate, split
from tailor.training.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20
SEEDS = (42, 1, 2)
TOP_N_TYPES = ("USER_PERSONALIZATION", "RELATED_ITEMS")  # recipes the hold-out-users protocol can score
ALS_GRID = [(f, r, a) for f in (64, 128) for r in (0.01, 0.1) for a in (1.0, 10.0)]
EASE_LAMBDA = 500.0
NDCG10, P10, MRR = "normalized_discounted_cumulative_gain_at_10", "precision_at_10", "mean_reciprocal_rank_at_25"
# Amazon Personalize on personalize-poc-movielens/interactions.csv, all events (../shared/data/README.md).
PUBLISHED = {"aws-user-personalization": (0.0791, 0.2690, 0.2279, 0.2687, 0.3321, 0.0750, 0.0571, 0.0379),
             "aws-sims": (0.1861, 0.1669, 0.1889, 0.2234, 0.2895, 0.0824, 0.0588, 0.0418)}
POC, ALS, EASE = "Personalize POC", "implicit ALS (best)", f"plain EASE λ={EASE_LAMBDA:g}"


def interactions(users: list[str], items: list[str], ts: list[int], types: list[str] | None,
                 meta: dict[str, tuple[str, float]]) -> InteractionData:
    """Dense indices, events sorted by (user, timestamp), ties kept in file order; `meta`: item id -> (GENRE, YEAR)."""
    user_ids, u = np.unique(np.array(users), return_inverse=True)
    item_ids, i = np.unique(np.array(items), return_inverse=True)
    t = np.array(ts, dtype=np.int64)
    order = np.argsort(t, kind="stable")
    order = order[np.argsort(u[order], kind="stable")]  # stable twice: file order survives among equal timestamps
    names, codes = np.unique(np.array(types), return_inverse=True) if types else ((), np.full(len(t), -1))
    genre, yr = zip(*(meta.get(str(item), ("", np.nan)) for item in item_ids), strict=True)
    features = {"GENRE": np.array(genre, dtype=str), "YEAR": np.array(yr, dtype=np.float64)}
    return InteractionData(user_ids=user_ids.astype(str), item_ids=item_ids.astype(str),
                           users=u[order].astype(np.int32), items=i[order].astype(np.int32), timestamps=t[order],
                           weights=np.ones(len(t), dtype=np.float32), event_types=codes[order].astype(np.int16),
                           event_type_names=tuple(str(n) for n in names), item_features=features)


def year(text: str) -> float:
    """The first four-digit year in `text` ('2006-2007' and '(1995)' occur), NaN when there is none."""
    found = re.search(r"\d{4}", text)
    return float(found.group()) if found else np.nan


def load_poc(root: Path) -> InteractionData:
    with (root / "personalize-poc-movielens/interactions.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    with (root / "personalize-poc-movielens/item-meta.csv").open(newline="") as f:
        meta = {r["ITEM_ID"]: (r["GENRE"], year(r["YEAR"])) for r in csv.DictReader(f)}
    return interactions([r["USER_ID"] for r in rows], [r["ITEM_ID"] for r in rows],
                        [int(r["TIMESTAMP"]) for r in rows], [r["EVENT_TYPE"] for r in rows], meta)


def load_ml1m(root: Path) -> InteractionData:
    with gzip.open(root / "ml-1m/ratings_users_1-2999.dat.gz", "rt", encoding="latin-1") as f:
        rows = [line.rstrip("\n").split("::") for line in f]
    movies = [ln.split("::") for ln in (root / "ml-1m/movies.dat").read_text(encoding="latin-1").splitlines()]
    meta = {item: (genres, year(title[-6:])) for item, title, genres in movies}
    return interactions([r[0] for r in rows], [r[1] for r in rows], [int(r[3]) for r in rows], None, meta)


def load_ml100k(root: Path) -> InteractionData:
    rows = [line.split("\t") for line in (root / "ml-100k/u.data").read_text().splitlines()]
    genres = [ln.split("|")[0] for ln in (root / "ml-100k/u.genre").read_text(encoding="latin-1").splitlines() if ln]
    movies = [ln.split("|") for ln in (root / "ml-100k/u.item").read_text(encoding="latin-1").splitlines()]
    meta = {m[0]: ("|".join(g for g, on in zip(genres, m[5:], strict=True) if on == "1"), year(m[2])) for m in movies}
    return interactions([r[0] for r in rows], [r[1] for r in rows], [int(r[3]) for r in rows], None, meta)


DATASETS: dict[str, tuple[str, Callable[[Path], InteractionData]]] = {  # --only key: (title, loader)
    "poc": (POC, load_poc), "ml-1m": ("ML-1M users 1-2999", load_ml1m), "ml-100k": ("ML-100K", load_ml100k)}


def binary_matrix(data: InteractionData) -> sp.csr_matrix:
    """users x items, 1 where the user has any event on the item (repeats and event types collapse)."""
    x = sp.csr_matrix((np.ones(data.n_events, dtype=np.float32), (data.users, data.items)),
                      shape=(data.n_users, data.n_items))
    x.data[:] = 1.0
    return x


class PlainEASE:
    """Steck's EASE as published: B = I - P / diag(P), P = (XᵀX + λI)⁻¹, diag(B) = 0; score = x·B, x binary."""

    def __init__(self, data: InteractionData, l2: float = EASE_LAMBDA) -> None:
        x = binary_matrix(data)
        gram = (x.T @ x).toarray().astype(np.float64)
        gram[np.diag_indices_from(gram)] += l2
        # P by Cholesky (LAPACK potrf + potri, as Tailor's recipe inverts): the same P as np.linalg.inv with about a
        # third of the flops, so fit times compare the models rather than the inverse routines.
        factor, info = scipy.linalg.lapack.dpotrf(gram, lower=False, clean=True, overwrite_a=True)
        p, info2 = scipy.linalg.lapack.dpotri(factor, lower=False, overwrite_c=True)
        if info or info2:
            raise ValueError(f"XᵀX + λI not positive definite (potrf {info}, potri {info2})")
        p += np.triu(p, 1).T
        self.b = p / -np.diag(p)
        np.fill_diagonal(self.b, 0.0)

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        return self.b[np.unique(history_items)].sum(axis=0)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"b": self.b}


class ImplicitALS:
    """implicit's CPU ALS; a test user is folded in from their input with recommend(recalculate_user=True)."""

    def __init__(self, data: InteractionData, factors: int, l2: float, alpha: float, seed: int) -> None:
        self.n_items = data.n_items
        with threadpool_limits(1, "blas"):  # implicit's advice: its own 2 threads, single-threaded BLAS
            self.als = AlternatingLeastSquares(factors=factors, regularization=l2, alpha=alpha, iterations=15,
                                               num_threads=2, random_state=seed, use_gpu=False)
            self.als.fit(binary_matrix(data), show_progress=False)

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        seen = np.unique(history_items)
        row = sp.csr_matrix((np.ones(len(seen), dtype=np.float32), (np.zeros(len(seen), dtype=np.int64), seen)),
                            shape=(1, self.n_items))
        ids, scores = self.als.recommend(0, row, N=self.n_items, filter_already_liked_items=False,
                                         recalculate_user=True)
        out = np.full(self.n_items, -np.inf)
        out[ids] = scores
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        return {"item_factors": self.als.item_factors}


Fit = Callable[[InteractionData, int], Model]


def default_fit(recipe: Recipe) -> Fit:
    return lambda train, seed: recipe.fit(train, {})  # default hyper-parameters; the seed is the split's


def candidates() -> tuple[dict[str, Fit], list[str]]:
    """Tailor's recipes that the protocol applies to (default hyper-parameters), and the ones skipped, with why."""
    types = {r.name: r.recipe_type for r in CATALOG}
    fits = {name: default_fit(recipe) for name, recipe in sorted(RECIPES.items()) if types.get(name) in TOP_N_TYPES}
    return fits, [f"{name} ({types.get(name, 'not in the catalog')})" for name in sorted(RECIPES) if name not in fits]


def measure(fit: Fit, data: InteractionData, splits: dict[int, Split]) -> dict[str, Any]:
    """Per seed: the fit's wall time and tracemalloc peak (traced: the fits are numpy/LAPACK/C++ bound), the metrics."""
    out: dict[str, Any] = {"metrics": [], "fit_s": [], "peak": []}
    for seed, s in splits.items():
        gc.collect()
        tracemalloc.start()
        t0 = time.perf_counter()
        model = fit(s.train, seed)
        out["fit_s"].append(time.perf_counter() - t0)
        out["peak"].append(tracemalloc.get_traced_memory()[1] / MB)
        tracemalloc.stop()
        out["metrics"].append(evaluate(model, data, s))
        del model
    return out


def run_dataset(name: str, data: InteractionData, seeds: tuple[int, ...]) -> dict[str, Any]:
    splits = {seed: split(data, seed) for seed in seeds}
    first = splits[seeds[0]]
    evaluated = [t for t in first.targets if len(t)]
    res: dict[str, Any] = {"name": name, "users": data.n_users, "items": data.n_items, "events": data.n_events,
                           "evaluated": len(evaluated), "targets": float(np.mean([len(t) for t in evaluated])),
                           # NDCG@10 of one hit at rank 1: 1 / ideal DCG of min(targets, 10) hits, averaged over users
                           "hit_worth": float(np.mean([1 / sum(1 / np.log2(np.arange(2, min(len(t), 10) + 2)))
                                                       for t in evaluated])),
                           "grid": {}, "rows": {}, "failed": {}}
    for cfg in ALS_GRID:
        print(f"{name}: ALS grid {cfg}", file=sys.stderr)
        res["grid"][cfg] = evaluate(ImplicitALS(first.train, *cfg, seeds[0]), data, first)[NDCG10]
    res["best"] = best = max(ALS_GRID, key=lambda c: res["grid"][c])
    tailor, res["skipped"] = candidates()
    peers: dict[str, Fit] = {ALS: lambda train, seed: ImplicitALS(train, *best, seed),
                             EASE: lambda train, seed: PlainEASE(train)}
    for cand, fit in {**tailor, **peers}.items():
        print(f"{name}: {cand}", file=sys.stderr)
        try:
            res["rows"][cand] = measure(fit, data, splits)
        except Exception as e:  # a recipe still being written must not cost the whole run
            traceback.print_exc()
            res["failed"][cand] = f"{type(e).__name__}: {e}"
    res["tailor"] = [c for c in tailor if c in res["rows"]]
    return res


def mean_sd(values: list[float], fmt: str = ".4f") -> str:
    return f"{statistics.mean(values):{fmt}} ± {statistics.stdev(values) if len(values) > 1 else 0.0:{fmt}}"



def busy_cpu_s() -> float:
    """CPU-seconds every process on the machine has used since boot (/proc/stat), 0.0 without /proc."""
    try:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def machine() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "")
    return (f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, numpy {np.__version__}, "
            f"scipy {scipy.__version__}, implicit {implicit.__version__}, {platform.system()} {platform.release()}")


HEAD = """## {section}

Measured {date} on {machine}:

```
{command}
```

The peers need the `bench` dependency group: `uv sync --group bench` (or
`uv run --group bench python benchmarks/quality.py --write`).

Every candidate is fitted on the same splits and scored by Tailor's `evaluate` (`lambdas/tailor/training/evaluation.py`:
Personalize's protocol, 10% of users held out, each one's oldest 90% of events as input and the distinct new items of
the newest 10% as targets, input items excluded from the ranking), seeds {seeds}. Metrics are mean ± sd over the seeds.
**Tailor**: every recipe in `RECIPES` of type
{types}, default hyper-parameters (tuned on ML-1M users 1-2999 and the POC file with this
protocol and seeds 42, 1, 2, so those two are in-sample for them; ML-100K is not).
**implicit ALS**: CPU, 15 iterations, binary matrix, 2 threads (BLAS at 1, as implicit advises); test users folded in
from their input with `recommend(recalculate_user=True)`; the best of {n_grid} configs (factors, regularization, alpha)
by NDCG@10 on seed {seed0}, chosen per dataset on that seed's test users (which favours ALS), then run on every seed.
**plain EASE**: λ = {lam:g}, binary X, P by Cholesky (potrf + potri as Tailor's recipe, in double precision
where Tailor's is single), no recency, no sequential term. **Popularity** is `aws-popularity-count`. Fit s is the fit's
wall time with tracemalloc on; peak MiB is tracemalloc's peak during the fit, the largest over the seeds (numpy/scipy
allocations; implicit's native per-thread scratch and LAPACK workspaces are not seen).
Data: all events as given (POC: click and watch alike, no event-type filter; MovieLens: every rating), weights 1, item
metadata (genre, year) attached; the catalog is the items with events."""


def report(results: list[dict[str, Any]], command: str, seeds: tuple[int, ...], section: str = "Quality") -> str:
    out = [HEAD.format(section=section, date=datetime.date.today().isoformat(), machine=machine(), command=command,
                       seeds=", ".join(map(str, seeds)), seed0=seeds[0], types=" or ".join(TOP_N_TYPES),
                       n_grid=len(ALS_GRID), lam=EASE_LAMBDA)]
    for r in results:
        factors, l2, alpha = r["best"]
        out.append(f"\n### {r['name']}\n\n{r['users']:,} users, {r['items']:,} items, {r['events']:,} events; "
                   f"{r['evaluated']} test users evaluated on seed {seeds[0]}, {r['targets']:.1f} targets each on "
                   f"average.\nBest ALS: factors {factors}, regularization {l2:g}, alpha {alpha:g}.")
        rows = [[f"**{c}**" if c in r["tailor"] else c, *(mean_sd([m[k] for m in v["metrics"]])
                                                           for k in (NDCG10, P10, MRR, "coverage")),
                 mean_sd(v["fit_s"], ".2f"), f"{max(v['peak']):.0f}"] for c, v in r["rows"].items()]
        out += table(["candidate", "NDCG@10", "P@10", "MRR@25", "coverage", "fit s", "fit peak MiB"], rows)
        out += [f"\nFailed: {c}: {why}" for c, why in r["failed"].items()]
    out.append("\n### Ratios\n\nEach Tailor recipe's NDCG@10 over the peer's, mean over seeds of the per-seed ratio "
               "(min to max in\nparentheses); the peer is fitted and scored on the same split in the same run.")

    def ratio(r: dict[str, Any], c: str, p: str) -> str:
        if p not in r["rows"]:
            return "failed"
        q = [a[NDCG10] / (b[NDCG10] or np.nan) for a, b in zip(r["rows"][c]["metrics"], r["rows"][p]["metrics"],
                                                               strict=True)]
        return f"**{np.mean(q):.3f}** ({min(q):.3f} to {max(q):.3f})"

    out += table(["data", "Tailor recipe", f"÷ {ALS}", f"÷ {EASE}"],
                 [[r["name"], c, *(ratio(r, c, p) for p in (ALS, EASE))] for r in results for c in r["tailor"]])
    out.append("\n### implicit ALS grid\n\nNDCG@10 on seed " + str(seeds[0]) + "'s split.")
    out += table(["factors", "regularization", "alpha", *(r["name"] for r in results)],
                 [[str(f), f"{l2:g}", f"{a:g}", *(f"{r['grid'][(f, l2, a)]:.4f}" for r in results)]
                  for f, l2, a in ALS_GRID])
    poc = next((r for r in results if r["name"] == POC), None)
    if poc:
        out.append("\n### Against Amazon Personalize's published metrics (POC file)\n\nPersonalize's numbers are "
                   "from the samples repository's completed POC notebook (2020), all\nevents; Tailor's are this "
                   "run's means over the seeds.")
        keys = ["coverage", MRR, *(k for k in METRIC_KEYS if k.startswith(("normalized", "precision")))]
        rows = []
        for recipe, published in PUBLISHED.items():
            rows.append([f"Amazon Personalize {recipe}", *(f"{v:.4f}" for v in published)])
            ms = poc["rows"].get(recipe, {}).get("metrics")
            rows.append([f"**Tailor {recipe}**", *(f"{statistics.mean(m[k] for m in ms):.4f}" for k in keys)] if ms
                        else [f"Tailor {recipe}", "not in `RECIPES` this run", *[""] * 7])
        out += table(["solution", "coverage", "MRR@25", "NDCG@5", "NDCG@10", "NDCG@25", "P@5", "P@10", "P@25"], rows)
        up = poc["rows"].get("aws-user-personalization")
        ndcg, p10 = ((statistics.mean(m[k] for m in up["metrics"]) for k in (NDCG10, P10)) if up else (0.0, 1.0))
        out.append(NOTE.format(targets=poc["targets"], worth=poc["hit_worth"], tailor=ndcg / (10 * p10),
                               users=poc["evaluated"]))
    if results and results[0]["skipped"]:
        out += ["", textwrap.fill("Not scored (a recipe type this protocol does not apply to): "
                                  f"{', '.join(results[0]['skipped'])}.", 120, break_on_hyphens=False)]
    return "\n".join(out) + "\n"


NOTE = """
Personalize publishes neither its test users nor its NDCG's ideal. Its P@10 of 0.0571 is 0.571 relevant items per top
10, and its NDCG@10 of 0.2687 (equal to its MRR@25, 0.2690) makes each of those hits worth 0.47 of NDCG@10. Under the
definition used here (ideal DCG of min(targets, K) hits) the POC's test users have {targets:.1f} targets on average,
and even a hit at rank 1 is worth only {worth:.2f} on average; Tailor aws-user-personalization's hits are worth
{tailor:.2f} each. Personalize's NDCG behaves as if each user had about one relevant item, so NDCG is not like for like
here. P@K and MRR@25 are defined the same way, coverage nearly (here: items in the test users' top 25 ÷ items with
events), all on other test users ({users} evaluated per seed here, which makes every POC figure noisy)."""



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data", help="folder holding the datasets")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS), help="split seeds; the first picks ALS")
    ap.add_argument("--only", nargs="+", choices=list(DATASETS), help="run these datasets only")
    ap.add_argument("--write", action="store_true", help="replace the '## <section>' section of BENCHMARKS.md")
    ap.add_argument("--section", default="Quality", help="the BENCHMARKS.md section title (e.g. for other seeds)")
    args = ap.parse_args()
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else "python"
    command = shlex.join([exe, "benchmarks/quality.py", *sys.argv[1:]])
    seeds, start, busy, own = tuple(args.seeds), time.perf_counter(), busy_cpu_s(), sum(os.times()[:2])
    results = [run_dataset(title, load(args.data), seeds) for key, (title, load) in DATASETS.items()
               if not args.only or key in args.only]
    section = report(results, command, seeds, args.section)
    wall, other = time.perf_counter() - start, busy_cpu_s() - busy - (sum(os.times()[:2]) - own)
    section += "\n" + textwrap.fill(
        f"The whole run took {wall / 60:.1f} minutes. Other processes used {max(other, 0):.0f} CPU-seconds meanwhile, "
        f"{max(other, 0) / (wall * (os.cpu_count() or 1)):.0%} of the machine: the more, the more the times are "
        "inflated (the metrics do not depend on it).", 120) + "\n"
    print(section)
    if args.write:
        write_section(section, ROOT / "BENCHMARKS.md", args.section)


if __name__ == "__main__":
    main()
