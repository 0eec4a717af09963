"""Lambda entry for personalize-events (/events, /items, /users, ...): real-time writes, no model access."""

from __future__ import annotations

from tailor.handlers.api import handler_for

lambda_handler = handler_for("personalize-events")
