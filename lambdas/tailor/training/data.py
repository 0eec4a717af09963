"""Dataset snapshots → InteractionData: the solution's event filters and weights, the id vocabularies, item metadata."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tailor.filters.evaluate import MAX_INTERACTIONS_PER_EVENT_TYPE, newest_per_group
from tailor.snapshot import Column, Snapshot
from tailor.training.base import InteractionData, TrainingFailed

# Beyond Personalize: solutionConfig.algorithmHyperParameters entries read here, not by a recipe. The caller removes
# them before handing the rest to a recipe's parse_params (which refuses names it does not know).
EVENT_WEIGHTS_PARAM = "event_weights"
ALLOW_SMALL_DATA_PARAM = "allow_small_data"

MIN_INTERACTIONS = 1000
MIN_USERS_WITH_TWO = 25
SMALL_DATA_HINT = (
    f"(set solutionConfig.algorithmHyperParameters.{ALLOW_SMALL_DATA_PARAM}=true to train Tailor's "
    "popularity/metadata fallback instead)"
)

# Columns of the Items dataset that are not item features: the key, and the creation time kept apart as item_created.
_ITEM_KEY_COLUMNS = frozenset({"ITEM_ID", "CREATION_TIMESTAMP"})
_MAX_LISTED_TYPES = 10


@dataclass(frozen=True)
class EventOptions:
    """Which interactions train the model and how much each counts.

    Event types match exactly (case-sensitive), as EVENT_TYPE values are opaque strings in Personalize; a failure
    reason points out a match that differs only in case. Thresholds keep EVENT_VALUE >= threshold, and an event with
    no value never passes a threshold. Weights apply to the events that pass; a type not listed weighs 1.0, and a
    weight of 0 keeps the event (it still counts toward the minimums) but makes it count for nothing in a recipe.
    """

    event_type: str | None = None  # Solution.eventType: only events of this type are kept
    event_value_threshold: float | None = None  # solutionConfig.eventValueThreshold, for every event
    weights: Mapping[str, float] = field(default_factory=dict)  # event type -> weight (eventsConfig, event_weights)
    per_type_thresholds: Mapping[str, float] = field(default_factory=dict)  # eventsConfig: event type -> threshold


@dataclass(frozen=True)
class FilterStep:
    name: str  # how the failure reason names the filter, e.g. "eventType 'purchase'"
    kept: int
    of: int

    def describe(self) -> str:
        return f"{self.name} kept {self.kept:,} of {self.of:,}"


@dataclass(frozen=True)
class FilterReport:
    """What the event filters did, in the order they ran (each sees what the one before kept)."""

    total: int  # rows in the Interactions dataset
    steps: tuple[FilterStep, ...] = ()

    def describe(self) -> str:
        """'' when no filter is set, else '(filter: eventType 'purchase' kept 412 of 5,001)'."""
        if not self.steps:
            return ""
        label = "filter" if len(self.steps) == 1 else "filters"
        return f"({label}: {'; '.join(s.describe() for s in self.steps)})"


@dataclass(frozen=True, eq=False)
class BuiltInteractions(InteractionData):
    """InteractionData as build() returns it: it also carries the filter report, so that check_minimum can say which
    filter left too few events. It survives dataclasses.replace; anything else taking InteractionData ignores it."""

    filtering: FilterReport | None = None


# ---- solution options ----------------------------------------------------------------------------------------


def options_from_solution(solution_doc: Mapping[str, Any]) -> EventOptions:
    """The event options of a Solution wire document (eventType, solutionConfig.eventValueThreshold,
    solutionConfig.eventsConfig.eventParametersList and the event_weights hyper-parameter).

    Where eventsConfig and event_weights both weigh a type, event_weights wins: it is the more specific knob.
    TrainingFailed names a value that cannot be used."""
    event_type = solution_doc.get("eventType") or None
    if event_type is not None and not isinstance(event_type, str):
        raise TrainingFailed(f"eventType must be a string, got {event_type!r}")
    config = solution_doc.get("solutionConfig") or {}
    threshold = _parse_threshold(config.get("eventValueThreshold"))
    weights, per_type = _parse_events_config(config.get("eventsConfig"))
    params = config.get("algorithmHyperParameters") or {}
    if EVENT_WEIGHTS_PARAM in params:
        weights.update(parse_event_weights(params[EVENT_WEIGHTS_PARAM]))
    return EventOptions(event_type, threshold, weights, per_type)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_threshold(raw: object) -> float | None:
    # The wire sends a string; an empty one is treated as unset since it names no threshold.
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value = math.nan
    if isinstance(raw, (str, int, float)) and not isinstance(raw, bool):
        with contextlib.suppress(ValueError):
            value = float(raw)
    if not math.isfinite(value):
        raise TrainingFailed(f'solutionConfig.eventValueThreshold {raw!r} is not a number (e.g. "0.5")')
    return value


def _parse_events_config(raw: object) -> tuple[dict[str, float], dict[str, float]]:
    """(weights, per-type thresholds) from eventsConfig."""
    weights: dict[str, float] = {}
    thresholds: dict[str, float] = {}
    if not raw:
        return weights, thresholds
    where = "solutionConfig.eventsConfig.eventParametersList"
    entries = raw.get("eventParametersList") if isinstance(raw, Mapping) else None
    if entries is None:
        return weights, thresholds
    if not isinstance(entries, list):
        raise TrainingFailed(f"{where} must be a list")
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        at = f"{where}[{i}]"
        if not isinstance(entry, Mapping):
            raise TrainingFailed(f"{at} must be an object with eventType, eventValueThreshold and weight")
        event_type = entry.get("eventType")
        if not isinstance(event_type, str) or not event_type:
            raise TrainingFailed(f"{at} has no eventType")
        if event_type in seen:
            raise TrainingFailed(f"{where} lists eventType {event_type!r} more than once")
        seen.add(event_type)
        if entry.get("eventValueThreshold") is not None:
            value = entry["eventValueThreshold"]
            if not _is_number(value) or not math.isfinite(value):
                raise TrainingFailed(f"{at} ({event_type}) has eventValueThreshold {value!r}; expected a number")
            thresholds[event_type] = float(value)
        if entry.get("weight") is not None:
            value = entry["weight"]
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                raise TrainingFailed(f"{at} ({event_type}) has weight {value!r}; expected a number from 0 to 1")
            weights[event_type] = float(value)
    return weights, thresholds


def parse_event_weights(text: object) -> dict[str, float]:
    """The event_weights hyper-parameter, "purchase:5,click:1" (spaces around parts are allowed), as a dict.

    Weights are finite numbers >= 0 with no upper bound (unlike eventsConfig's 0..1). The last ':' of a part
    separates type and weight, so an event type may itself hold a ':'. An empty value sets no weights."""
    name = f"Hyper-parameter {EVENT_WEIGHTS_PARAM}"
    example = "e.g. purchase:5,click:1"
    if not isinstance(text, str):
        raise TrainingFailed(f"{name} must be a string ({example}), got {text!r}")
    weights: dict[str, float] = {}
    if not text.strip():
        return weights
    for part in text.split(","):
        event_type, sep, number = part.rpartition(":")
        event_type, number = event_type.strip(), number.strip()
        if not part.strip():
            raise TrainingFailed(f"{name} {text!r} has an empty part between commas ({example})")
        if not sep or not event_type or not number:
            raise TrainingFailed(f"{name}: {part.strip()!r} is not EVENT_TYPE:WEIGHT ({example})")
        try:
            weight = float(number)
        except ValueError:
            raise TrainingFailed(f"{name}: {part.strip()!r} has weight {number!r}, which is not a number") from None
        if not math.isfinite(weight) or weight < 0:
            raise TrainingFailed(f"{name}: {part.strip()!r} has weight {number!r}; weights are numbers >= 0")
        if event_type in weights:
            raise TrainingFailed(f"{name}: event type {event_type!r} is given more than once")
        weights[event_type] = weight
    return weights


def event_weight(options: EventOptions, event_type: str, value: float | None) -> float | None:
    """What one event counts for under a solution's options, exactly as `build` weighs an imported event: None when
    eventType or a threshold drops it, else its type's weight (1.0 unless configured). Serving weighs the events put
    since training with it, so a folded-in click counts what a trained one does."""
    if options.event_type is not None and event_type != options.event_type:
        return None
    number = math.nan if value is None else float(value)
    if options.event_value_threshold is not None and not number >= options.event_value_threshold:
        return None
    per_type = options.per_type_thresholds.get(event_type)
    if per_type is not None and not number >= per_type:
        return None
    return float(options.weights.get(event_type, 1.0))


# ---- building --------------------------------------------------------------------------------------------------


def build(
    interactions: Snapshot,
    items: Snapshot | None,
    users: Snapshot | None,
    options: EventOptions,
) -> BuiltInteractions:
    """The interaction data a recipe trains on.

    Vocabularies (each id string sorted by code point, so indices do not depend on how a snapshot encoded them):
    users are those with at least one kept event; items are those with kept events (indices 0..w-1), then the items
    only in the Items dataset (cold items, w..n-1). Users only in the Users dataset have no events and are left out;
    `users` is accepted so that callers pass every dataset and a later user-feature step needs no new signature.
    Events are sorted by (user, timestamp, row order in the snapshot). Works on dictionary codes throughout: no
    per-row Python strings.
    """
    del users  # not needed yet: see the docstring
    user_col = _required(interactions, "USER_ID")
    item_col = _required(interactions, "ITEM_ID")
    ts_col = _required(interactions, "TIMESTAMP")
    type_col = interactions.columns.get("EVENT_TYPE")
    value_col = interactions.columns.get("EVENT_VALUE")
    if type_col is not None and type_col.vocab is None:
        type_col = None  # a non-string EVENT_TYPE cannot be a reserved field; treat it as absent
    _check_columns(options, type_col, value_col)

    n = interactions.n_rows
    if n == 0:
        raise TrainingFailed("The Interactions dataset has no rows; import interactions before training")
    keep, report = _filter(n, user_col, item_col, type_col, value_col, options)
    rows = np.flatnonzero(keep)

    assert user_col.vocab is not None and item_col.vocab is not None
    user_ids, users_idx = _dense(user_col.vocab, user_col.codes[rows])
    warm_ids, items_idx = _dense(item_col.vocab, item_col.codes[rows])
    timestamps = ts_col.values[rows].astype(np.int64, copy=False)

    if type_col is not None:
        assert type_col.vocab is not None
        type_codes = type_col.codes[rows]
        weight_of_code = _by_code(type_col.vocab, options.weights, 1.0, np.float32)
        weights = weight_of_code[type_codes]  # a null type (code -1) takes the trailing 1.0
        type_names, type_idx = _dense(type_col.vocab, type_codes[type_codes >= 0])
        if len(type_names) > np.iinfo(np.int16).max:
            raise TrainingFailed(f"The Interactions dataset has {len(type_names):,} event types; at most 32,767 fit")
        event_types = np.full(len(rows), -1, dtype=np.int16)
        event_types[type_codes >= 0] = type_idx
        event_type_names = tuple(type_names.tolist())
    else:
        weights = np.ones(len(rows), dtype=np.float32)
        event_types = np.full(len(rows), -1, dtype=np.int16)
        event_type_names = ()

    # lexsort is stable, so equal (user, timestamp) keep their snapshot row order.
    order = np.lexsort((timestamps, users_idx))
    item_ids, item_features, item_created = _catalog(warm_ids, items)
    return BuiltInteractions(
        user_ids=user_ids,
        item_ids=item_ids,
        users=users_idx[order],
        items=items_idx[order],
        timestamps=timestamps[order],
        weights=weights[order],
        event_types=event_types[order],
        event_type_names=event_type_names,
        item_features=item_features,
        item_created=item_created,
        filtering=report,
    )


def _required(snap: Snapshot, name: str) -> Column:
    col = snap.columns.get(name)
    if col is None:
        raise TrainingFailed(f"The Interactions dataset has no {name} field")
    if name.endswith("_ID") and col.vocab is None:
        raise TrainingFailed(f"The Interactions dataset's {name} field must be a string")
    return col


def _check_columns(options: EventOptions, type_col: Column | None, value_col: Column | None) -> None:
    """A filter on a field the dataset lacks is a configuration mistake; say so rather than train on everything."""
    if type_col is None:
        if options.event_type is not None:
            raise TrainingFailed(
                f"The solution's eventType is {options.event_type!r}, but the Interactions dataset has no "
                "EVENT_TYPE field"
            )
        if options.weights or options.per_type_thresholds:
            raise TrainingFailed(
                "The solution weighs or filters events by type (eventsConfig or event_weights), but the "
                "Interactions dataset has no EVENT_TYPE field"
            )
    if value_col is None:
        if options.event_value_threshold is not None:
            raise TrainingFailed(
                f"The solution's eventValueThreshold is {options.event_value_threshold:g}, but the Interactions "
                "dataset has no EVENT_VALUE field"
            )
        if options.per_type_thresholds:
            raise TrainingFailed(
                "The solution's eventsConfig sets eventValueThreshold, but the Interactions dataset has no "
                "EVENT_VALUE field"
            )


def _filter(
    n: int,
    user_col: Column,
    item_col: Column,
    type_col: Column | None,
    value_col: Column | None,
    options: EventOptions,
) -> tuple[np.ndarray, FilterReport]:
    """The rows that pass, and what each filter kept. TrainingFailed names a filter that leaves nothing."""
    steps: list[FilterStep] = []
    keep = (user_col.codes >= 0) & (item_col.codes >= 0)
    kept = int(np.count_nonzero(keep))
    if kept < n:  # the schema forbids null ids, so this only guards against a malformed snapshot
        steps.append(FilterStep("rows with a USER_ID and an ITEM_ID", kept, n))

    def step(name: str, passes: np.ndarray, explain: Callable[[np.ndarray], str]) -> None:
        """Apply one filter; `explain` gets the rows it saw and says why none passed (only run on failure)."""
        nonlocal keep, kept
        seen, before = keep, kept
        keep = keep & passes
        kept = int(np.count_nonzero(keep))
        steps.append(FilterStep(name, kept, before))
        if kept == 0:
            raise TrainingFailed(f"No interactions are left to train on: {steps[-1].describe()}. {explain(seen)}")

    if options.event_type is not None:
        assert type_col is not None and type_col.vocab is not None
        matches = np.flatnonzero(type_col.vocab == options.event_type)
        passes = type_col.codes == matches[0] if len(matches) else np.zeros(n, dtype=bool)
        wanted = options.event_type
        step(f"eventType {wanted!r}", passes, lambda seen: _types_hint(type_col, seen, wanted))

    values: np.ndarray | None = None
    if value_col is not None and (options.event_value_threshold is not None or options.per_type_thresholds):
        values = value_col.values.astype(np.float64, copy=True)
        values[value_col.null_mask()] = np.nan  # NaN >= t is False: an event with no value never passes

    if options.event_value_threshold is not None:
        assert values is not None
        t = options.event_value_threshold
        step(f"eventValueThreshold {t:g}", values >= t, lambda seen: _values_hint(values, seen))

    if options.per_type_thresholds:
        assert type_col is not None and type_col.vocab is not None and values is not None
        limits = _by_code(type_col.vocab, options.per_type_thresholds, -np.inf, np.float64)
        if np.isfinite(limits).any():  # only when a listed type occurs in the data
            per_event = limits[type_col.codes]
            passes = np.isneginf(per_event) | (values >= per_event)
            listed = ", ".join(f"{k} >= {v:g}" for k, v in sorted(options.per_type_thresholds.items()))
            step(f"eventsConfig thresholds ({listed})", passes, lambda seen: _values_hint(values, seen))

    return keep, FilterReport(total=n, steps=tuple(steps))


def _types_hint(type_col: Column, keep: np.ndarray, wanted: str) -> str:
    assert type_col.vocab is not None
    codes = type_col.codes[keep]
    present = type_col.vocab[np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(type_col.vocab)))]
    if not len(present):
        return "The Interactions dataset has no EVENT_TYPE values."
    names = sorted(present.tolist())
    listed = ", ".join(repr(t) for t in names[:_MAX_LISTED_TYPES])
    more = f" and {len(names) - _MAX_LISTED_TYPES} more" if len(names) > _MAX_LISTED_TYPES else ""
    hint = f"The Interactions dataset's event types are {listed}{more}"
    near = [t for t in names if t.casefold() == wanted.casefold()]
    if near:
        hint += f"; event types match case-sensitively: did you mean {near[0]!r}?"
    return hint + "."


def _values_hint(values: np.ndarray, keep: np.ndarray) -> str:
    seen = values[keep]
    seen = seen[~np.isnan(seen)]
    if not len(seen):
        return "None of those events has an EVENT_VALUE, and an event with no value never passes a threshold."
    return f"The largest EVENT_VALUE among them is {seen.max():g}; events with no value never pass a threshold."


def _by_code(vocab: np.ndarray, by_name: Mapping[str, float], default: float, dtype: type) -> np.ndarray:
    """A lookup table over a string column's codes, with a trailing `default` that code -1 (null) reads."""
    table: np.ndarray = np.full(len(vocab) + 1, default, dtype=dtype)
    for name, value in by_name.items():
        table[np.flatnonzero(vocab == name)] = value
    return table


def _dense(vocab: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values `codes` use, sorted; each code's index among them as int32). `codes` has no -1.

    Sorts the vocabulary (one entry per distinct value) rather than the codes, and maps codes with a table: O(rows).
    """
    order = np.argsort(vocab, kind="stable")
    used = np.zeros(len(vocab), dtype=bool)
    used[codes] = True
    used_sorted = used[order]
    new_of_sorted = np.cumsum(used_sorted, dtype=np.int64) - 1
    new_of_code = np.empty(len(vocab), dtype=np.int32)
    new_of_code[order] = new_of_sorted
    return vocab[order][used_sorted], new_of_code[codes]


def _catalog(
    warm_ids: np.ndarray, items: Snapshot | None
) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """(item_ids: warm then cold, item_features, item_created) from the Items dataset."""
    if items is None or "ITEM_ID" not in items.columns or items.columns["ITEM_ID"].vocab is None:
        return warm_ids, {}, None
    rows, row_ids = id_rows(items.columns["ITEM_ID"])

    # warm_ids is sorted: a searchsorted hit is a warm item, the rest are cold.
    pos = np.searchsorted(warm_ids, row_ids)
    in_warm = pos < len(warm_ids)
    in_warm[in_warm] = warm_ids[pos[in_warm]] == row_ids[in_warm]
    cold_ids = np.sort(row_ids[~in_warm])
    item_ids = np.concatenate([warm_ids, cold_ids]) if len(cold_ids) else warm_ids
    index = np.where(in_warm, pos, len(warm_ids) + np.searchsorted(cold_ids, row_ids))

    n_items = len(item_ids)
    features: dict[str, np.ndarray] = {}
    for f in items.schema_fields:
        if f.name in _ITEM_KEY_COLUMNS:
            continue
        features[f.name] = aligned_values(items.columns[f.name], rows, index, n_items)
    created = None
    if "CREATION_TIMESTAMP" in items.columns:
        created = aligned_values(items.columns["CREATION_TIMESTAMP"], rows, index, n_items)
    return item_ids, features, created


def id_rows(id_col: Column) -> tuple[np.ndarray, np.ndarray]:
    """(rows, ids) of a string id column: one row per id, the last where an id repeats (an import upserts, so this
    only guards a hand-made snapshot), in row order; null ids left out."""
    assert id_col.vocab is not None
    codes = id_col.codes
    _, first_of_reversed = np.unique(codes[::-1], return_index=True)
    rows = np.sort(len(codes) - 1 - first_of_reversed)
    rows = rows[codes[rows] >= 0]
    return rows, id_col.vocab[codes[rows]]


def aligned_values(col: Column, rows: np.ndarray, index: np.ndarray, n_items: int) -> np.ndarray:
    """A column's values for `rows`, placed at item `index`: str with '' missing, else float64 with NaN missing.

    Booleans become 1.0 / 0.0; ints become float64 (exact up to 2**53)."""
    if col.vocab is not None:
        padded = np.append(col.vocab, np.array([""], dtype=np.str_))  # code -1 (null) reads the trailing ''
        out = np.full(n_items, "", dtype=padded.dtype)
        out[index] = padded[col.codes[rows]]
        return out
    values = col.values[rows].astype(np.float64)
    values[col.null_mask()[rows]] = np.nan
    numbers = np.full(n_items, np.nan, dtype=np.float64)
    numbers[index] = values
    return numbers


# ---- minimum data --------------------------------------------------------------------------------------------


def describe_shortfall(
    data: InteractionData,
    *,
    min_interactions: int = MIN_INTERACTIONS,
    min_users_with_two: int = MIN_USERS_WITH_TWO,
    hint: str = SMALL_DATA_HINT,
) -> str | None:
    """Why `data` is below Personalize's minimum for training (reference §4.6), or None when it is enough; `hint`
    ends the reason with what the caller can do about it."""
    problems: list[str] = []
    if data.n_events < min_interactions:
        report = data.filtering if isinstance(data, BuiltInteractions) else None
        detail = report.describe() if report is not None else ""
        problems.append(
            f"Training needs at least {min_interactions} interactions after the eventType/eventValueThreshold "
            f"filters; the dataset has {data.n_events:,}" + (f" {detail}" if detail else "")
        )
    counts = np.bincount(data.users, minlength=data.n_users) if data.n_events else np.zeros(0, dtype=np.int64)
    with_two = int(np.count_nonzero(counts >= 2))
    if with_two < min_users_with_two:
        needs = "It also needs" if problems else "Training needs"
        problems.append(f"{needs} at least {min_users_with_two} users with 2 or more interactions; found {with_two:,}")
    if not problems:
        return None
    return ". ".join(problems) + f". {hint}"


def check_minimum(
    data: InteractionData,
    *,
    min_interactions: int = MIN_INTERACTIONS,
    min_users_with_two: int = MIN_USERS_WITH_TWO,
) -> None:
    """TrainingFailed, saying what is missing, when `data` is below the minimum; the caller decides whether to
    call it (allow_small_data skips it)."""
    reason = describe_shortfall(data, min_interactions=min_interactions, min_users_with_two=min_users_with_two)
    if reason is not None:
        raise TrainingFailed(reason)


def recent_history(
    data: InteractionData, per_event_type: int = MAX_INTERACTIONS_PER_EVENT_TYPE
) -> dict[str, np.ndarray]:
    """Each user's newest `per_event_type` events of every event type, in time order, as CSR-style arrays over the
    user index (`indptr`, then per event `items`, `weights`, `timestamps`, `event_types`).

    The model artifact carries them, so serving reads a known user's history (what the model folds in, what
    interaction filters look at) with the model instead of from the dataset snapshot."""
    users = np.asarray(data.users, dtype=np.int64)
    types = np.asarray(data.event_types, dtype=np.int64)
    # Events are in (user, time) order; a group is one user's events of one type (types start at -1).
    kept = np.flatnonzero(newest_per_group(users * (int(types.max(initial=0)) + 2) + (types + 1), per_event_type))
    counts = np.bincount(users[kept], minlength=data.n_users)
    return {
        "indptr": np.r_[0, np.cumsum(counts)].astype(np.int64),
        "items": np.asarray(data.items, dtype=np.int32)[kept],
        "weights": np.asarray(data.weights, dtype=np.float32)[kept],
        "timestamps": np.asarray(data.timestamps, dtype=np.int64)[kept],
        "event_types": np.asarray(data.event_types, dtype=np.int16)[kept],
    }
