"""What every resource operation shares: lookups, creation with tags, listing with nextToken, deletion."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from tailor.errors import (
    InvalidInputException,
    ResourceAlreadyExistsException,
    ResourceInUseException,
    ResourceNotFoundException,
    TooManyTagsException,
)
from tailor.ports import Resource
from tailor.protocol import model
from tailor.service import Service

T = TypeVar("T")

CREATE_PENDING = "CREATE PENDING"
CREATE_IN_PROGRESS = "CREATE IN_PROGRESS"
ACTIVE = "ACTIVE"
CREATE_FAILED = "CREATE FAILED"
DELETE_PENDING = "DELETE PENDING"
DELETE_IN_PROGRESS = "DELETE IN_PROGRESS"
IN_FLIGHT = frozenset({CREATE_PENDING, CREATE_IN_PROGRESS})
DELETING = frozenset({DELETE_PENDING, DELETE_IN_PROGRESS})
UPDATABLE_CAMPAIGN = frozenset({ACTIVE, CREATE_FAILED})  # UpdateCampaign's precondition (and its job's)

MAX_TAGS = 50
DEFAULT_PAGE = 100

# Human names for error messages, by ARN resource type.
LABELS = {
    "dataset-group": "dataset group",
    "schema": "schema",
    "dataset": "dataset",
    "dataset-import-job": "dataset import job",
    "event-tracker": "event tracker",
    "filter": "filter",
    "solution-version": "solution version",
    "campaign": "campaign",
}


def label(kind: str) -> str:
    return LABELS.get(kind, kind.replace("-", " "))


def kind_of(arn: str) -> str | None:
    """The resource type segment of a Personalize ARN (arn:aws:personalize:r:a:<kind>/...)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "personalize":
        return None
    kind, _, rest = parts[5].partition("/")
    if kind == "solution" and "/" in rest:
        return "solution-version"  # solution/{name}/{versionId}
    return kind


def get(svc: Service, arn: str, kind: str) -> Resource:
    resource = svc.store.get(arn) if kind_of(arn) == kind else None
    if resource is None or vanished(svc, resource):
        raise ResourceNotFoundException(f"Could not find {label(kind)} with ARN {arn}")
    return resource


def get_any(svc: Service, arn: str) -> Resource:
    resource = svc.store.get(arn)
    if resource is None or vanished(svc, resource):
        raise ResourceNotFoundException(f"Could not find resource with ARN {arn}")
    return resource


# The internal attribute of a deleted resource kept visible for a while (Service.deletion_linger_seconds): when it goes.
VANISHES_AT = "vanishesAt"


def vanished(svc: Service, resource: Resource) -> bool:
    """Whether `resource` is a deleted one whose time to be seen has passed; it is removed now (the first read after
    that time removes it, whoever reads it)."""
    at = resource.internal.get(VANISHES_AT)
    if at is None or svc.now() < float(at):
        return False
    svc.store.delete(resource.arn)
    return True


# Resources whose creation has no work to do (their "activate" job only moves the status): nothing has to wait for
# them. Personalize shows them ACTIVE about at once, and clients (AWS's notebooks) call CreateSolutionVersion right
# after CreateSolution, CreateDatasetImportJob right after CreateDataset.
WORKLESS_KINDS = frozenset({"dataset-group", "dataset", "solution", "filter", "event-tracker", "metric-attribution",
                            "campaign"})


def require_active(resource: Resource, svc: Service | None = None) -> Resource:
    """The resource, ACTIVE; ResourceInUseException otherwise. Given `svc` (a function that may write resources),
    a workless resource still waiting for its activation job is activated here, in one conditional write, instead of
    making the caller wait behind whatever jobs run before that one."""
    if resource.status == ACTIVE:
        return resource
    if svc is not None and resource.kind in WORKLESS_KINDS and resource.status in IN_FLIGHT:
        try:
            return svc.store.update(resource.arn, {"status": ACTIVE, "lastUpdatedDateTime": svc.now()},
                                    expect_status=IN_FLIGHT)
        except ResourceInUseException:
            now = svc.store.get(resource.arn)
            if now is not None and now.status == ACTIVE:
                return now  # its activation job, or another request, was first
            resource = now or resource
    raise ResourceInUseException(
        f"The {label(resource.kind)} {resource.arn} is in status {resource.status}; it must be ACTIVE"
    )


