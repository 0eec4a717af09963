"""Tailor: a self-hosted, wire-compatible Amazon Personalize."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def client(*args: Any, **kwargs: Any) -> Any:
    """A boto3 Personalize client that signs for API Gateway (``execute-api``); see tailor.clients.client.

    Imported on first use so that ``import tailor`` stays cheap in the Lambdas.
    """
    from tailor.clients import client as make_client

    return make_client(*args, **kwargs)
