"""The ports the domain talks through; boto3 adapters and in-memory fakes implement them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import IO, Any, Protocol


@dataclass
class Resource:
    """One stored resource: its wire document plus the attributes the store indexes on."""

    arn: str
    kind: str  # e.g. "dataset-group", the ARN resource-type segment
    doc: dict[str, Any]  # the wire shape (botocore member names), status included
    parent: str | None = None  # the ARN List* filters on (datasetGroupArn, solutionArn, ...)
    tags: dict[str, str] = field(default_factory=dict)
    internal: dict[str, Any] = field(default_factory=dict)  # never sent to callers (snapshot keys, ...)

    @property
    def status(self) -> str | None:
        return self.doc.get("status")


@dataclass(frozen=True)
class Page:
    items: list[Resource]
    cursor: dict[str, Any] | None  # opaque to the domain; None on the last page


class ResourceStore(Protocol):
    def create(self, resource: Resource, locks: tuple[str, ...] = ()) -> None:
        """Store a new resource atomically with its uniqueness locks (e.g. "tracker-of#<group arn>");
        ResourceAlreadyExistsException if the ARN or any lock is taken."""

    def get(self, arn: str) -> Resource | None: ...

    def update(
        self,
        arn: str,
        doc_changes: Mapping[str, Any],
        *,
        internal_changes: Mapping[str, Any] | None = None,
        expect_status: frozenset[str] | None = None,
        remove: tuple[str, ...] = (),
        check: Callable[[Resource], None] | None = None,
    ) -> Resource:
        """Apply changes atomically; ResourceInUseException if the status is not one of expect_status,
        ResourceNotFoundException if it is gone. `check` sees the resource as it is just before the write (every
        attempt, so a concurrent writer cannot slip past it) and raises to refuse the change."""

    def delete(self, arn: str) -> None:
        """Remove the resource and release the locks it was created with."""

    def list(
        self, kind: str, parent: str | None, limit: int, cursor: dict[str, Any] | None
    ) -> Page: ...

    def set_tags(self, arn: str, tags: Mapping[str, str]) -> None: ...


class BlobStore(Protocol):
    """Objects addressed by s3://bucket/key URIs."""

    def open(self, uri: str) -> IO[bytes]:
        """A readable binary stream; FileNotFoundError if the object does not exist."""

    def put(self, uri: str, data: bytes) -> None: ...

    def create(self, uri: str) -> AbstractContextManager[IO[bytes]]:
        """A writable binary stream for an object too big to hold twice in memory (the S3 store spools it to local
        disk); the object appears when the block exits normally and not at all (nothing half-written) when it
        raises."""

    def list(self, uri_prefix: str) -> Iterator[str]:
        """URIs of the objects under a prefix, in key order."""

    def delete(self, uri: str) -> None: ...


class JobLauncher(Protocol):
    def launch(self, job: str, arn: str) -> None:
        """Start asynchronous work `job` (see tailor.jobs.JOBS) for the resource `arn`."""
