"""Builds a Service from the environment and boto3 clients: the one place that reads os.environ."""

from __future__ import annotations

import os
import re
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
# s3://bucket, s3://bucket/ or s3://bucket/prefix: a bucket name S3 accepts, then a literal key prefix (no IAM
# wildcards: the check in operations.common.s3_path compares prefixes as they are written).
# s3://bucket or s3://bucket/prefix (a valid bucket name; no wildcards in the prefix). infra.config checks
# cdk.json's dataLocations with the same pattern, so a bad entry fails at synth rather than at cold start.
DATA_LOCATION = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:/([^*?]*))?")


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
        data_locations=data_locations(env.get(config.ENV_DATA_LOCATIONS, "")),
    )


def data_locations(value: str) -> tuple[str, ...]:
    """ENV_DATA_LOCATIONS: comma-separated s3://bucket[/prefix] URIs, blanks ignored ("" = any location). A malformed
    entry is a deployment mistake: ValueError, so the function fails at cold start rather than on every request."""
    locations = tuple(item.strip() for item in value.split(",") if item.strip())
    for location in locations:
        if not DATA_LOCATION.fullmatch(location):
            raise ValueError(
                f"{config.ENV_DATA_LOCATIONS}: {location!r} is not an S3 location such as s3://bucket/ or "
                f"s3://bucket/prefix/ (a bucket name of 3 to 63 lowercase letters, digits, dots and hyphens, then "
                f"an optional key prefix without wildcards); got {value!r}"
            )
    return locations


class NoLauncher:
    """For functions that are not allowed to start workflows."""

    def launch(self, job: str, arn: str) -> None:
        raise RuntimeError(f"this function cannot start jobs ({config.ENV_STATE_MACHINE_ARN} is not set)")


def _account_from_sts(session: Any, region: str) -> str:
    try:
        return str(session.client("sts", region_name=region).get_caller_identity()["Account"])
    except Exception:
        return config.DEFAULT_ACCOUNT
