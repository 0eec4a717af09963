"""Builds a Service from the environment and boto3 clients: the one place that reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config

from tailor import config
from tailor.adapters.dynamodb import DynamoResourceStore
from tailor.adapters.events import DynamoEventStore
from tailor.adapters.launchers import StepFunctionsLauncher
from tailor.adapters.s3 import S3BlobStore
from tailor.ports import JobLauncher
from tailor.service import Service

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


def build_service(
    env: Mapping[str, str] | None = None,
    session: Any = None,
    launcher: JobLauncher | None = None,
    account: str | None = None,
    wrap_client: Callable[[Any], Any] = lambda client: client,
) -> Service:
    env = os.environ if env is None else env
    session = session or boto3.session.Session()
    region = env.get(config.ENV_REGION) or session.region_name or config.DEFAULT_REGION
    ddb = wrap_client(session.client("dynamodb", region_name=region, config=_CLIENT_CONFIG))
    s3 = wrap_client(session.client("s3", region_name=region, config=_CLIENT_CONFIG))
    if launcher is None:
        machine = env.get(config.ENV_STATE_MACHINE_ARN)
        if machine:
            sfn = session.client("stepfunctions", region_name=region, config=_CLIENT_CONFIG)
            launcher = StepFunctionsLauncher(sfn, machine)
        else:
            launcher = NoLauncher()  # the workflow function runs jobs; it never starts them
    if account is None:
        account = env.get(config.ENV_ACCOUNT_ID) or _account_from_sts(session, region)
    return Service(
        store=DynamoResourceStore(ddb, env[config.ENV_RESOURCES_TABLE]),
        blobs=S3BlobStore(s3),
        launcher=launcher,
        events=DynamoEventStore(ddb, env[config.ENV_EVENTS_TABLE]),
        region=region,
        account=account,
        artifacts_bucket=env[config.ENV_ARTIFACTS_BUCKET],
        token_secret=env.get(config.ENV_TOKEN_SECRET, f"tailor|{env[config.ENV_RESOURCES_TABLE]}").encode(),
        cache_seconds=float(env.get(config.ENV_CACHE_SECONDS, config.DEFAULT_CACHE_SECONDS)),
    )


class NoLauncher:
    """For functions that are not allowed to start workflows."""

    def launch(self, job: str, arn: str) -> None:
        raise RuntimeError(f"this function cannot start jobs ({config.ENV_STATE_MACHINE_ARN} is not set)")


def _account_from_sts(session: Any, region: str) -> str:
    try:
        return str(session.client("sts", region_name=region).get_caller_identity()["Account"])
    except Exception:
        return config.DEFAULT_ACCOUNT
