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


# The walkthrough's real-time story (seeds/000): user 1146992 clicks item 9132854 a few times and item 9386578,
# which other users take right after 9132854, moves up their ranking. Both items are mid-popular; p0 is the hit.
STORY_USER = "1146992"
STORY_CLICKED = "9132854"
STORY_RELATED = "9386578"
STORY_GENRES = ("Comedy", "Drama", "Action|Comedy", "Horror")


def story_item_ids(n_items: int = 30) -> list[str]:
    return [f"p{i}" for i in range(n_items - 2)] + [STORY_CLICKED, STORY_RELATED]


def story_interactions_csv(n_users: int = 80, per_user: int = 15, n_items: int = 30, seed: int = 7) -> str:
    """Users browse popular-skewed items; whoever takes STORY_CLICKED takes STORY_RELATED next. STORY_USER has
    touched neither. Event types alternate Click / Purchase; timestamps increase per user."""
    import numpy as np

    rng = np.random.default_rng(seed)
    items = story_item_ids(n_items)
    weights = 1.0 / (np.arange(n_items) + 1.0) ** 0.7
    weights[-2] = weights[6]  # the clicked item is about as popular as p6
    weights[-1] = 0.0  # the related item is only ever taken after the clicked one
    weights /= weights.sum()
    lines = ["USER_ID,ITEM_ID,TIMESTAMP,EVENT_TYPE,EVENT_VALUE"]
    for u in range(n_users):
        user = STORY_USER if u == 0 else f"u{u}"
        sequence: list[str] = []
        while len(sequence) < per_user:
            item = str(rng.choice(items, p=weights))
            if user == STORY_USER and item == STORY_CLICKED:
                continue
            sequence.append(item)
            if item == STORY_CLICKED:
                sequence.append(STORY_RELATED)
        for k, item in enumerate(sequence):
            event = "Purchase" if k % 4 == 3 else "Click"
            lines.append(f"{user},{item},{1_700_000_000 + u * 1000 + k * 10},{event},{k % 5 + 1}.0")
    return "\n".join(lines) + "\n"


def story_items_csv(n_items: int = 30) -> str:
    lines = ["ITEM_ID,GENRE,PRICE"]
    lines += [f"{item},{STORY_GENRES[i % 4]},{10 + i}" for i, item in enumerate(story_item_ids(n_items))]
    return "\n".join(lines) + "\n"
