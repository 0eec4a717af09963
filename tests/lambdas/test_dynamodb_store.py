"""The DynamoDB resource store under moto: locks, conditional updates, pages."""

from __future__ import annotations

import pytest

from tailor.errors import ResourceAlreadyExistsException, ResourceInUseException, ResourceNotFoundException
from tailor.ports import Resource


def res(arn: str, created: float, parent: str | None = None, status: str = "ACTIVE") -> Resource:
    return Resource(arn=arn, kind="thing", doc={"status": status, "creationDateTime": created}, parent=parent)


def test_locks_make_names_unique_and_are_released_on_delete(svc):
    store = svc.store
    store.create(res("arn:a", 1), locks=("lock#a",))
    with pytest.raises(ResourceAlreadyExistsException):
        store.create(res("arn:b", 2), locks=("lock#a",))
    assert store.get("arn:b") is None  # nothing half-written
    store.delete("arn:a")
    store.create(res("arn:b", 2), locks=("lock#a",))


def test_update_checks_the_expected_status(svc):
    svc.store.create(res("arn:a", 1, status="CREATE PENDING"))
    with pytest.raises(ResourceInUseException):
        svc.store.update("arn:a", {"status": "ACTIVE"}, expect_status=frozenset({"CREATE IN_PROGRESS"}))
    updated = svc.store.update("arn:a", {"status": "ACTIVE"}, internal_changes={"k": 1},
                               expect_status=frozenset({"CREATE PENDING"}))
    assert updated.status == "ACTIVE" and svc.store.get("arn:a").internal == {"k": 1}
    with pytest.raises(ResourceNotFoundException):
        svc.store.update("arn:missing", {"status": "ACTIVE"})


def test_pages_by_kind_and_by_parent_newest_first(svc):
    for i in range(7):
        svc.store.create(res(f"arn:{i}", float(i), parent="arn:p" if i % 2 else None))
    seen, cursor = [], None
    while True:
        page = svc.store.list("thing", None, 3, cursor)
        seen += [r.arn for r in page.items]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert seen == [f"arn:{i}" for i in range(6, -1, -1)]
    assert [r.arn for r in svc.store.list("thing", "arn:p", 10, None).items] == ["arn:5", "arn:3", "arn:1"]
    exact = svc.store.list("thing", "arn:p", 3, None)
    assert exact.cursor is None  # a full last page carries no cursor


def test_tags_set_between_a_read_and_a_write_are_not_lost(svc, monkeypatch):
    # Given an update that reads the item, then (before it writes) someone tags the resource
    svc.store.create(res("arn:a", 1, status="CREATE PENDING"))
    store = svc.store
    real_get = store._get_item
    tagged = []

    def get_then_tag(arn):
        item = real_get(arn)
        if not tagged:
            tagged.append(True)
            store.set_tags(arn, {"team": "recs"})
        return item

    monkeypatch.setattr(store, "_get_item", get_then_tag)
    # When the update writes
    store.update("arn:a", {"status": "ACTIVE"})
    # Then it retried on the newer version and both changes are there
    monkeypatch.undo()
    after = store.get("arn:a")
    assert after.status == "ACTIVE" and after.tags == {"team": "recs"}
