"""The runtime's and events API's per-process cache of resource reads (svc.cache_seconds)."""

from __future__ import annotations

from typing import Any

from tailor.adapters.memory import MemoryBlobStore, MemoryEventStore
from tailor.operations import common
from tailor.ports import Resource
from tailor.service import Service


class CountingStore:
    def __init__(self) -> None:
        self.gets = 0

    def get(self, arn: str) -> Resource | None:
        self.gets += 1
        return Resource(arn=arn, kind="campaign", doc={"status": "ACTIVE"})

    def __getattr__(self, name: str) -> Any:
        raise NotImplementedError(name)


def service(store: CountingStore, seconds: float) -> Service:
    return Service(store=store, blobs=MemoryBlobStore(), launcher=None, events=MemoryEventStore(),  # type: ignore[arg-type]
                   region="us-east-1", account="123456789012", artifacts_bucket="b", cache_seconds=seconds)


def test_reads_are_reused_within_the_cache_time_and_never_without_one(monkeypatch) -> None:
    now = [100.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: now[0])
    store = CountingStore()
    cached = service(store, 2.0)
    for _ in range(3):
        common.cached_get(cached, "arn:a")
    assert store.gets == 1
    now[0] += 2.5  # past the cache time: read again
    common.cached_get(cached, "arn:a")
    assert store.gets == 2
    uncached = service(store, 0.0)
    common.cached_get(uncached, "arn:a")
    common.cached_get(uncached, "arn:a")
    assert store.gets == 4


def test_the_cache_stays_bounded_whatever_arns_callers_send() -> None:
    cached = service(CountingStore(), 60.0)
    for n in range(10_000):
        common.cached_get(cached, f"arn:{n}")
    assert len(cached.cache["reads"]) <= 4096
