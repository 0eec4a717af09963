"""GetRecommendations for a recommender: its use case's model and the event type its use case filters out.

tailor.serving.recommend serves a recommender as it serves a campaign (its `_campaign` calls `served_recommender`):
the user's events folded in, filters, metadata (recommenderConfig.enableMetadataWithRecommendations), exploration
(recommenderConfig.itemExplorationConfig) and scores. What the use case adds is Personalize's automatic filter:
Customers who viewed X and Recommended for you leave out the items the user purchased, Because you watched X, More
like X and Top picks for you the videos the user watched (DG "ECOMMERCE use cases", "VIDEO_ON_DEMAND use cases").
The runtime removes the items the user's history (the model's, at most the newest MAX_INTERACTIONS_PER_EVENT_TYPE per
type as in Personalize, plus the events put since, minus what a data deletion job removed) has events of that type
with, before choosing items.
"""

from __future__ import annotations

from tailor.errors import InvalidInputException, ResourceNotFoundException
from tailor.operations import common
from tailor.operations.recommenders import use_case_of
from tailor.ports import Resource
from tailor.service import Service
from tailor.serving.model import ServedModel, served_model


def served_recommender(svc: Service, arn: str,
                       recommender: Resource | None) -> tuple[Resource, ServedModel, str | None]:
    """The recommender (read by the caller), the model to serve it with and the event type whose items it leaves out
    (None: nothing); the modelled errors for one that does not exist (ResourceNotFoundException) or is not ACTIVE
    (InvalidInputException naming its status)."""
    if recommender is None or recommender.kind != "recommender" or recommender.status in common.DELETING:
        raise ResourceNotFoundException(f"Could not find recommender with ARN {arn}")
    if recommender.status != common.ACTIVE:
        hint = " (StartRecommender starts it again)" if recommender.status == "INACTIVE" else ""
        raise InvalidInputException(
            f"Recommender {arn} is {recommender.status}; it serves requests once it is ACTIVE{hint}"
        )
    uri = recommender.internal.get("artifact")
    if not uri:
        raise ResourceNotFoundException(f"Recommender {arn} has no trained model")
    return recommender, served_model(svc, uri), use_case_of(recommender).excludes
