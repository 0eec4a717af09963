"""HPO and AutoML: hyper-parameter trials and recipe choice, each scored by Personalize's offline protocol.

HPO samples `maxNumberOfTrainingJobs` configurations (the first is the recipe's defaults with the solution's own
algorithmHyperParameters, the rest drawn uniformly from hpoConfig.algorithmHyperParameterRanges with a fixed seed, or,
when the hpoConfig gives no ranges, from the recipe's default ranges: DEFAULT_RANGES),
fits each on the evaluation split's training users and keeps the best by the objective metric. AutoML fits each
recipe of autoMLConfig.recipeList with its defaults the same way and keeps the best. The objective is
hpoObjective.metricName / autoMLConfig.metricName when given, else normalized_discounted_cumulative_gain_at_10.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tailor.training import evaluation
from tailor.training.base import InteractionData, Recipe

logger = logging.getLogger("tailor.training")

DEFAULT_OBJECTIVE = "normalized_discounted_cumulative_gain_at_10"
DEFAULT_TRIALS = 8
MAX_TRIALS = 40  # Personalize's documented ceiling for maxNumberOfTrainingJobs


# The search space when an hpoConfig names no ranges. Personalize then tunes each of the recipe's tunable
# hyper-parameters over its default range (DescribeAlgorithm's defaultHyperParameterRanges, which shows these). Tailor's
# tunables are the knobs its models respond to most: the EASE regularization and the recency and sequence terms of the
# user-personalization family, and SIMS's popularity discount and co-interaction floor. A recipe with none of them
# (popularity-count, trending-now) has nothing to tune, and performHPO without ranges is refused for it.
DEFAULT_RANGES: dict[str, tuple[str, float, float]] = {
    "lambda": ("continuous", 50.0, 5000.0),
    "recency_half_life": ("continuous", 1.0, 30.0),
    "sequential_weight": ("continuous", 0.0, 10.0),
    "popularity_discount_factor": ("continuous", 0.0, 1.0),
    "min_cointeraction_count": ("integer", 1, 10),
}


def default_ranges(known: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The default search space of a recipe whose hyper-parameters are `known`, as algorithmHyperParameterRanges."""
    out: dict[str, list[dict[str, Any]]] = {"integerHyperParameterRanges": [], "continuousHyperParameterRanges": []}
    for name, (kind, lo, hi) in DEFAULT_RANGES.items():
        if name in known:
            value: dict[str, Any] = {"name": name, "minValue": lo, "maxValue": hi}
            if kind == "integer":
                value.update(minValue=int(lo), maxValue=int(hi))
            out[f"{kind}HyperParameterRanges"].append(value)
    return out


class SearchConfigError(ValueError):
    """An hpoConfig / autoMLConfig a caller must fix (InvalidInputException at create time)."""


@dataclass(frozen=True)
class HpoPlan:
    integers: tuple[tuple[str, int, int], ...]
    continuous: tuple[tuple[str, float, float], ...]
    categorical: tuple[tuple[str, tuple[str, ...]], ...]
    trials: int
    metric: str
    maximize: bool


def objective(metric: str | None) -> str:
    name = metric or DEFAULT_OBJECTIVE
    if name not in evaluation.METRIC_KEYS:
        raise SearchConfigError(f"metricName must be one of {', '.join(evaluation.METRIC_KEYS)}; got {name!r}")
    return name


