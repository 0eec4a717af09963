"""Tailor in this process: moto for DynamoDB, S3 and CloudWatch, the local job launcher, the real Lambda handlers."""

from __future__ import annotations

import functools
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import boto3

from tailor import config, jobs
from tailor.adapters.dynamodb import ensure_tables
from tailor.adapters.env import build_service
from tailor.adapters.launchers import LocalLauncher
from tailor.handlers import common as handler_common
from tailor.protocol.apigw import event_from_request, response_from_proxy
from tailor.protocol.http import HttpResponse
from tailor.service import Service

RESOURCES_TABLE = "tailor-resources"
EVENTS_TABLE = "tailor-events"
ARTIFACTS_BUCKET = "tailor-artifacts"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
AUTOTRAIN_SWEEP_SECONDS = 300.0  # how often local mode looks for solutions due for automatic training


# moto is not thread-safe (a DynamoDB transaction deep-copies whole tables and restores them on rollback), while
# local mode runs jobs on worker threads beside request threads: every call into moto takes this lock.
MOTO_LOCK = threading.RLock()


class SerializedClient:
    """A boto3 client whose calls hold MOTO_LOCK."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        @functools.wraps(attr)
        def locked(*args: Any, **kwargs: Any) -> Any:
            with MOTO_LOCK:
                return attr(*args, **kwargs)

        return locked


def _order_moto_dimensions() -> None:
    """CloudWatch finds a metric by its set of dimensions, in whatever order they are named. moto (5.2) compares the
    two lists after sorting them with a Dimension.__lt__ that is no ordering (it compares a value with a name), so
    get_metric_data finds Tailor's metrics, or not, depending on the order and the values of the dimensions the
    caller names. Sort them by (name, value) instead, as CloudWatch's indifference to order needs."""
    from moto.cloudwatch.models import Dimension

    def less(self: Any, other: Any) -> bool:
        return (str(self.name), str(self.value)) < (str(other.name), str(other.value))

    setattr(Dimension, "__lt__", less)  # noqa: B010 (a plain assignment to a method does not type-check)


@dataclass
class LambdaContext:
    """What Powertools reads from a Lambda context object."""

    function_name: str = "tailor-local"
    memory_limit_in_mb: int = 1024
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:tailor-local"
    aws_request_id: str = ""


class EmbeddedTailor:
    """Starts moto (unless the caller already has), the tables and bucket, and serves requests in-process."""

    def __init__(self, region: str = config.DEFAULT_REGION, account: str = config.DEFAULT_ACCOUNT,
                 start_moto: bool = True, aws_managed_policies: bool = False) -> None:
        """aws_managed_policies: IAM knows AWS's managed policies, as an account does (AWS's notebooks attach
        service-role/AmazonPersonalizeFullAccess and AmazonS3FullAccess to the role they pass to Personalize).
        moto loads all of them at every reset, about a second, so only `tailor serve` asks for them; elsewhere
        MOTO_IAM_LOAD_MANAGED_POLICIES=true does the same."""
        self.region = region
        self.account = account
        self._mock: Any = None
        _order_moto_dimensions()
        if start_moto:
            from moto import mock_aws

            self._mock = mock_aws(config={"iam": {"load_aws_managed_policies": aws_managed_policies}})
            self._mock.start()
        self.session: Any = boto3.session.Session(
            region_name=region,
            aws_access_key_id=LOCAL_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=LOCAL_CREDENTIALS["aws_secret_access_key"],
        )
        self.launcher: LocalLauncher
        self.service: Service
        self._setup()

    def _setup(self) -> None:
        env = {
            config.ENV_RESOURCES_TABLE: RESOURCES_TABLE,
            config.ENV_EVENTS_TABLE: EVENTS_TABLE,
            config.ENV_ARTIFACTS_BUCKET: ARTIFACTS_BUCKET,
            config.ENV_REGION: self.region,
            config.ENV_TOKEN_SECRET: "tailor-local",
            config.ENV_CACHE_SECONDS: "0",  # one process: every change is seen by the next request
        }
        ensure_tables(self.session.client("dynamodb"), RESOURCES_TABLE, EVENTS_TABLE)
        s3 = self.session.client("s3")
        if ARTIFACTS_BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
            s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
        self.launcher = LocalLauncher(lambda job, arn: jobs.run_and_record(self.service, job, arn))
        # Automatic training's sweep, as the deployed stack's schedule runs it (tailor.autotrain).
        self.launcher.every(AUTOTRAIN_SWEEP_SECONDS, config.AUTO_TRAIN_JOB, config.AUTO_TRAIN_TARGET)
        self.service = build_service(env, session=self.session, launcher=self.launcher, account=self.account,
                                     wrap_client=SerializedClient)
        # No EMF ingestion here: metrics (tailor.cloudwatch) go to moto's CloudWatch, which the local endpoint serves.
        self.service.local_metrics = SerializedClient(self.session.client("cloudwatch"))
        handler_common.use_service(self.service)

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> HttpResponse:
        """One request through the API's Lambda handler, exactly as API Gateway would deliver it."""
        from tailor.handlers.all_apis import lambda_handler

        handler_common.use_service(self.service)
        event = event_from_request(method, path, headers, body)
        return response_from_proxy(lambda_handler(event, LambdaContext(aws_request_id=str(uuid.uuid4()))))

    def wait_idle(self, timeout: float = 120.0) -> bool:
        return self.launcher.wait_idle(timeout)

    def reset(self) -> None:
        """Forget every resource, event and object (moto's state), keeping the endpoint up."""
        self.launcher.wait_idle(30)
        self.launcher.shutdown()
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        self._setup()

    def stop(self) -> None:
        self.launcher.wait_idle(30)
        self.launcher.shutdown()
        handler_common.use_service(None)
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
