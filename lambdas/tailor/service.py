"""The context every operation and job runs in: ports, account, region, clock."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tailor.errors import InvalidNextTokenException
from tailor.ports import BlobStore, EventStore, JobLauncher, ResourceStore

if TYPE_CHECKING:
    from tailor.cloudwatch import MetricsClient


@dataclass
class Service:
    store: ResourceStore
    blobs: BlobStore
    launcher: JobLauncher
    events: EventStore
    region: str
    account: str
    artifacts_bucket: str
    token_secret: bytes = b"tailor-next-token"
    clock: Callable[[], float] = field(default=time.time)
    # How long the runtime may reuse what it read of campaigns, filters and datasets before reading them again
    # (seconds; 0 = every request reads them, as local mode and the tests do). Models are cached by artifact, always.
    cache_seconds: float = 0.0
    # How long a deleted dataset group stays visible (DELETE IN_PROGRESS) after its deletion job has removed what it
    # held: Personalize takes a minute or more, and clients' cleanup loops expect to see the group being deleted
    # before DescribeDatasetGroup answers ResourceNotFoundException (operations.common.vanished).
    deletion_linger_seconds: float = 5.0
    # The S3 locations (s3://bucket/ or s3://bucket/prefix) this deployment's jobs may read and write; a Create*
    # request naming a path under none of them is refused at once (operations.common.s3_path). Empty: any location.
    data_locations: tuple[str, ...] = ()
    # Where tailor.cloudwatch.emit publishes outside Lambda: local mode's CloudWatch (moto's, behind the local
    # endpoint). None in the deployed functions, whose EMF lines on stdout become the metrics.
    local_metrics: MetricsClient | None = field(default=None, repr=False, compare=False)
    # Per-process caches the runtime keeps between requests (loaded models, catalogs); never shared state.
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def now(self) -> float:
        return round(self.clock(), 3)

    def arn(self, kind: str, *parts: str) -> str:
        return f"arn:aws:personalize:{self.region}:{self.account}:{kind}/{'/'.join(parts)}"

    # nextToken: the store's cursor, signed so a tampered or foreign token is refused.
    def encode_token(self, cursor: dict[str, Any], scope: str) -> str:
        payload = json.dumps({"c": cursor, "s": scope}, separators=(",", ":"), sort_keys=True).encode()
        mac = hmac.new(self.token_secret, payload, hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    def decode_token(self, token: str, scope: str) -> dict[str, Any]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            mac, payload = raw[:16], raw[16:]
            expected = hmac.new(self.token_secret, payload, hashlib.sha256).digest()[:16]
            if not hmac.compare_digest(mac, expected):
                raise ValueError("bad signature")
            data = json.loads(payload)
            if data.get("s") != scope or not isinstance(data.get("c"), dict):
                raise ValueError("token is for another listing")
            return dict(data["c"])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidNextTokenException("The nextToken is invalid or has been tampered with.") from None
