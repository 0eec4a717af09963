"""USER_SEGMENTATION recipes: aws-item-affinity and aws-item-attribute-affinity, built on user-personalization.

Personalize trains these recipes like any other solution version but uses them only through batch segment jobs: each
input line names an item (`{"itemId": "105"}`) or an item-attribute query
(`{"itemAttributes": "ITEMS.genres = \\"Comedy\\" AND ITEMS.genres = \\"Action\\""}`) and each output line lists the
users most likely to interact with it (`recommendedUsers`, reference §4.8). The DG pages for both recipes
(item-affinity-recipe, item-attribute-affinity-recipe) describe them as predicting the users most likely to interact
with each item (or items with the attribute); no hyper-parameter table for them was found, so Tailor's versions take
user-personalization's hyper-parameters unchanged (lambda, recency_half_life, recency_mask, sequential_weight,
sequential_decay, bptt, popularity_weight, ease_max_items, max_successors, hidden_dimension; see
user_personalization.py) and train its model.

A user's affinity for item j is exactly what user-personalization's `score` gives j for that user's training history:
EASE over the recency-weighted history, plus the decayed transition term over the newest `bptt` events, plus the
popularity term. Because that score is linear in the history, the model keeps two sparse user x item matrices built at
fit time,

* H[u, e]: the user's recency-weighted history over EASE's items (each item at its strongest event, as in `score`),
* S[u, i]: the decay-weighted transition steps of the user's newest `bptt` events,

and scores every user for a set of items with two sparse mat-vecs, no per-user loop:
affinity = H @ B[:, items]·w + sequential_weight · S @ T[:, items]·w + popularity_weight · popularity[items]·w.
Item-Affinity sums over its (one) item; Item-Attribute-Affinity averages over the items matching the query.

Users who already interacted with the item are kept in its segment: EASE's diagonal is 0, so a past interaction adds
nothing by itself, and a user who liked an item and its neighbours is a likely future buyer (repeat purchases, sequels,
re-watching); filtering them out is a batch segment filter's job, as on Personalize. Ties (for example every user on a
cold item, which has no events and so no affinity) are broken by the user's activity (their weighted event count),
then by user index, so segments are deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from tailor.training.base import InteractionData
from tailor.training.recipes.user_personalization import (
    UserPersonalization,
    UserPersonalizationModel,
    user_sequences,
)

# Above this many items a query's EASE column sum is one dense mat-vec over B instead of a gather of its columns.
_GATHER_LIMIT = 256
_FEATURE_PREFIX = "item_feature_"


class ItemAffinityModel:
    """User-personalization's model plus each training user's history as sparse matrices; see the module docstring."""

    def __init__(
        self,
        base: UserPersonalizationModel,
        *,
        history: sp.csr_array,  # H: n_users x len(base.ease_items)
        steps: sp.csr_array,  # S: n_users x n_items
        activity: np.ndarray,  # per user: summed event weights, the tie-breaker
    ) -> None:
        self.base = base
        self.history = sp.csr_array(history, dtype=np.float64)
        self.steps = sp.csr_array(steps, dtype=np.float64)
        self.activity = np.asarray(activity, dtype=np.float64)

    @property
    def n_users(self) -> int:
        return int(self.history.shape[0])

    @property
    def n_items(self) -> int:
        return self.base.n_items

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        return self.base.score(history_items, history_weights, history_times)

    def affinity(self, items: np.ndarray, item_weights: np.ndarray) -> np.ndarray:
        """Every training user's weighted sum of scores over `items` (float64, length n_users)."""
        items = np.asarray(items, dtype=np.int64)
        w = np.asarray(item_weights, dtype=np.float64)
        if items.shape != w.shape or items.ndim != 1:
            raise ValueError("items and item_weights must be 1-d arrays of the same length")
        if len(items) and (items.min() < 0 or items.max() >= self.n_items):
            raise ValueError(f"Item indices must lie in [0, {self.n_items}); got {items.min()}..{items.max()}")
        base = self.base
        result = np.full(self.n_users, float(base.popularity_weight * (base.popularity[items] @ w)))
        position = base.ease_position[items]
        covered = position >= 0
        if covered.any() and self.history.nnz:
            if covered.sum() <= _GATHER_LIMIT:
                column = base.ease_b[:, position[covered]].astype(np.float64) @ w[covered]
            else:
                dense = np.zeros(len(base.ease_items))
                np.add.at(dense, position[covered], w[covered])
                column = base.ease_b.astype(np.float64, copy=False) @ dense
            result += self.history @ column
        if base.sequential_weight > 0 and self.steps.nnz:
            dense = np.zeros(self.n_items)
            np.add.at(dense, items, w)
            result += base.sequential_weight * (self.steps @ (base.transitions @ dense))
        return result

    def top_users(self, affinity: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The n users of highest affinity, best first (ties: more active first, then lower index), and their
        affinities."""
        if n <= 0 or self.n_users == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if n < self.n_users:
            # Every user strictly above the n-th best value, plus enough of those tied with it.
            threshold = np.partition(affinity, self.n_users - n)[self.n_users - n]
            candidates = np.flatnonzero(affinity >= threshold)
        else:
            candidates = np.arange(self.n_users)
        order = np.lexsort((candidates, -self.activity[candidates], -affinity[candidates]))[:n]
        users = candidates[order].astype(np.int64)
        return users, affinity[users]

    def users_for_items(self, item_indices: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Item-Affinity: the n users with the highest summed score over the given item(s), and those scores."""
        items = np.unique(np.asarray(item_indices, dtype=np.int64))
        if len(items) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return self.top_users(self.affinity(items, np.ones(len(items))), n)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            **self.base.arrays(),
            "n_users": np.array(self.n_users, dtype=np.int64),
            "h_indptr": self.history.indptr,
            "h_indices": self.history.indices,
            "h_data": self.history.data,
            "s_indptr": self.steps.indptr,
            "s_indices": self.steps.indices,
            "s_data": self.steps.data,
            "activity": self.activity,
        }


