"""personalize-runtime: GetRecommendations and GetPersonalizedRanking (the work is in tailor.serving).

tailor.serving (numpy, scipy and the recipes' model code) is imported by the first runtime request, not when the
operation table is built: a cold start that answers control-plane or events calls never pays for it."""

from __future__ import annotations

from typing import Any

from tailor.errors import InvalidInputException
from tailor.service import Service


def get_recommendations(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    from tailor.serving import recommend

    return recommend.get_recommendations(svc, req)


def get_personalized_ranking(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    from tailor.serving import recommend

    return recommend.get_personalized_ranking(svc, req)


def get_action_recommendations(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    raise InvalidInputException(
        "Action recommendations (aws-next-best-action) are not served by this version of Tailor"
    )
