"""CreateEventTracker, DescribeEventTracker, ListEventTrackers, DeleteEventTracker."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from tailor.operations import common
from tailor.service import Service

KIND = "event-tracker"


def tracking_lock(tracking_id: str) -> str:
    """The lock item that also maps a trackingId to its tracker (PutEvents looks trackers up by it)."""
    return f"tracking#{tracking_id}"


def create_event_tracker(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    group = common.get(svc, req["datasetGroupArn"], "dataset-group")
    group = common.require_active(group, svc)
    common.refuse_second(svc, KIND, group)
    arn = svc.arn(KIND, secrets.token_hex(4))
    tracking_id = str(uuid.uuid4())
    doc = {
        "name": req["name"],
        "eventTrackerArn": arn,
        "accountId": svc.account,
        "trackingId": tracking_id,
        "datasetGroupArn": group.arn,
        "status": common.CREATE_PENDING,
    }
    common.new_resource(
        svc, KIND, arn, doc, parent=group.arn, tags=req.get("tags"),
        # The per-group lock makes "one tracker per dataset group" hold under concurrent creates too.
        locks=(f"tracker-of#{group.arn}", tracking_lock(tracking_id)),
    )
    svc.launcher.launch("activate", arn)
    return {"eventTrackerArn": arn, "trackingId": tracking_id}


def describe_event_tracker(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.describe(svc, req["eventTrackerArn"], KIND, "eventTracker")


def list_event_trackers(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    return common.list_op(svc, req, KIND, "EventTrackerSummary", "eventTrackers", "datasetGroupArn", "dataset-group")


def delete_event_tracker(svc: Service, req: dict[str, Any]) -> None:
    common.start_delete(svc, common.get(svc, req["eventTrackerArn"], KIND))
