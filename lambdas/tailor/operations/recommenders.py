"""Recommenders of domain dataset groups: Create / Describe / List / Update / Delete / Start / Stop.

A recommender serves one use case of its dataset group's domain (ECOMMERCE or VIDEO_ON_DEMAND), named by a domain
recipe ARN such as `aws-ecomm-frequently-bought-together`. Personalize does not say which model backs a use case;
Tailor trains one of its own recipes on the events the use case is about (USE_CASES below says which, and why).
CreateRecommender trains it at once (tailor.recommender_jobs), so a recommender goes CREATE PENDING → CREATE
IN_PROGRESS → ACTIVE, or CREATE FAILED with a failureReason naming what the data lacks (for instance the 1,000
`Purchase` events Best sellers needs). GetRecommendations with its recommenderArn then serves that model, with the
user's newest events folded in, filters, metadata and exploration, as a campaign's (tailor.serving.recommend).

Stopping costs nothing and saves nothing here: Personalize bills a running recommender for the request throughput it
keeps provisioned (minRecommendationRequestsPerSecond) and StopRecommender halts that bill, while Tailor provisions
no capacity at all (a request costs one Lambda call whether the recommender runs or not). StopRecommender /
StartRecommender are kept because clients call them: STOP PENDING → STOP IN_PROGRESS → INACTIVE, START PENDING →
START IN_PROGRESS → ACTIVE, and an INACTIVE recommender refuses GetRecommendations as Personalize's does.
minRecommendationRequestsPerSecond is stored and shown for the same reason.

UpdateRecommender records the new recommenderConfig in `latestRecommenderUpdate` and the recommender keeps serving
its current model and configuration until the update is ACTIVE; a change to the columns used in training
(trainingDataConfig) retrains the model first, as Personalize documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tailor.errors import InvalidInputException, ResourceInUseException
from tailor.operations import campaigns, common
from tailor.operations.catalog import RECIPES as CATALOG
from tailor.ports import Resource
from tailor.service import Service

KIND = "recommender"
STOP_PENDING = "STOP PENDING"
STOP_IN_PROGRESS = "STOP IN_PROGRESS"
INACTIVE = "INACTIVE"
START_PENDING = "START PENDING"
START_IN_PROGRESS = "START IN_PROGRESS"
STOPPING = frozenset({STOP_PENDING, STOP_IN_PROGRESS})
STARTING = frozenset({START_PENDING, START_IN_PROGRESS})
DELETABLE = frozenset({common.ACTIVE, common.CREATE_FAILED, INACTIVE})

# The jobs behind the operations (tailor.jobs.JOBS runs them; bodies in tailor.recommender_jobs).
TRAIN_JOB = "train-recommender"
UPDATE_JOB = "update-recommender"
STOP_JOB = "stop-recommender"
START_JOB = "start-recommender"
DELETE_JOB = "delete-recommender"

DEFAULT_REQUESTS_PER_SECOND = 1  # Personalize's default minRecommendationRequestsPerSecond
DATASET_TYPES = ("INTERACTIONS", "ITEMS", "USERS")
# Columns a recommender always trains on: they are what an interaction or a record is.
_KEY_COLUMNS = frozenset({"USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"})
_COLUMN_MAPS = ("excludedDatasetColumns", "includedDatasetColumns")


@dataclass(frozen=True)
class UseCase:
    """What Tailor trains and serves for one domain use case.

    Sources: the DG pages "ECOMMERCE use cases" and "VIDEO_ON_DEMAND use cases" (current and 2023 revisions): each
    use case's required event type and minimum, the GetRecommendations inputs, and the items it filters out
    automatically. Event types match case-insensitively (`view`, `View` and `VIEW` are one type), as the domains
    name fixed types rather than the dataset's own strings."""

    recipe: str  # the domain recipe's name, e.g. "aws-ecomm-popular-items-by-views"
    domain: str
    title: str  # Personalize's name for the use case, for messages
    model: str  # the Tailor recipe trained for it (tailor.training.recipes)
    # The only event type the model learns from, of which the data needs MIN_EVENTS; None: every event (and the
    # general minimum of 1,000 interactions of any type).
    event_type: str | None = None
    # Items the user has an event of this type with are left out of the user's recommendations (Personalize's
    # automatic filter, applied before the request's own filter).
    excludes: str | None = None
    needs_items: bool = False  # the use case needs an Items dataset with data
    # How the events are shaped before fitting (tailor.recommender_jobs): "sessions" (co-occurrence within a
    # shopping session rather than a whole history) or "distinct_users" (one event per user and item).
    shape: str | None = None
    hyper_parameters: Mapping[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:personalize:::recipe/{self.recipe}"


MIN_EVENTS = 1000  # every use case's minimum of its required event type (or of interactions of any type)

USE_CASES: dict[str, UseCase] = {use_case.recipe: use_case for use_case in (
    # "Most viewed: popular items based on how many times your customers viewed an item" (1,000 View events).
    UseCase("aws-ecomm-popular-items-by-views", "ECOMMERCE", "Most viewed", "aws-popularity-count",
            event_type="View"),
    # "Best sellers: ... how many times your customers purchased an item" (1,000 Purchase events).
    UseCase("aws-ecomm-popular-items-by-purchases", "ECOMMERCE", "Best sellers", "aws-popularity-count",
            event_type="Purchase"),
    # "Items that customers frequently buy together along with an item" (1,000 Purchase events): co-occurrence of
    # purchases within one shopping session, not within a customer's whole history (tailor.recommender_jobs).
    UseCase("aws-ecomm-frequently-bought-together", "ECOMMERCE", "Frequently bought together", "aws-sims",
            event_type="Purchase", shape="sessions"),
    # "Items that customers also viewed based on an item" (1,000 View events); filters out what the user purchased.
    UseCase("aws-ecomm-customers-who-viewed-x-also-viewed", "ECOMMERCE", "Customers who viewed X also viewed",
            "aws-sims", event_type="View", excludes="Purchase"),
    # Personalized, with exploration, from every event (View and Purchase recommended); filters out purchases.
    UseCase("aws-ecomm-recommended-for-you", "ECOMMERCE", "Recommended for you", "aws-user-personalization",
            excludes="Purchase"),
    # "Videos that other users also watched based on a video" (1,000 Watch events); filters out watched videos.
    UseCase("aws-vod-because-you-watched-x", "VIDEO_ON_DEMAND", "Because you watched X", "aws-sims",
            event_type="Watch", excludes="Watch"),
    # "Videos similar to a video": Interactions and Items required, events of any type (Watch and Click
    # recommended), so co-occurrence blended with item metadata; filters out watched videos.
    UseCase("aws-vod-more-like-x", "VIDEO_ON_DEMAND", "More like X", "aws-similar-items", excludes="Watch",
            needs_items=True),
    # "Videos that have been watched by the most users" (1,000 Watch events): distinct watchers, not plays.
    UseCase("aws-vod-most-popular", "VIDEO_ON_DEMAND", "Most popular", "aws-popularity-count", event_type="Watch",
            shape="distinct_users"),
    # "Items rapidly becoming more popular ... every two hours" from events of any type.
    UseCase("aws-vod-trending-now", "VIDEO_ON_DEMAND", "Trending now", "aws-trending-now",
            hyper_parameters={"trend_discovery_frequency": "2 hours"}),
    # Personalized, with exploration, from every event (Click and Watch recommended); filters out watched videos.
    UseCase("aws-vod-top-picks", "VIDEO_ON_DEMAND", "Top picks for you", "aws-user-personalization",
            excludes="Watch"),
)}


def use_case_of(recommender: Resource) -> UseCase:
    return USE_CASES[recommender.doc["recipeArn"].rsplit("/", 1)[-1]]


def _domain_use_cases(domain: str) -> str:
    return ", ".join(u.recipe for u in USE_CASES.values() if u.domain == domain)


def _use_case(group: Resource, recipe_arn: str) -> UseCase:
    """The use case a CreateRecommender names, checked against the dataset group's domain."""
    domain = group.doc.get("domain")
    if not domain:
        raise InvalidInputException(
            f"Dataset group {group.arn} is a custom dataset group (created without a domain): recommenders serve "
            "the use cases of an ECOMMERCE or VIDEO_ON_DEMAND dataset group. In a custom group, train a solution "
            "(CreateSolution) and deploy it with CreateCampaign"
        )
    use_case = USE_CASES.get(recipe_arn.removeprefix("arn:aws:personalize:::recipe/"))
    if use_case is None:
        custom = any(r.arn == recipe_arn and r.domain is None for r in CATALOG)
        what = "is a custom recipe: train it with CreateSolution" if custom else "is not a domain use case"
        raise InvalidInputException(
            f"{recipe_arn} {what}; a recommender of dataset group {group.arn} (domain {domain}) takes the recipe "
            f"of one of its use cases: {_domain_use_cases(domain)}"
        )
    if use_case.domain != domain:
        raise InvalidInputException(
            f"{use_case.recipe} ({use_case.title}) is a use case of the {use_case.domain} domain, but dataset group "
            f"{group.arn} has the {domain} domain; its use cases are {_domain_use_cases(domain)}"
        )
    return use_case


def _checked_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """recommenderConfig as stored: checked, with Personalize's default request rate filled in."""
    campaigns.check_exploration(dict(config))
    training = config.get("trainingDataConfig") or {}
    for member in _COLUMN_MAPS:
        for dataset_type, columns in (training.get(member) or {}).items():
            if dataset_type not in DATASET_TYPES:
                raise InvalidInputException(
                    f"trainingDataConfig.{member} has the key {dataset_type!r}; keys are dataset types "
                    f"({', '.join(DATASET_TYPES)})"
                )
            fixed = sorted(_KEY_COLUMNS.intersection(columns))
            if member == "excludedDatasetColumns" and fixed:
                raise InvalidInputException(
                    f"trainingDataConfig.excludedDatasetColumns.{dataset_type} names {', '.join(fixed)}; those "
                    "columns are always used in training and cannot be excluded"
                )
    return {"minRecommendationRequestsPerSecond": DEFAULT_REQUESTS_PER_SECOND, **config}


def training_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a recommenderConfig the model is trained with: a change to it retrains the model."""
    return dict(config.get("trainingDataConfig") or {})


# ---- operations ----------------------------------------------------------------------------------------------------


def create_recommender(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    group = common.get(svc, req["datasetGroupArn"], "dataset-group")
    _use_case(group, req["recipeArn"])
    config = _checked_config(req.get("recommenderConfig") or {})
    group = common.require_active(group, svc)
    arn = svc.arn(KIND, req["name"])
    doc = {
        "name": req["name"],
        "recommenderArn": arn,
        "datasetGroupArn": group.arn,
        "recipeArn": req["recipeArn"],
        "recommenderConfig": config,
        "status": common.CREATE_PENDING,
    }
    common.new_resource(svc, KIND, arn, doc, parent=group.arn, tags=req.get("tags"))
    svc.launcher.launch(TRAIN_JOB, arn)
    return {"recommenderArn": arn}


def describe_recommender(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["recommenderArn"], KIND, "recommender")


def list_recommenders(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, KIND, "RecommenderSummary", "recommenders", "datasetGroupArn", "dataset-group")


def update_recommender(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    recommender = common.get(svc, req["recommenderArn"], KIND)
    _require(recommender, frozenset({common.ACTIVE}), "updated")
    _no_update_in_flight(recommender)
    config = _checked_config(req["recommenderConfig"])
    now = svc.now()
    update = {"recommenderConfig": config, "status": common.CREATE_PENDING, "creationDateTime": now,
              "lastUpdatedDateTime": now}
    # Checked again at the write: of two updates racing (or an update and a stop), one wins and the other is refused.
    svc.store.update(recommender.arn, {"latestRecommenderUpdate": update, "lastUpdatedDateTime": now},
                     expect_status=frozenset({common.ACTIVE}), check=_no_update_in_flight)
    svc.launcher.launch(UPDATE_JOB, recommender.arn)
    return {"recommenderArn": recommender.arn}


def stop_recommender(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return _switch(svc, req["recommenderArn"], common.ACTIVE, STOP_PENDING, STOP_JOB, "stopped")


def start_recommender(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return _switch(svc, req["recommenderArn"], INACTIVE, START_PENDING, START_JOB, "started")


def delete_recommender(svc: Service, req: dict[str, Any]) -> None:
    recommender = common.get(svc, req["recommenderArn"], KIND)
    if recommender.status in common.DELETING:
        return
    _require(recommender, DELETABLE, "deleted")
    _no_update_in_flight(recommender)
    # DescribeRecommender shows no modelMetrics while a recommender is deleted (the model goes with it); a failed
    # delete puts the status (and the metrics, kept in `internal`) back.
    svc.store.update(
        recommender.arn, {"status": common.DELETE_PENDING, "lastUpdatedDateTime": svc.now()},
        internal_changes={"status_before_delete": recommender.status}, remove=("modelMetrics",),
        expect_status=DELETABLE, check=_no_update_in_flight,
    )
    svc.launcher.launch(DELETE_JOB, recommender.arn)


# ---- helpers -------------------------------------------------------------------------------------------------------


def _switch(svc: Service, arn: str, from_status: str, to_status: str, job: str, verb: str) -> dict[str, Any]:
    recommender = common.get(svc, arn, KIND)
    _require(recommender, frozenset({from_status}), verb)
    _no_update_in_flight(recommender)
    svc.store.update(recommender.arn, {"status": to_status, "lastUpdatedDateTime": svc.now()},
                     expect_status=frozenset({from_status}), check=_no_update_in_flight)
    svc.launcher.launch(job, recommender.arn)
    return {"recommenderArn": recommender.arn}


def _require(recommender: Resource, statuses: frozenset[str], verb: str) -> None:
    if recommender.status not in statuses:
        raise ResourceInUseException(
            f"Recommender {recommender.arn} is {recommender.status}; it can be {verb} when "
            f"{' or '.join(sorted(statuses))}"
        )


def _no_update_in_flight(recommender: Resource) -> None:
    pending = (recommender.doc.get("latestRecommenderUpdate") or {}).get("status")
    if pending in common.IN_FLIGHT:
        raise ResourceInUseException(
            f"Recommender {recommender.arn} has an update in status {pending}; wait for it to finish"
        )
