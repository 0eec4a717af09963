"""Lambda entry for the control plane (POST /, X-Amz-Target AmazonPersonalize.*): resources, statuses and jobs."""

from __future__ import annotations

from tailor.handlers.api import handler_for
from tailor.protocol.http import CONTROL_PLANE

lambda_handler = handler_for(CONTROL_PLANE)
