"""The ports the domain talks through; boto3 adapters and in-memory fakes implement them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
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

    def lock_owner(self, lock: str) -> str | None:
        """The ARN of the resource holding a uniqueness lock (e.g. "tracking#<trackingId>"), None if none does."""


@dataclass(frozen=True)
class StoredEvent:
    """One interaction put through PutEvents, as the events store keeps it.

    `user_id` is the event's userId, or its sessionId for an anonymous user (GetRecommendations then asks with the
    sessionId as the userId). `event_id` is the caller's eventId or, when none was given, one derived from the
    event's content, so a retried PutEvents call stores the event once. `properties` holds the Interactions
    schema's other fields (upper-case schema names -> str / float / None), already checked against the schema."""

    user_id: str
    event_id: str
    event_type: str
    timestamp: float  # sentAt, epoch seconds
    session_id: str
    item_id: str | None = None
    event_value: float | None = None
    recommendation_id: str | None = None
    impression: tuple[str, ...] = ()
    properties: Mapping[str, Any] = field(default_factory=dict)
    # True for the marker a data deletion job leaves in the user's events (not an event): `timestamp` is when the
    # user's data was deleted, so a model trained before then must not use the history it holds for the user.
    tombstone: bool = False
    # The event's metricAttribution.eventAttributionSource (or its EVENT_ATTRIBUTION_SOURCE property): the source its
    # metric attribution reports it under, kept even when the Interactions schema has no such field.
    event_attribution_source: str | None = None


@dataclass(frozen=True)
class StoredRecord:
    """One item or user put through PutItems / PutUsers: its id and schema fields (upper-case names -> str / float /
    None), and when it was stored (epoch seconds, the store's clock)."""

    record_id: str
    properties: Mapping[str, Any]
    put_at: float = 0.0


class EventStore(Protocol):
    """The real-time data put through personalize-events (DynamoDB's "events" table in AWS)."""

    def put_events(self, group_arn: str, events: Sequence[StoredEvent]) -> None:
        """Store a validated batch (at most 10). An event already stored (same user, timestamp and event_id) is stored
        once, so when a store failure leaves part of a batch written, retrying the call completes it."""

    def user_events(self, group_arn: str, user_id: str, limit: int, include_tombstone: bool = False,
                    ) -> list[StoredEvent]:
        """The user's newest `limit` events in the dataset group, oldest first. With `include_tombstone`, the
        marker of the user's latest data deletion (StoredEvent.tombstone), if any, follows them: read in the same
        request, so the runtime learns of a deletion at no extra cost."""

    def delete_user(self, group_arn: str, user_id: str, deleted_at: float) -> int:
        """Delete every event stored for the user in the dataset group and leave a tombstone dated `deleted_at`
        (replacing an earlier one); returns how many events were deleted."""

    def put_records(self, dataset_arn: str, records: Sequence[StoredRecord]) -> float:
        """Store items or users (at most 10) all or nothing, replacing earlier records with the same id; returns the
        put_at time they were stored with."""

    def get_records(self, dataset_arn: str, record_ids: Sequence[str]) -> dict[str, StoredRecord]:
        """The stored records among `record_ids` (missing ids are left out)."""

    def records_since(self, dataset_arn: str, since: float) -> list[StoredRecord]:
        """Every record put at or after `since` (0 for all), the latest version of each id, oldest put first."""

    def delete_records(self, dataset_arn: str, record_ids: Sequence[str]) -> int:
        """Delete the stored items or users with these ids (missing ids are skipped); returns how many were stored."""

    def group_events(self, group_arn: str) -> Iterator[StoredEvent]:
        """Every event stored for the dataset group, in no particular order (training and exports read them);
        never a tombstone."""


class BlobStore(Protocol):
    """Objects addressed by s3://bucket/key URIs."""

    def open(self, uri: str) -> IO[bytes]:
        """A readable binary stream; FileNotFoundError if the object does not exist."""

    def open_seekable(self, uri: str) -> IO[bytes]:
        """A readable, seekable binary file over the object, for readers that jump about (np.load reads a zip's end
        first): read where it lies (S3: ranged GETs), never copied to local disk nor held whole in memory.
        FileNotFoundError if the object does not exist, PermissionError if access is denied, as `open`."""

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
