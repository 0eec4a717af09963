"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest

from tests.samples import INTERACTIONS_SCHEMA, ITEMS_SCHEMA, USERS_SCHEMA


@pytest.fixture
def sample_schemas() -> dict[str, str]:
    return {"INTERACTIONS": INTERACTIONS_SCHEMA, "ITEMS": ITEMS_SCHEMA, "USERS": USERS_SCHEMA}
