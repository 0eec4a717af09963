"""TagResource, UntagResource, ListTagsForResource."""

from __future__ import annotations

from typing import Any

from tailor.errors import TooManyTagKeysException, TooManyTagsException
from tailor.operations import common
from tailor.service import Service


def tag_resource(svc: Service, req: dict[str, Any]) -> None:
    resource = common.get_any(svc, req["resourceArn"])
    merged = {**resource.tags, **common.tags_from_wire(req["tags"])}
    if len(merged) > common.MAX_TAGS:
        raise TooManyTagsException(
            f"{resource.arn} would have {len(merged)} tags; a resource can have at most {common.MAX_TAGS}"
        )
    svc.store.set_tags(resource.arn, merged)


def untag_resource(svc: Service, req: dict[str, Any]) -> None:
    resource = common.get_any(svc, req["resourceArn"])
    keys = req["tagKeys"]
    if len(keys) > common.MAX_TAGS:
        raise TooManyTagKeysException(f"At most {common.MAX_TAGS} tag keys can be removed at once")
    svc.store.set_tags(resource.arn, {k: v for k, v in resource.tags.items() if k not in set(keys)})


def list_tags_for_resource(svc: Service, req: dict[str, Any]) -> dict[str, Any]:
    resource = common.get_any(svc, req["resourceArn"])
    return {"tags": [{"tagKey": k, "tagValue": v} for k, v in sorted(resource.tags.items())]}
