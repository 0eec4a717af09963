"""Sample schemas and CSV generators shared by the tests (generated here, so shippable)."""

from __future__ import annotations

import json

INTERACTIONS_SCHEMA = json.dumps({
    "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "ITEM_ID", "type": "string"},
        {"name": "TIMESTAMP", "type": "long"},
        {"name": "EVENT_TYPE", "type": "string"},
        {"name": "EVENT_VALUE", "type": ["null", "float"]},
    ],
    "version": "1.0",
})
ITEMS_SCHEMA = json.dumps({
    "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "ITEM_ID", "type": "string"},
        {"name": "GENRE", "type": ["null", "string"], "categorical": True},
        {"name": "PRICE", "type": ["null", "float"]},
    ],
    "version": "1.0",
})
USERS_SCHEMA = json.dumps({
    "type": "record", "name": "Users", "namespace": "com.amazonaws.personalize.schema",
    "fields": [
        {"name": "USER_ID", "type": "string"},
        {"name": "MEMBERSHIP", "type": "string", "categorical": True},
    ],
    "version": "1.0",
})


def interactions_csv(n_users: int = 30, per_user: int = 4, n_items: int = 20) -> str:
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    for u in range(n_users):
        for k in range(per_user):
            item = (u * 7 + k * 3) % n_items
            event = "click" if k % 2 else "purchase"
            value = "" if k == 3 else f"{k + 0.5}"
            lines.append(f"u{u},i{item},{1_700_000_000 + u * 100 + k},{event},{value}")
    return "\n".join(lines) + "\n"


def items_csv(n_items: int = 20) -> str:
    genres = ["Comedy", "Drama|Romance", "Horror", ""]
    lines = ["ITEM_ID,GENRE,PRICE"]
    lines += [f"i{i},{genres[i % 4]},{'' if i % 5 == 0 else i * 1.5}" for i in range(n_items)]
    return "\n".join(lines) + "\n"


def users_csv(n_users: int = 30) -> str:
    return "USER_ID,MEMBERSHIP\n" + "".join(f"u{u},{'gold' if u % 3 == 0 else 'basic'}\n" for u in range(n_users))