def s3_path(svc: Service, value: Any, member: str, example: str = "s3://bucket/folder/") -> str:
    """The S3 location a request member names; InvalidInputException unless it is s3://bucket[/key] (the models'
    patterns also let http(s) through, which Personalize documents for none of its jobs) under one of the
    deployment's data locations (svc.data_locations; none = any). Every Create* request's S3 path comes through here
    before anything is stored, so a job its role could not run is refused at once, not left to fail on AccessDenied."""
    path = value if isinstance(value, str) else ""
    if not path.startswith("s3://") or len(path) <= len("s3://") or path[5] == "/":
        raise InvalidInputException(f"{member} must be an S3 path such as {example}; got {value!r}")
    if svc.data_locations and not any(_covers(location, path) for location in svc.data_locations):
        raise InvalidInputException(
            f"{member} {path} is outside the S3 locations this Tailor deployment may use "
            f"({', '.join(svc.data_locations)}); add it to \"dataLocations\" in cdk.json and redeploy."
        )
    return path


def _covers(location: str, path: str) -> bool:
    """Whether an s3:// path lies under a data location, as the IAM grant `arn:aws:s3:::<bucket>/<prefix>*` reads
    it: the same bucket exactly, and a key that starts with the location's prefix ("" = the whole bucket)."""
    bucket, _, prefix = location.removeprefix("s3://").partition("/")
    path_bucket, _, key = path.removeprefix("s3://").partition("/")
    return path_bucket == bucket and key.startswith(prefix)


