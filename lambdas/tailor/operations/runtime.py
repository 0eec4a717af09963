"""personalize-runtime: GetRecommendations and GetPersonalizedRanking (the work is in tailor.serving)."""

from __future__ import annotations

from typing import Any

from tailor.errors import InvalidInputException
from tailor.service import Service
from tailor.serving import recommend


def get_recommendations(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return recommend.get_recommendations(svc, req)


def get_personalized_ranking(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return recommend.get_personalized_ranking(svc, req)


def get_action_recommendations(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    raise InvalidInputException(
        "Action recommendations (aws-next-best-action) are not served by this version of Tailor"
    )
