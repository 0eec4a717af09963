"""Training one solution version end to end: what the `train` job runs in the Fargate container
(tailor.handlers.container), the workflow Lambda, the local launcher and the tests."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from typing import IO, Any

import numpy as np

from tailor.autotrain import follow_latest
from tailor.filters.evaluate import MAX_INTERACTIONS_PER_EVENT_TYPE
from tailor.imports import ImportFailed
from tailor.operations import common
from tailor.operations.catalog import find_recipe
from tailor.operations.schemas import load as load_schema
from tailor.operations.solutions import CREATE_STOPPED, CREATE_STOPPING, sync_latest
from tailor.ports import Resource
from tailor.service import Service
from tailor.snapshot import Snapshot, read_snapshot
from tailor.streamed import with_streamed
from tailor.training import data as training_data
from tailor.training import evaluation, search
from tailor.training.base import InteractionData, Model, Recipe, TrainingFailed
from tailor.training.recipes import get_recipe

logger = logging.getLogger("tailor.training")

ARTIFACT_FORMAT = 1
FALLBACK_RECIPE = "aws-popularity-count"


class _Stopped(Exception):
    """StopSolutionVersionCreation was called; the job ends without a model."""


STEPS = 5  # data, offline metrics, final fit, artifact, ACTIVE


class _Progress:
    """Logs each training step; on a terminal (a person running the entrypoint by hand) also draws a bar."""

    def __init__(self, arn: str) -> None:
        self.name = "/".join(arn.rsplit("/", 2)[-2:])
        self.started = time.monotonic()
        self.done = 0
        self.tty = sys.stderr.isatty()

    def step(self, what: str) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.started
        logger.info("%s: [%d/%d] %s (%.1fs)", self.name, self.done, STEPS, what, elapsed)
        if self.tty:
            bar = "#" * (20 * self.done // STEPS) + "-" * (20 - 20 * self.done // STEPS)
            end = "\n" if self.done >= STEPS else ""
            print(f"\r{self.name} [{bar}] {self.done}/{STEPS} {what[:60]:<60} {elapsed:6.1f}s", end=end,
                  file=sys.stderr, flush=True)


def _check_stop(svc: Service, arn: str) -> None:
    current = svc.store.get(arn)
    if current is not None and current.status == CREATE_STOPPING:
        stopped = svc.store.update(arn, {"status": CREATE_STOPPED, "lastUpdatedDateTime": svc.now()},
                                   expect_status=frozenset({CREATE_STOPPING}))
        sync_latest(svc, stopped)
        raise _Stopped


def dataset_snapshots(svc: Service, group_arn: str) -> dict[str, Snapshot]:
    """Each ACTIVE dataset's data: what was imported plus what was put in real time since (tailor.streamed).

    Solution versions and recommenders (tailor.recommender_jobs) train on it."""
    found = {}
    for dataset in common.children(svc, "dataset", group_arn):
        if dataset.status != common.ACTIVE:
            continue
        uri = dataset.internal.get("snapshot")
        bulk = read_snapshot(svc.blobs, uri) if uri else None
        schema = load_schema(common.get(svc, dataset.doc["schemaArn"], "schema"))
        try:
            snapshot = with_streamed(svc, dataset, schema, bulk)
        except ImportFailed as failure:
            raise TrainingFailed(f"The records put into {dataset.arn} could not be read: {failure.reason}") from None
        if snapshot is not None:
            found[dataset.doc["datasetType"]] = snapshot
    if "INTERACTIONS" not in found:
        raise TrainingFailed(
            f"Dataset group {group_arn} has no INTERACTIONS data: create an Interactions dataset and import data "
            "into it (a dataset import job reaching ACTIVE) or record events with PutEvents before training"
        )
    return found


def write_artifact(out: IO[bytes], recipe: str, params: Mapping[str, str], model: Model, data: InteractionData,
                    metrics: Mapping[str, float], temperature: float) -> None:
    """The .npz artifact, streamed: a model may be gigabytes, and is never held twice. tailor.serving reads it."""
    meta = {"format": ARTIFACT_FORMAT, "recipe": recipe, "params": dict(params), "n_events": data.n_events,
            "metrics": dict(metrics), "event_types": list(data.event_type_names),
            "history_per_event_type": MAX_INTERACTIONS_PER_EVENT_TYPE, "temperature": temperature,
            "trained_at": time.time()}
    arrays: dict[str, Any] = {f"model.{k}": v for k, v in model.arrays().items()}
    arrays.update({f"history.{k}": v for k, v in training_data.recent_history(data).items()})
    arrays.update(__meta__=np.array(json.dumps(meta)), user_ids=data.user_ids.astype(str),
                  item_ids=data.item_ids.astype(str),
                  item_events=np.bincount(data.items, minlength=data.n_items).astype(np.int64))
    np.savez(out, allow_pickle=False, **arrays)


def held_out_metrics(recipe: Recipe, params: Mapping[str, str], data: InteractionData,
                     split: evaluation.Split) -> tuple[dict[str, float], float]:
    """(offline metrics, softmax temperature) of `recipe` fitted without the split's held-out users; the held-out
    model is dropped before the caller fits the served one on all the data."""
    held_out_model = recipe.fit(split.train, params)
    metrics = evaluation.evaluate(held_out_model, data, split)
    temperature = evaluation.calibrate_temperature(held_out_model, data, split)
    return metrics, temperature


def train_version(svc: Service, arn: str) -> None:
    """CREATE PENDING → CREATE IN_PROGRESS → ACTIVE (artifact + metrics written) or CREATE FAILED with a reason."""
    progress = _Progress(arn)
    version = svc.store.get(arn)
    if version is None or version.status != common.CREATE_PENDING:
        return  # stopped (or deleted) before it started
    version = svc.store.update(arn, {"status": common.CREATE_IN_PROGRESS, "lastUpdatedDateTime": svc.now()},
                               expect_status=frozenset({common.CREATE_PENDING}))
    sync_latest(svc, version)
    try:
        _train(svc, version, progress)
    except _Stopped:
        logger.info("%s stopped", arn)
    except TrainingFailed as failure:
        from tailor.jobs import fail

        fail(svc, arn, failure.reason)


def _candidates(doc: dict[str, Any], config: dict[str, Any]) -> list[str]:
    if doc.get("recipeArn"):
        return [find_recipe(doc["recipeArn"]).name]
    from tailor.operations.solutions import automl_recipes

    return automl_recipes(config)


def _train(svc: Service, version: Resource, progress: _Progress) -> None:
    arn = version.arn
    doc = version.doc
    snapshots = dataset_snapshots(svc, doc["datasetGroupArn"])
    options = training_data.options_from_solution(doc)
    data = training_data.build(snapshots["INTERACTIONS"], snapshots.get("ITEMS"), snapshots.get("USERS"), options)
    progress.step(f"data: {data.n_events:,} events, {data.n_users:,} users, {data.n_items:,} items")
    config = doc.get("solutionConfig") or {}
    # Personalize sends featurization settings (trend_discovery_frequency, history percentiles, cold_start_*)
    # apart from the algorithm's; Tailor's recipes take both as one set of hyper-parameters.
    given = {**(config.get("featureTransformationParameters") or {}), **(config.get("algorithmHyperParameters") or {})}
    hyper = {k: str(v) for k, v in given.items()}
    allow_small = hyper.pop("allow_small_data", "false").lower() == "true"
    hyper.pop("event_weights", None)  # applied by options_from_solution
    requested = recipe_names = _candidates(doc, config)
    perform_hpo = bool(doc.get("performHPO"))
    try:
        training_data.check_minimum(data)
    except TrainingFailed:
        if not allow_small:
            raise
        # Beyond Personalize: a documented popularity fallback instead of a refusal (the version records it).
        logger.info("%s: below Personalize's minimum; training the %s fallback", arn, FALLBACK_RECIPE)
        recipe_names, hyper, perform_hpo = [FALLBACK_RECIPE], {}, False
    _check_stop(svc, arn)

    split = evaluation.split(data)
    objective = search.objective((config.get("autoMLConfig") or {}).get("metricName"))

    def log_trial(i: int, trial: search.Trial) -> None:
        logger.info("%s: trial %d %s %s -> %s=%.4f", progress.name, i + 1, trial.recipe, trial.params, objective,
                    trial.metrics[objective])
        _check_stop(svc, arn)

    if len(recipe_names) > 1:  # AutoML: every candidate with its defaults on the same split
        chosen, _ = search.best_of([(get_recipe(n), dict(get_recipe(n).defaults)) for n in recipe_names],
                                   data, split, objective, on_trial=log_trial)
        recipe_name = chosen.recipe
    else:
        recipe_name = recipe_names[0]
    recipe = get_recipe(recipe_name)
    params = {**recipe.defaults, **{k: v for k, v in hyper.items() if k in recipe.defaults}}
    if perform_hpo:
        plan = search.plan_hpo(config.get("hpoConfig"), recipe.defaults)
        best, _ = search.best_of([(recipe, c) for c in search.candidates(plan, params)], data, split, plan.metric,
                                 plan.maximize, on_trial=log_trial)
        params, metrics = best.params, best.metrics
    elif len(recipe_names) > 1:
        metrics = chosen.metrics
    else:
        metrics, temperature = held_out_metrics(recipe, params, data, split)
    progress.step("offline metrics: " + ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))
    _check_stop(svc, arn)

    model = recipe.fit(data, params)  # the served model learns from every user, as Personalize's does
    if perform_hpo or len(recipe_names) > 1:
        # The search kept metrics, not models: calibrate the final model on the same held-out users (it has seen
        # their targets, so T comes out a little sharper than on unseen data).
        temperature = evaluation.calibrate_temperature(model, data, split)
    del split  # the held-out copy of the events is not needed any more
    progress.step("fitted on all data")
    _check_stop(svc, arn)

    from tailor.jobs import model_prefix

    prefix = model_prefix(svc, arn)
    with svc.blobs.create(prefix + "model.npz") as out:
        write_artifact(out, recipe_name, params, model, data, metrics, temperature)
    del model
    svc.blobs.put(prefix + "metrics.json", json.dumps(metrics, indent=2, sort_keys=True).encode())
    progress.step(f"artifact written to {prefix}")
    hours = (time.monotonic() - progress.started) / 3600
    recipe_arn = f"arn:aws:personalize:::recipe/{recipe_name}"
    changes: dict[str, Any] = {"status": common.ACTIVE, "trainingHours": round(hours, 6),
                               "lastUpdatedDateTime": svc.now(), "recipeArn": recipe_arn}
    if perform_hpo:
        changes["tunedHPOParams"] = {"algorithmHyperParameters": params}
    if recipe_name == FALLBACK_RECIPE and FALLBACK_RECIPE not in requested:
        changes["tunedHPOParams"] = {"algorithmHyperParameters": {"tailor_fallback_recipe": recipe_name}}
    finished = svc.store.update(
        arn, changes, internal_changes={"artifact": prefix + "model.npz", "metrics": metrics, "recipe": recipe_name},
        expect_status=frozenset({common.CREATE_IN_PROGRESS}),
    )
    if doc.get("performAutoML"):
        svc.store.update(doc["solutionArn"], {"autoMLResult": {"bestRecipeArn": recipe_arn}})
    sync_latest(svc, finished)
    follow_latest(svc, finished)  # campaigns with syncWithLatestSolutionVersion move to this version
    progress.step("ACTIVE")
