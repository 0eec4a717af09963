"""The asynchronous work behind recommenders (tailor.operations.recommenders): training a use case's model, applying
an update, stopping, starting, deleting, and recording a failure of any of them.

Training reuses the solution-version machinery (tailor.training.entrypoint: the dataset snapshots, the offline
evaluation, the artifact format), so GetRecommendations serves a recommender's model exactly as it serves a
campaign's. What is particular to a use case (operations.recommenders.USE_CASES):

* Event types. A use case about views, purchases or watches learns from those events only, matched
  case-insensitively, and needs at least 1,000 of them; every use case needs Personalize's general minimum too
  (1,000 interactions, 25 users with 2 or more). The artifact keeps every event of the user's history all the same,
  so the automatic filter (the items a user purchased or watched) and the request's own filters see them.
* Frequently bought together counts items bought in the same shopping session. The Interactions dataset has no
  session column (PutEvents' sessionId is not kept in the data training reads), so a session is approximated as a
  customer's purchases with no gap longer than SESSION_GAP_SECONDS between consecutive ones: one checkout, whose
  items carry the same or nearly the same timestamp, is one session, and the purchases of another day are not. The
  model is aws-sims' co-occurrence computed over these sessions instead of over whole customer histories, so an
  item bought with X in the same basket outranks one the same customers bought on other days.
* Most popular counts the users who watched a video, not how often it was played.
* trainingDataConfig (excludedDatasetColumns / includedDatasetColumns) chooses the Items columns the model reads;
  Tailor's use-case models read no Interactions or Users metadata, so those entries change nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tailor.errors import ResourceInUseException, ResourceNotFoundException
from tailor.operations import common
from tailor.operations import recommenders as ops
from tailor.ports import Resource
from tailor.service import Service

if TYPE_CHECKING:
    from tailor.training.base import InteractionData

logger = logging.getLogger("tailor.recommenders")

SESSION_GAP_SECONDS = 30 * 60  # the usual inactivity timeout that ends a web session


@dataclass(frozen=True)
class Trained:
    artifact: str  # s3:// URI of the model.npz
    recipe: str  # the Tailor recipe trained
    metrics: dict[str, float]


# ---- jobs ----------------------------------------------------------------------------------------------------------


def train_recommender(svc: Service, arn: str) -> None:
    """CREATE PENDING → CREATE IN_PROGRESS → ACTIVE (model trained, modelMetrics set) or CREATE FAILED."""
    recommender = svc.store.get(arn)
    if recommender is None or recommender.status != common.CREATE_PENDING:
        return
    recommender = common.advance(svc, arn, common.CREATE_PENDING, common.CREATE_IN_PROGRESS)
    from tailor.training.base import TrainingFailed

    try:
        trained = train(svc, recommender, recommender.doc.get("recommenderConfig") or {})
    except TrainingFailed as failure:
        fail_recommender(svc, recommender, failure.reason)
        return
    svc.store.update(
        arn, {"status": common.ACTIVE, "modelMetrics": trained.metrics, "lastUpdatedDateTime": svc.now()},
        internal_changes=_model_changes(recommender, trained), remove=("failureReason",),
        expect_status=frozenset({common.CREATE_IN_PROGRESS}),
    )


def update_recommender(svc: Service, arn: str) -> None:
    """Apply latestRecommenderUpdate, retraining first when the training columns change; until it is ACTIVE the
    recommender keeps serving its current model and configuration."""
    recommender = svc.store.get(arn)
    update = (recommender.doc.get("latestRecommenderUpdate") or {}) if recommender else {}
    if recommender is None or update.get("status") != common.CREATE_PENDING:
        return
    update = {**update, "status": common.CREATE_IN_PROGRESS, "lastUpdatedDateTime": svc.now()}
    recommender = svc.store.update(arn, {"latestRecommenderUpdate": update}, expect_status=frozenset({common.ACTIVE}))
    config = update["recommenderConfig"]
    changes: dict[str, Any] = {"recommenderConfig": config}
    internal: dict[str, Any] = {}
    retrained: Trained | None = None
    if ops.training_config(config) != ops.training_config(recommender.doc.get("recommenderConfig") or {}):
        from tailor.training.base import TrainingFailed

        try:
            retrained = train(svc, recommender, config)
        except TrainingFailed as failure:
            fail_recommender(svc, recommender, failure.reason)
            return
        changes["modelMetrics"] = retrained.metrics
        internal = _model_changes(recommender, retrained)
    now = svc.now()
    svc.store.update(
        arn, {**changes, "lastUpdatedDateTime": now,
              "latestRecommenderUpdate": {**update, "status": common.ACTIVE, "lastUpdatedDateTime": now}},
        internal_changes=internal, expect_status=frozenset({common.ACTIVE}),
    )
    if retrained is not None:
        # The model before the one just replaced goes; the replaced one stays a while for requests already reading
        # the recommender as it was (the runtime re-reads resources every few seconds).
        _delete_model(svc, recommender.internal.get("previous_artifact"))


def stop_recommender(svc: Service, arn: str) -> None:
    """STOP PENDING → STOP IN_PROGRESS → INACTIVE: there is no capacity to release."""
    common.advance(svc, arn, ops.STOP_PENDING, ops.STOP_IN_PROGRESS)
    common.advance(svc, arn, ops.STOP_IN_PROGRESS, ops.INACTIVE)


def start_recommender(svc: Service, arn: str) -> None:
    """START PENDING → START IN_PROGRESS → ACTIVE, serving the model it had (Personalize's Start trains nothing)."""
    common.advance(svc, arn, ops.START_PENDING, ops.START_IN_PROGRESS)
    common.advance(svc, arn, ops.START_IN_PROGRESS, common.ACTIVE)


def delete_recommender(svc: Service, arn: str) -> None:
    """DELETE PENDING → DELETE IN_PROGRESS → gone, with its model artifacts."""
    recommender = common.start_deleting(svc, arn)
    if recommender is None:
        return
    for key in ("artifact", "previous_artifact"):
        _delete_model(svc, recommender.internal.get(key))
    svc.store.delete(arn)


def fail_recommender(svc: Service, recommender: Resource, reason: str) -> None:
    """Record a failure (tailor.jobs.fail sends recommenders here): a create becomes CREATE FAILED with the reason, a
    failed update is recorded in latestRecommenderUpdate (the recommender serves on as before), and a stop, start or
    delete that failed puts the recommender back where it was, never leaving it pending."""
    arn, status, now = recommender.arn, recommender.status, svc.now()
    update = recommender.doc.get("latestRecommenderUpdate") or {}
    try:
        if status in common.IN_FLIGHT:
            svc.store.update(arn, {"status": common.CREATE_FAILED, "failureReason": reason[:1000],
                                   "lastUpdatedDateTime": now}, expect_status=common.IN_FLIGHT)
        elif update.get("status") in common.IN_FLIGHT:
            failed = {**update, "status": common.CREATE_FAILED, "failureReason": reason[:1000],
                      "lastUpdatedDateTime": now}
            svc.store.update(arn, {"latestRecommenderUpdate": failed}, expect_status=frozenset({common.ACTIVE}))
        elif status in ops.STOPPING | ops.STARTING:
            back = common.ACTIVE if status in ops.STOPPING else ops.INACTIVE
            logger.warning("%s of %s failed: %s", "stop" if back == common.ACTIVE else "start", arn, reason)
            svc.store.update(arn, {"status": back, "lastUpdatedDateTime": now}, expect_status=frozenset({status}))
        elif status in common.DELETING:
            logger.warning("delete of %s failed: %s", arn, reason)
            changes: dict[str, Any] = {"status": recommender.internal.get("status_before_delete") or common.ACTIVE,
                                       "lastUpdatedDateTime": now}
            if recommender.internal.get("metrics"):
                changes["modelMetrics"] = recommender.internal["metrics"]
            svc.store.update(arn, changes, expect_status=common.DELETING)
    except (ResourceNotFoundException, ResourceInUseException):
        logger.warning("could not record failure of %s: %s", arn, reason)




# ---- training ------------------------------------------------------------------------------------------------------


def train(svc: Service, recommender: Resource, config: Mapping[str, Any]) -> Trained:
    """Fit the recommender's use case on the dataset group's data and write the artifact; TrainingFailed says what
    the data lacks."""
    from tailor.training import data as training_data
    from tailor.training import evaluation
    from tailor.training.base import TrainingFailed
    from tailor.training.entrypoint import dataset_snapshots, held_out_metrics, write_artifact
    from tailor.training.recipes import get_recipe

    use_case = ops.use_case_of(recommender)
    snapshots = dataset_snapshots(svc, recommender.doc["datasetGroupArn"])
    if use_case.needs_items and "ITEMS" not in snapshots:
        raise TrainingFailed(
            f"{use_case.title} ({use_case.recipe}) needs an Items dataset with data: it finds similar items by their "
            "metadata (GENRES and the other Items fields) as well as by interactions. Create an Items dataset, import "
            "the catalog into it and create the recommender again"
        )
    data: InteractionData = training_data.build(snapshots["INTERACTIONS"], snapshots.get("ITEMS"),
                                                snapshots.get("USERS"), training_data.EventOptions())
    data = _with_training_columns(data, ops.training_config(config))
    _check_minimum(data, use_case)
    fit_data = data
    if use_case.event_type is not None:
        fit_data = _events_of_type(data, use_case)
    if use_case.shape == "sessions":
        fit_data = purchase_sessions(fit_data, SESSION_GAP_SECONDS)
    elif use_case.shape == "distinct_users":
        fit_data = distinct_users(fit_data)

    recipe = get_recipe(use_case.model)
    params = {**recipe.defaults, **use_case.hyper_parameters}
    split = evaluation.split(fit_data)
    metrics, temperature = held_out_metrics(recipe, params, fit_data, split)
    del split
    model = recipe.fit(fit_data, params)
    prefix = f"s3://{svc.artifacts_bucket}/recommenders/{recommender.doc['name']}/{secrets.token_hex(4)}/"
    # The artifact's history is every event (data, not fit_data): the automatic and the request's filters read it.
    with svc.blobs.create(prefix + "model.npz") as out:
        write_artifact(out, recipe.name, params, model, data, metrics, temperature)
    svc.blobs.put(prefix + "metrics.json", json.dumps(metrics, indent=2, sort_keys=True).encode())
    logger.info("%s: %s trained on %d of %d events (%s)", recommender.arn, recipe.name, fit_data.n_events,
                data.n_events, ", ".join(f"{k}={v:.4f}" for k, v in sorted(metrics.items())))
    return Trained(artifact=prefix + "model.npz", recipe=recipe.name, metrics=metrics)


def _model_changes(recommender: Resource, trained: Trained) -> dict[str, Any]:
    return {"artifact": trained.artifact, "recipe": trained.recipe, "metrics": trained.metrics,
            "previous_artifact": recommender.internal.get("artifact")}


def _delete_model(svc: Service, artifact: str | None) -> None:
    if not artifact:
        return
    prefix = artifact.rsplit("/", 1)[0] + "/"
    for uri in list(svc.blobs.list(prefix)):
        svc.blobs.delete(uri)


def _check_minimum(data: InteractionData, use_case: ops.UseCase) -> None:
    """Personalize's minimum for every use case (1,000 interactions, 25 users with 2 or more, events of any type);
    recommenders have no allow_small_data to fall back on."""
    from tailor.training.base import TrainingFailed
    from tailor.training.data import describe_shortfall

    reason = describe_shortfall(data, hint="Import more interactions (or record them with PutEvents) and create the "
                                "recommender again")
    if reason is not None:
        raise TrainingFailed(f"{use_case.title} ({use_case.recipe}): {reason}")


def _events_of_type(data: InteractionData, use_case: ops.UseCase) -> InteractionData:
    """The events of the use case's type (any case); TrainingFailed when there are fewer than MIN_EVENTS."""
    import numpy as np

    from tailor.training.base import TrainingFailed
    from tailor.training.recipes.params import subset_events

    assert use_case.event_type is not None
    wanted = use_case.event_type.casefold()
    codes = [i for i, name in enumerate(data.event_type_names) if name.casefold() == wanted]
    keep = np.isin(np.asarray(data.event_types), codes)
    count = int(np.count_nonzero(keep))
    if count < ops.MIN_EVENTS:
        counts = np.bincount(np.asarray(data.event_types)[np.asarray(data.event_types) >= 0],
                             minlength=len(data.event_type_names))
        present = ", ".join(f"{name!r} ({int(n):,})" for name, n in zip(data.event_type_names, counts, strict=True)
                            if n) or "none"
        raise TrainingFailed(
            f"{use_case.title} ({use_case.recipe}) learns from {use_case.event_type} events and needs at least "
            f"{ops.MIN_EVENTS:,} of them (EVENT_TYPE {use_case.event_type!r}, in any case); the Interactions data has "
            f"{count:,}. Its event types are {present}. Record {use_case.event_type} events (a bulk import or "
            "PutEvents) and create the recommender again"
        )
    return subset_events(data, keep)


def purchase_sessions(data: InteractionData, gap_seconds: float) -> InteractionData:
    """`data` with each user's events cut into sessions wherever consecutive events are more than `gap_seconds`
    apart, the sessions taking the place of the users (events stay in (session, time) order, items unchanged).

    aws-sims fitted on it counts co-occurrence within sessions: items bought together, not items the same customers
    bought at any time."""
    import numpy as np

    users = np.asarray(data.users, dtype=np.int64)
    times = np.asarray(data.timestamps, dtype=np.int64)
    starts = np.ones(len(users), dtype=bool)
    starts[1:] = (users[1:] != users[:-1]) | (times[1:] - times[:-1] > gap_seconds)
    sessions = np.cumsum(starts) - 1
    n_sessions = int(sessions[-1]) + 1 if len(sessions) else 0
    return dataclasses.replace(data, user_ids=np.arange(n_sessions).astype(str), users=sessions.astype(np.int32))


def distinct_users(data: InteractionData) -> InteractionData:
    """`data` with one event per (user, item), the first: a popularity count over it counts users, not events."""
    import numpy as np

    from tailor.training.recipes.params import subset_events

    key = np.asarray(data.users, dtype=np.int64) * max(data.n_items, 1) + np.asarray(data.items, dtype=np.int64)
    keep = np.zeros(len(key), dtype=bool)
    keep[np.unique(key, return_index=True)[1]] = True
    return subset_events(data, keep)


def _with_training_columns(data: InteractionData, training: Mapping[str, Any]) -> InteractionData:
    """`data` with only the Items columns trainingDataConfig lets the model read."""
    from tailor.training.base import TrainingFailed

    excluded = (training.get("excludedDatasetColumns") or {}).get("ITEMS")
    included = (training.get("includedDatasetColumns") or {}).get("ITEMS")
    if excluded is None and included is None:
        return data
    known = set(data.item_features)
    for member, columns in (("excludedDatasetColumns", excluded), ("includedDatasetColumns", included)):
        unknown = sorted(set(columns or ()) - known - {"ITEM_ID", "CREATION_TIMESTAMP"})
        if unknown:
            raise TrainingFailed(
                f"trainingDataConfig.{member}.ITEMS names {', '.join(unknown)}, which the Items dataset does not have "
                f"(its columns: {', '.join(sorted(known)) or 'none'})"
            )
    features = {name: values for name, values in data.item_features.items()
                if name not in set(excluded or ()) and (included is None or name in included)}
    return dataclasses.replace(data, item_features=features)
