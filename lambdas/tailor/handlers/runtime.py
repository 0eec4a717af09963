"""Lambda entry for personalize-runtime (/recommendations, /personalize-ranking, /action-recommendations)."""

from __future__ import annotations

from tailor.handlers.api import handler_for

lambda_handler = handler_for("personalize-runtime")