def tags_from_wire(tags: list[dict[str, str]] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for tag in tags or []:
        key = tag["tagKey"]
        if key.lower().startswith("aws:"):
            raise InvalidInputException(f"Tag keys starting with 'aws:' are reserved: {key}")
        result[key] = tag.get("tagValue", "")
    if len(result) > MAX_TAGS:
        raise TooManyTagsException(f"A resource can have at most {MAX_TAGS} tags; got {len(result)}")
    return result


def new_resource(
    svc: Service,
    kind: str,
    arn: str,
    doc: dict[str, Any],
    *,
    parent: str | None = None,
    tags: list[dict[str, str]] | None = None,
    locks: tuple[str, ...] = (),
    internal: dict[str, Any] | None = None,
) -> Resource:
    now = svc.now()
    doc = {**doc, "creationDateTime": now, "lastUpdatedDateTime": now}
    resource = Resource(
        arn=arn, kind=kind, doc=doc, parent=parent, tags=tags_from_wire(tags), internal=internal or {}
    )
    svc.store.create(resource, locks)
    return resource


def list_page(
    svc: Service,
    params: dict[str, Any],
    kind: str,
    summary_shape: str,
    parent: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One page of summaries, newest first, and {"nextToken": ...} unless it is the last page."""
    limit = int(params.get("maxResults") or DEFAULT_PAGE)
    scope = f"{kind}|{parent or ''}"
    cursor = svc.decode_token(params["nextToken"], scope) if params.get("nextToken") else None
    page = svc.store.list(kind, parent, limit, cursor)
    shape = model.shape("personalize", summary_shape)
    summaries = [model.project(shape, r.doc) for r in page.items if not vanished(svc, r)]
    token = {"nextToken": svc.encode_token(page.cursor, scope)} if page.cursor else {}
    return summaries, token


def describe(svc: Service, arn: str, kind: str, out_key: str) -> dict[str, Any]:
    """Describe*: the stored wire document under the operation's wrapper key."""
    return {out_key: get(svc, arn, kind).doc}


def list_op(
    svc: Service,
    req: dict[str, Any],
    kind: str,
    summary_shape: str,
    out_key: str,
    parent_param: str | None = None,
    parent_kind: str | None = None,
) -> dict[str, Any]:
    """List*: one page of summaries, optionally under a parent that must exist."""
    parent = req.get(parent_param) if parent_param else None
    if parent and parent_kind:
        get(svc, parent, parent_kind)
    items, token = list_page(svc, req, kind, summary_shape, parent)
    return {out_key: items, **token}


def children(svc: Service, kind: str, parent: str, limit: int = 100) -> list[Resource]:
    return svc.store.list(kind, parent, limit, None).items


def refuse_if_children(svc: Service, resource: Resource, kinds: tuple[str, ...]) -> None:
    for kind in kinds:
        found = children(svc, kind, resource.arn, limit=1)
        if found:
            raise ResourceInUseException(
                f"Cannot delete {label(resource.kind)} {resource.arn}: delete its {label(kind)}s first "
                f"(for example {found[0].arn})"
            )


def advance(svc: Service, arn: str, from_status: str, to_status: str, **changes: Any) -> Resource:
    """One step of an asynchronous status chain (with any other `changes` to the document), taken only from
    `from_status` (ResourceInUseException otherwise)."""
    return svc.store.update(
        arn, {"status": to_status, "lastUpdatedDateTime": svc.now(), **changes}, expect_status=frozenset({from_status})
    )


def start_deleting(svc: Service, arn: str) -> Resource | None:
    """A delete job's first step: the resource moved DELETE PENDING → DELETE IN_PROGRESS (a retried job finds it in
    progress already), or None when it is already gone."""
    resource = svc.store.get(arn)
    if resource is not None and resource.status == DELETE_PENDING:
        resource = advance(svc, arn, DELETE_PENDING, DELETE_IN_PROGRESS)
    return resource


def refuse_second(svc: Service, kind: str, group: Resource, hint: str = "") -> None:
    """ResourceAlreadyExistsException when the dataset group already has its one `kind` (event tracker, metric
    attribution); one being deleted does not count."""
    existing = [r for r in children(svc, kind, group.arn) if r.status not in DELETING]
    if existing:
        raise ResourceAlreadyExistsException(
            f"Dataset group {group.arn} already has its {label(kind)} ({existing[0].arn}); a dataset group can have "
            f"only one{hint}"
        )


def start_delete(svc: Service, resource: Resource) -> None:
    """Mark DELETE PENDING and let the workflow remove it, as Personalize does asynchronously."""
    if resource.status in IN_FLIGHT:
        raise ResourceInUseException(
            f"The {label(resource.kind)} {resource.arn} is in status {resource.status} and cannot be deleted"
        )
    if resource.status in DELETING:
        return
    svc.store.update(
        resource.arn,
        {"status": DELETE_PENDING, "lastUpdatedDateTime": svc.now()},
        expect_status=frozenset({ACTIVE, CREATE_FAILED}),
    )
    svc.launcher.launch("delete", resource.arn)


# ---- reads the request paths repeat (runtime, events), cached per process for svc.cache_seconds ----------------


_MAX_CACHED_READS = 4096


def _cached_read(svc: Service, key: str, read: Callable[[], T]) -> T:
    if svc.cache_seconds <= 0:
        return read()
    lock: threading.Lock = svc.cache.setdefault("reads.lock", threading.Lock())
    now = time.monotonic()
    with lock:
        entry = svc.cache.setdefault("reads", {}).get(key)
    if entry is not None and now - entry[0] < svc.cache_seconds:
        return cast(T, entry[1])
    value = read()
    with lock:
        reads = svc.cache["reads"]
        if len(reads) >= _MAX_CACHED_READS:  # callers name the ARNs: never let a warm process grow without end
            reads.clear()
        reads[key] = (now, value)
    return value


def cached_get(svc: Service, arn: str) -> Resource | None:
    """svc.store.get(arn), reused for up to svc.cache_seconds: for the per-request reads of the runtime and events
    APIs (campaigns, filters, trackers, schemas), where a change taking a few seconds to be seen is fine."""
    return _cached_read(svc, f"get|{arn}", lambda: svc.store.get(arn))


def cached_children(svc: Service, kind: str, parent: str) -> list[Resource]:
    return _cached_read(svc, f"children|{kind}|{parent}", lambda: children(svc, kind, parent))


def cached_lock_owner(svc: Service, lock: str) -> str | None:
    return _cached_read(svc, f"lock|{lock}", lambda: svc.store.lock_owner(lock))