class ItemAttributeAffinityModel(ItemAffinityModel):
    """ItemAffinityModel plus the catalog's item metadata, so a query can be answered from the artifact alone."""

    def __init__(
        self,
        base: UserPersonalizationModel,
        *,
        history: sp.csr_array,
        steps: sp.csr_array,
        activity: np.ndarray,
        item_features: Mapping[str, np.ndarray],
    ) -> None:
        super().__init__(base, history=history, steps=steps, activity=activity)
        self.item_features = {name: np.asarray(values) for name, values in item_features.items()}

    def users_for_attributes(self, item_mask: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Item-Attribute-Affinity: the n users with the highest mean score over the items in `item_mask`."""
        mask = np.asarray(item_mask, dtype=bool)
        if mask.shape != (self.n_items,):
            raise ValueError(f"item_mask must be a boolean array of length {self.n_items}; got shape {mask.shape}")
        items = np.flatnonzero(mask)
        if len(items) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return self.top_users(self.affinity(items, np.full(len(items), 1.0 / len(items))), n)

    def users_for_query(self, expression: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        """users_for_attributes over the items an `itemAttributes` expression matches (ValueError if it is bad)."""
        return self.users_for_attributes(parse_item_attributes(expression, self.item_features, self.n_items), n)

    def arrays(self) -> dict[str, np.ndarray]:
        features = {_FEATURE_PREFIX + name: values for name, values in self.item_features.items()}
        return {**super().arrays(), **features}


class ItemAffinity:
    """aws-item-affinity: user-personalization's model, read user-wise (see the module docstring)."""

    name: ClassVar[str] = "aws-item-affinity"
    defaults: ClassVar[dict[str, str]] = dict(UserPersonalization.defaults)

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> ItemAffinityModel:
        base = UserPersonalization().fit(data, params)
        return ItemAffinityModel(base, **_user_matrices(data, base))

    def load(self, arrays: Mapping[str, np.ndarray]) -> ItemAffinityModel:
        return ItemAffinityModel(UserPersonalization().load(arrays), **_load_matrices(arrays))


class ItemAttributeAffinity:
    """aws-item-attribute-affinity: aws-item-affinity's model, averaged over the items an attribute query matches."""

    name: ClassVar[str] = "aws-item-attribute-affinity"
    defaults: ClassVar[dict[str, str]] = dict(UserPersonalization.defaults)

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> ItemAttributeAffinityModel:
        base = UserPersonalization().fit(data, params)
        features = {
            name: np.asarray(values)
            for name, values in data.item_features.items()
            if len(values) == data.n_items and np.asarray(values).dtype.kind in "USf"
        }
        return ItemAttributeAffinityModel(base, **_user_matrices(data, base), item_features=features)

    def load(self, arrays: Mapping[str, np.ndarray]) -> ItemAttributeAffinityModel:
        features = {
            name.removeprefix(_FEATURE_PREFIX): np.asarray(arrays[name])
            for name in arrays
            if name.startswith(_FEATURE_PREFIX)
        }
        return ItemAttributeAffinityModel(
            UserPersonalization().load(arrays), **_load_matrices(arrays), item_features=features
        )


def _user_matrices(data: InteractionData, base: UserPersonalizationModel) -> dict[str, sp.csr_array | np.ndarray]:
    """H, S and activity for every training user, matching what `base.score` reads from that user's history."""
    n_users, n_items, n_ease = data.n_users, data.n_items, len(base.ease_items)
    # Each user's sequence of distinct items (first event per item, heaviest weight), as score reads a history.
    users, items, weights = user_sequences(data, np.asarray(data.weights, dtype=np.float64))
    users, items = users.astype(np.int64), items.astype(np.int64)
    # Age in distinct items, 0 = the user's newest, as score counts it.
    last = np.cumsum(np.bincount(users, minlength=n_users)) - 1
    age = (last[users] - np.arange(len(users))).astype(np.float64)

    recency = weights * 0.5 ** (age / base.half_life) if base.half_life > 0 else weights
    position = base.ease_position[items]
    covered = position >= 0
    key = users[covered] * max(n_ease, 1) + position[covered]
    if len(key):
        by_key = np.argsort(key, kind="stable")
        key, value = key[by_key], recency[covered][by_key]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        data_h, rows_h, cols_h = np.maximum.reduceat(value, starts), key[starts] // n_ease, key[starts] % n_ease
    else:
        data_h, rows_h, cols_h = np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    history = sp.csr_array((data_h, (rows_h, cols_h)), shape=(n_users, n_ease))

    recent = age < base.bptt
    if base.sequential_weight > 0:
        step = weights[recent] * base.sequential_read_decay ** age[recent]
        steps = sp.csr_array((step, (users[recent], items[recent])), shape=(n_users, n_items))
        steps.sum_duplicates()
    else:
        steps = sp.csr_array((n_users, n_items), dtype=np.float64)
    activity = np.bincount(
        np.asarray(data.users), weights=np.asarray(data.weights, dtype=np.float64), minlength=n_users
    )
    return {"history": history, "steps": steps, "activity": activity}


def _load_matrices(arrays: Mapping[str, np.ndarray]) -> dict[str, sp.csr_array | np.ndarray]:
    n_users, n_items = int(arrays["n_users"]), int(arrays["n_items"])
    n_ease = len(arrays["ease_items"])
    history = sp.csr_array((arrays["h_data"], arrays["h_indices"], arrays["h_indptr"]), shape=(n_users, n_ease))
    steps = sp.csr_array((arrays["s_data"], arrays["s_indices"], arrays["s_indptr"]), shape=(n_users, n_items))
    return {"history": history, "steps": steps, "activity": np.asarray(arrays["activity"])}


# ---- the itemAttributes expression ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>[()=])
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)
    )""",
    re.VERBOSE,
)


def parse_item_attributes(
    expression: str, data_or_features: InteractionData | Mapping[str, np.ndarray], n_items: int | None = None
) -> np.ndarray:
    """The items an Item-Attribute-Affinity query matches, as a bool mask over the catalog.

    Grammar: `term := ITEMS.<FIELD> = "<value>"`, terms joined by AND / OR (keywords in any case; AND binds tighter
    than OR; parentheses group). A categorical field matches when any of its '|'-separated values equals the value,
    compared case-insensitively as Tailor's metadata features are; a numeric field matches when it equals the value
    read as a number. Field names are matched exactly, else case-insensitively. Raises ValueError naming the problem
    and its position."""
    if isinstance(data_or_features, InteractionData):
        features: Mapping[str, np.ndarray] = data_or_features.item_features
        n_items = data_or_features.n_items
    else:
        features = data_or_features
    if n_items is None:
        lengths = {len(v) for v in features.values()}
        n_items = lengths.pop() if len(lengths) == 1 else 0
    tokens = _tokenize(expression)
    parser = _Parser(expression, tokens, features, int(n_items))
    mask = parser.disjunction()
    if parser.at < len(tokens):
        _, text, where = tokens[parser.at]
        raise ValueError(f"Unexpected {text!r} at position {where} in itemAttributes {expression!r}")
    return mask


def _tokenize(expression: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    at = 0
    while at < len(expression):
        if expression[at:].strip() == "":
            break
        match = _TOKEN.match(expression, at)
        if match is None or match.lastgroup is None:
            where = at + len(expression[at:]) - len(expression[at:].lstrip())
            raise ValueError(f"Unexpected character {expression[where]!r} at position {where} in itemAttributes")
        tokens.append((match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        at = match.end()
    if not tokens:
        raise ValueError('itemAttributes is empty; expected ITEMS.<field> = "<value>" terms joined by AND / OR')
    return tokens


class _Parser:
    """Recursive descent over the tokens: disjunction := conjunction (OR conjunction)*, conjunction := atom (AND
    atom)*, atom := '(' disjunction ')' | term."""

    def __init__(
        self, expression: str, tokens: list[tuple[str, str, int]], features: Mapping[str, np.ndarray], n_items: int
    ) -> None:
        self.expression, self.tokens, self.features, self.n_items = expression, tokens, features, n_items
        self.at = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token[0] == "word" and token[1].upper() == word:
            self.at += 1
            return True
        return False

    def _expect(self, what: str) -> tuple[str, str, int]:
        token = self._peek()
        if token is None:
            raise ValueError(f"itemAttributes {self.expression!r} ends where {what} was expected")
        self.at += 1
        return token

    def _error(self, token: tuple[str, str, int], what: str) -> ValueError:
        return ValueError(
            f"Expected {what} at position {token[2]} in itemAttributes {self.expression!r}; got {token[1]!r}"
        )

    def disjunction(self) -> np.ndarray:
        mask = self.conjunction()
        while self._keyword("OR"):
            mask = mask | self.conjunction()
        return mask

    def conjunction(self) -> np.ndarray:
        mask = self.atom()
        while self._keyword("AND"):
            mask = mask & self.atom()
        return mask

    def atom(self) -> np.ndarray:
        token = self._expect('ITEMS.<field> or "("')
        if token[:2] == ("op", "("):
            mask = self.disjunction()
            close = self._expect('")"')
            if close[:2] != ("op", ")"):
                raise self._error(close, '")"')
            return mask
        if token[0] != "word" or not token[1].upper().startswith("ITEMS."):
            raise self._error(token, 'ITEMS.<field> or "("')
        values = self._field(token)
        equals = self._expect('"="')
        if equals[:2] != ("op", "="):
            raise self._error(equals, '"="')
        literal = self._expect("a double-quoted value")
        if literal[0] != "string":
            raise self._error(literal, "a double-quoted value")
        return _matches(values, re.sub(r"\\(.)", r"\1", literal[1][1:-1]), token[1], self.expression)

    def _field(self, token: tuple[str, str, int]) -> np.ndarray:
        field = token[1].split(".", 1)[1]
        if field in self.features:
            return np.asarray(self.features[field])
        folded = [name for name in self.features if name.lower() == field.lower()]
        if len(folded) == 1:
            return np.asarray(self.features[folded[0]])
        known = ", ".join(sorted(self.features)) or "none"
        raise ValueError(
            f"Unknown item field {field!r} at position {token[2]} in itemAttributes {self.expression!r}; "
            f"the Items dataset has: {known}"
        )


def _matches(values: np.ndarray, value: str, field: str, expression: str) -> np.ndarray:
    if values.dtype.kind == "f":
        try:
            number = float(value)
        except ValueError:
            raise ValueError(
                f"{field} is numeric; {value!r} in itemAttributes {expression!r} is not a number"
            ) from None
        return np.asarray(values == number, dtype=bool)
    wanted = value.strip().lower()
    # Split each distinct string once: catalogs repeat a few categories many times.
    distinct, inverse = np.unique(values.astype(str), return_inverse=True)
    hit = np.array([wanted in {part.strip().lower() for part in text.split("|")} for text in distinct.tolist()], bool)
    return hit[inverse.ravel()] if len(distinct) else np.zeros(len(values), dtype=bool)