def plan_hpo(hpo_config: Mapping[str, Any] | None, known: Mapping[str, str]) -> HpoPlan:
    """Check an hpoConfig against a recipe's hyper-parameters (`known`) and turn it into a plan."""
    config = hpo_config or {}
    kinds = ("integerHyperParameterRanges", "continuousHyperParameterRanges", "categoricalHyperParameterRanges")
    ranges = config.get("algorithmHyperParameterRanges") or {}
    if not any(ranges.get(kind) for kind in kinds):
        ranges = default_ranges(known)
    if not any(ranges.get(kind) for kind in kinds):
        raise SearchConfigError(
            "the recipe has no tunable hyper-parameters, so HPO has nothing to tune: give "
            "hpoConfig.algorithmHyperParameterRanges or set performHPO to false"
        )
    seen: set[str] = set()

    def check_name(name: str) -> str:
        if name not in known:
            raise SearchConfigError(
                f"Hyper-parameter range for unknown name {name!r}; known: {', '.join(sorted(known))}"
            )
        if name in seen:
            raise SearchConfigError(f"Hyper-parameter {name!r} has more than one range")
        seen.add(name)
        return name

    integers = []
    for r in ranges.get("integerHyperParameterRanges") or []:
        lo, hi = int(r.get("minValue", 0)), int(r.get("maxValue", 0))
        if lo > hi:
            raise SearchConfigError(f"Range for {r.get('name')!r}: minValue {lo} is above maxValue {hi}")
        integers.append((check_name(str(r.get("name"))), lo, hi))
    continuous = []
    for r in ranges.get("continuousHyperParameterRanges") or []:
        flo, fhi = float(r.get("minValue", 0.0)), float(r.get("maxValue", 0.0))
        if flo > fhi:
            raise SearchConfigError(f"Range for {r.get('name')!r}: minValue {flo} is above maxValue {fhi}")
        continuous.append((check_name(str(r.get("name"))), flo, fhi))
    categorical = []
    for r in ranges.get("categoricalHyperParameterRanges") or []:
        values = tuple(str(v) for v in r.get("values") or [])
        if not values:
            raise SearchConfigError(f"Categorical range for {r.get('name')!r} has no values")
        categorical.append((check_name(str(r.get("name"))), values))
    resources = config.get("hpoResourceConfig") or {}
    try:
        trials = int(resources.get("maxNumberOfTrainingJobs") or DEFAULT_TRIALS)
    except ValueError:
        raise SearchConfigError("hpoResourceConfig.maxNumberOfTrainingJobs must be a whole number") from None
    if not 1 <= trials <= MAX_TRIALS:
        raise SearchConfigError(f"hpoResourceConfig.maxNumberOfTrainingJobs must be 1 to {MAX_TRIALS}; got {trials}")
    hpo_objective = config.get("hpoObjective") or {}
    kind = hpo_objective.get("type") or "Maximize"
    if kind not in ("Maximize", "Minimize"):
        raise SearchConfigError(f"hpoObjective.type must be Maximize or Minimize; got {kind!r}")
    return HpoPlan(tuple(integers), tuple(continuous), tuple(categorical), trials,
                   objective(hpo_objective.get("metricName")), kind == "Maximize")


def candidates(plan: HpoPlan, base: Mapping[str, str], seed: int = 42) -> list[dict[str, str]]:
    """The configurations HPO tries, all inside the ranges: the base first (each ranged value clamped into its range),
    then uniform draws (deterministic for a seed)."""
    rng = np.random.default_rng(seed)
    first = dict(base)
    for name, lo, hi in plan.integers:
        first[name] = str(min(max(_as_number(first.get(name), lo), lo), hi))
    for name, flo, fhi in plan.continuous:
        first[name] = repr(min(max(float(_as_number(first.get(name), flo)), flo), fhi))
    for name, values in plan.categorical:
        if first.get(name) not in values:
            first[name] = values[0]
    configs = [first]
    while len(configs) < plan.trials:
        config = dict(base)
        for name, lo, hi in plan.integers:
            config[name] = str(int(rng.integers(lo, hi + 1)))
        for name, flo, fhi in plan.continuous:
            config[name] = repr(float(rng.uniform(flo, fhi)))
        for name, values in plan.categorical:
            config[name] = values[int(rng.integers(len(values)))]
        configs.append(config)
    return configs


def _as_number(text: str | None, default: int | float) -> int | float:
    try:
        return int(str(text)) if isinstance(default, int) else float(str(text))
    except ValueError:
        return default


@dataclass(frozen=True)
class Trial:
    recipe: str
    params: dict[str, str]
    metrics: dict[str, float]


def _better(a: float, b: float, maximize: bool) -> bool:
    return a > b if maximize else a < b


def best_of(
    trials_to_run: Sequence[tuple[Recipe, dict[str, str]]],
    data: InteractionData,
    split: evaluation.Split,
    metric: str,
    maximize: bool = True,
    on_trial: Callable[[int, Trial], None] = lambda i, t: None,
) -> tuple[Trial, list[Trial]]:
    """Fit and evaluate each (recipe, params) on the split; the best by `metric`, and all trials in order."""
    done: list[Trial] = []
    best: Trial | None = None
    for i, (recipe, params) in enumerate(trials_to_run):
        metrics = evaluation.evaluate(recipe.fit(split.train, params), data, split)
        trial = Trial(recipe.name, dict(params), metrics)
        done.append(trial)
        on_trial(i, trial)
        if best is None or _better(metrics[metric], best.metrics[metric], maximize):
            best = trial
    assert best is not None, "best_of needs at least one trial"
    return best, done
