"""Batch inference and batch segments: JSON lines in, one JSON line out per line in, in order.

Batch inference answers each line as GetRecommendations / GetPersonalizedRanking would answer the same request to a
campaign on the same solution version (same history, fold-in of streamed events, filters, exploration), but scores
the users of a block of lines together: user-personalization's EASE is one sparse x dense product over the block
(UserPersonalizationModel.score_batch) instead of a gather per request. Per-line work is only choosing the top items.

Output lines follow Personalize's documented examples (reference §4.8, batch-inference-job-output-examples):
`{"input":{...},"output":{"recommendedItems":[...],"scores":[...]},"error":null}`, compact, the input echoed as
given, `scores` only for recipes that score (rounded to 7 decimals, as the examples show), and for a line that
cannot be answered `{"input":...,"output":{"recommendedItems":[]},"error":"User error: ..."}` (the shape Personalize
writes for a bad line); a line that is not JSON is echoed as a string. Segment lines are
`{"input":{...},"output":{"recommendedUsers":[...]},"error":null}`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tailor.errors import InvalidInputException, ServiceError
from tailor.filters.evaluate import UserInteractions, item_mask, user_mask
from tailor.filters.expression import FilterExpression, parse_filter
from tailor.ports import Resource
from tailor.service import Service
from tailor.serving.catalog import Catalog, item_catalog, user_fields
from tailor.serving.model import History, ServedModel, served_model
from tailor.serving.recommend import (
    MAX_RESULTS,
    _best,
    _datasets,
    _exploration,
    _history,
    _probabilities,
    _raw_scores,
    _scoring_input,
    _Served,
    rank_input,
)
from tailor.snapshot import read_snapshot
from tailor.training.data import aligned_values, id_rows, options_from_solution

DEFAULT_RESULTS = 25
MAX_SEGMENT_USERS = 5_000_000  # Personalize's most users per segment
SCORE_DECIMALS = 7
BLOCK_CELLS = 2_000_000  # users x catalog items scored at once: 16 MB of float64 whatever the catalog size
MAX_BLOCK = 4096
USER_ERROR = "User error: "
MAX_LIST = MAX_RESULTS  # itemList, as GetPersonalizedRanking's inputList


class LineError(Exception):
    """A line that cannot be answered: its output line carries the message, the job goes on."""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def output_line(query: Any, output: Mapping[str, Any], error: str | None = None) -> str:
    return _dumps({"input": query, "output": output, "error": error})


def _string(query: Mapping[str, Any], key: str, required: bool) -> str | None:
    value = query.get(key)
    if value is None:
        if required:
            raise LineError(f"Required field {key} is missing")
        return None
    if not isinstance(value, str) or not value or len(value) > 256:
        raise LineError(f"{key} must be a non-empty string of at most 256 characters; got {_dumps(value)[:80]}")
    return value


def _filter_values(query: Mapping[str, Any]) -> dict[str, str] | None:
    values = query.get("filterValues")
    if values is None:
        return None
    if not isinstance(values, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
        raise LineError('filterValues must be an object of strings, e.g. {"GENRE": "\\"Comedy\\""}')
    return values


def parse_lines(lines: Iterable[str]) -> Iterator[tuple[Any, dict[str, Any] | None, str | None]]:
    """(what to echo as input, the parsed object or None, the error) for each non-blank line."""
    for raw in lines:
        text = raw.strip()
        if not text:
            continue
        try:
            query = json.loads(text)
        except ValueError as err:
            yield text, None, f"{USER_ERROR}The line is not valid JSON ({err})"
            continue
        if not isinstance(query, dict):
            yield query, None, f"{USER_ERROR}Each line must be a JSON object"
            continue
        yield query, query, None


def _filter(svc: Service, filter_arn: str | None) -> FilterExpression | None:
    if not filter_arn:
        return None
    found = svc.store.get(filter_arn)
    if found is None:
        raise InvalidInputException(f"Could not find filter with ARN {filter_arn}")
    return parse_filter(found.doc["filterExpression"])


# ---- batch inference -----------------------------------------------------------------------------------------------


@dataclass
class _Request:
    echo: Any
    user_id: str | None = None
    item_id: str | None = None
    item_list: list[str] | None = None
    filter_values: dict[str, str] | None = None
    history: History | None = None
    error: str | None = None


class BatchRecommender:
    """Answers batch inference lines for one solution version, block by block."""

    def __init__(self, svc: Service, version: Resource, *, num_results: int, filter_arn: str | None,
                 job_config: Mapping[str, Any] | None) -> None:
        self.svc = svc
        model: ServedModel = served_model(svc, version.internal["artifact"])
        # What the campaign code reads from a campaign: here the job's own exploration settings.
        stand_in = Resource(arn=version.arn, kind="batch-inference-job",
                            doc={"campaignConfig": {"itemExplorationConfig": dict(
                                (job_config or {}).get("itemExplorationConfig") or {})}})
        self.served = _Served(stand_in, model, version.doc["datasetGroupArn"], options_from_solution(version.doc))
        self.model = model
        self.kind = model.recipe_type
        self.k = num_results
        self.datasets = _datasets(svc, self.served.group_arn)
        self.catalog: Catalog = item_catalog(svc, model, self.datasets.get("ITEMS"))
        self.expression = _filter(svc, filter_arn)
        self.rng = np.random.default_rng()
        self._popular: np.ndarray | None = None
        self._static_masks: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
        # A filter that reads neither the user's events nor the user's fields gives every line with the same
        # filterValues the same mask: it is computed once per distinct filterValues.
        self._static_filter = self.expression is not None and all(
            dataset == "Items" for dataset, _ in self.expression.fields
        )

    def answer(self, lines: Iterable[str]) -> Iterator[str]:
        """One output line per non-blank input line, in order."""
        block: list[_Request] = []
        width = max(1, min(MAX_BLOCK, BLOCK_CELLS // max(self.catalog.n_items, 1)))
        for echo, query, error in parse_lines(lines):
            block.append(self._request(echo, query, error))
            if len(block) >= width:
                yield from self._answer_block(block)
                block = []
        if block:
            yield from self._answer_block(block)

    def _request(self, echo: Any, query: dict[str, Any] | None, error: str | None) -> _Request:
        request = _Request(echo=echo, error=error)
        if query is None:
            return request
        try:
            request.filter_values = _filter_values(query)
            if self.kind in ("USER_PERSONALIZATION", "PERSONALIZED_RANKING"):
                request.user_id = _string(query, "userId", required=True)
            elif self.kind == "POPULAR_ITEMS":
                request.user_id = _string(query, "userId", required=False)
            else:
                request.item_id = _string(query, "itemId", required=True)
            if self.kind == "PERSONALIZED_RANKING":
                items = query.get("itemList")
                if not isinstance(items, list) or not items or not all(isinstance(i, str) for i in items):
                    raise LineError("itemList must be a non-empty list of item ids (strings)")
                if len(items) > MAX_LIST:
                    raise LineError(f"itemList can hold at most {MAX_LIST} items; got {len(items)}")
                request.item_list = list(dict.fromkeys(items))
            if request.user_id is not None and (self.kind != "POPULAR_ITEMS" or self.expression is not None):
                request.history = _history(self.svc, self.served, self.catalog, request.user_id)
        except LineError as err:
            request.error = f"{USER_ERROR}{err}"
        return request

    def _answer_block(self, block: list[_Request]) -> Iterator[str]:
        live = [r for r in block if r.error is None]
        raw = self._raw_block(live)
        for request in block:
            if request.error is None:
                try:
                    output = self._output(request, raw[id(request)])
                except (LineError, ServiceError) as err:
                    message = err.message if isinstance(err, ServiceError) else str(err)
                    request.error = f"{USER_ERROR}{message}"
            if request.error is not None:
                yield output_line(request.echo, {"recommendedItems": []}, request.error)
            else:
                yield output_line(request.echo, output)

    def _raw_block(self, requests: list[_Request]) -> dict[int, np.ndarray]:
        """Each request's raw scores over the catalog (the same as the runtime's), the users of the block at once."""
        if not requests:
            return {}
        if self.kind == "POPULAR_ITEMS":
            if self._popular is None:
                self._popular = _raw_scores(self.served, self.catalog, np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
            return {id(r): self._popular for r in requests}
        if self.kind == "RELATED_ITEMS":
            found = {}
            for r in requests:
                current = self.catalog.index.get(str(r.item_id))
                known = current is not None and current < self.catalog.n_model
                scoring = (np.array([current] if known else [], dtype=np.int64), np.ones(int(known)),
                           np.zeros(int(known)))
                found[id(r)] = _raw_scores(self.served, self.catalog, *scoring)
            return found
        inputs = [_scoring_input(r.history or History.empty(), self.catalog.n_model) for r in requests]
        score_batch = getattr(self.model.model, "score_batch", None)
        if score_batch is None:
            return {id(r): _raw_scores(self.served, self.catalog, *x) for r, x in zip(requests, inputs, strict=True)}
        matrix = np.asarray(score_batch(inputs), dtype=np.float64)
        # As the runtime pads a row: items the model does not know, and non-finite scores, score like its lowest item.
        finite = np.isfinite(matrix)
        floors = np.where(finite, matrix, np.inf).min(axis=1)
        floors[~np.isfinite(floors)] = 0.0
        if not finite.all():
            matrix = np.where(finite, matrix, floors[:, None])
        extra = self.catalog.n_items - self.catalog.n_model
        if extra:
            matrix = np.hstack([matrix, np.repeat(floors[:, None], extra, axis=1)])
        return {id(r): matrix[position] for position, r in enumerate(requests)}

    def _mask(self, request: _Request, current: int | None) -> np.ndarray | None:
        if self.expression is None:
            return None
        key = tuple(sorted((request.filter_values or {}).items()))
        if self._static_filter and key in self._static_masks:
            return self._static_masks[key]
        history = request.history
        user = None
        if request.user_id and any(part.user_conditions for part in self.expression.parts):
            user = user_fields(self.svc, self.datasets.get("USERS"), request.user_id)
        mask = item_mask(
            self.expression,
            n_items=self.catalog.n_items,
            item_columns=self.catalog.filter_columns,
            history=UserInteractions(items=history.items, event_types=history.event_types)
            if history is not None and len(history) else None,
            user=user,
            current_item=current,
            filter_values=request.filter_values,
        )
        if self._static_filter:
            self._static_masks[key] = mask
        return mask

    def _output(self, request: _Request, raw: np.ndarray) -> dict[str, Any]:
        catalog = self.catalog
        if self.kind == "PERSONALIZED_RANKING":
            return self._ranking(request, raw)
        current = catalog.index.get(str(request.item_id)) if self.kind == "RELATED_ITEMS" else None
        allowed = np.ones(catalog.n_items, dtype=bool)
        if current is not None:
            allowed[current] = False  # an item is not its own related item
        mask = self._mask(request, current)
        if mask is not None:
            allowed &= mask
        chosen = _best(raw, allowed, self.k)
        explored = _exploration(self.served, catalog, allowed, chosen, self.k, self.rng)
        if len(explored):
            kept = chosen[: len(chosen) - len(explored)] if len(chosen) + len(explored) > self.k else chosen
            chosen = np.concatenate([kept, explored])
            chosen = chosen[np.lexsort((chosen, -raw[chosen]))]
        output: dict[str, Any] = {"recommendedItems": [str(catalog.item_ids[i]) for i in chosen.tolist()]}
        if self.model.scored:
            probabilities = _probabilities(raw, self.model.temperature)
            output["scores"] = [round(float(probabilities[i]), SCORE_DECIMALS) for i in chosen.tolist()]
        return output

    def _ranking(self, request: _Request, raw: np.ndarray) -> dict[str, Any]:
        """As GetPersonalizedRanking: the list ordered by score, scores a softmax over the list, items the model does
        not know last and unscored; the filter removes items it excludes."""
        mask = self._mask(request, None)
        filtered = (mask, self.expression) if mask is not None and self.expression is not None else None
        order, unranked, probabilities = rank_input(self.catalog, raw, request.item_list or [], filtered,
                                                    self.model.temperature)
        return {
            "recommendedItems": [str(self.catalog.item_ids[i]) for i in order.tolist()] + unranked,
            "scores": [round(float(p), SCORE_DECIMALS) for p in probabilities.tolist()],
        }


# ---- batch segments ------------------------------------------------------------------------------------------------


class BatchSegmenter:
    """Answers batch segment lines (Item-Affinity: {"itemId"}, Item-Attribute-Affinity: {"itemAttributes"})."""

    def __init__(self, svc: Service, version: Resource, *, num_results: int, filter_arn: str | None) -> None:
        model = served_model(svc, version.internal["artifact"])
        self.model = model
        self.segments: Any = model.model  # ItemAffinityModel or ItemAttributeAffinityModel
        self.recipe = model.recipe
        self.k = num_results
        self.expression = _filter(svc, filter_arn)
        self.user_ids = np.array(sorted(model.user_index, key=model.user_index.__getitem__), dtype=np.str_)
        self.svc = svc
        self.group_arn = version.doc["datasetGroupArn"]
        self._masks: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
        self._columns: dict[str, np.ndarray] | None = None

    def answer(self, lines: Iterable[str]) -> Iterator[str]:
        for echo, query, error in parse_lines(lines):
            if query is not None:
                try:
                    users = self._segment(query)
                except LineError as err:
                    error = f"{USER_ERROR}{err}"
                except ServiceError as err:
                    error = f"{USER_ERROR}{err.message}"
            if error is not None:
                yield output_line(echo, {"recommendedUsers": []}, error)
            else:
                yield output_line(echo, {"recommendedUsers": users})

    def _segment(self, query: Mapping[str, Any]) -> list[str]:
        n_users = len(self.user_ids)
        mask = self._user_mask(_filter_values(query))
        # Ask for enough users that the filter still leaves k (the filter is applied after ranking).
        wanted = n_users if mask is not None else self.k
        if self.recipe == "aws-item-attribute-affinity":
            expression = _string(query, "itemAttributes", required=True)
            try:
                users, _ = self.segments.users_for_query(expression, wanted)
            except ValueError as err:
                raise LineError(str(err)) from None
        else:
            item_id = _string(query, "itemId", required=True)
            index = self.model.item_index.get(str(item_id))
            if index is None:
                raise LineError(f"Item {item_id} is not in the solution version's training data")
            users, _ = self.segments.users_for_items(np.array([index]), wanted)
        if mask is not None:
            users = users[mask[users]][: self.k]
        return [str(u) for u in self.user_ids[users].tolist()]

    def _user_mask(self, filter_values: dict[str, str] | None) -> np.ndarray | None:
        if self.expression is None:
            return None
        key = tuple(sorted((filter_values or {}).items()))
        if key not in self._masks:
            self._masks[key] = user_mask(
                self.expression,
                n_users=len(self.user_ids),
                user_columns=self._user_columns(),
                user_event_types=self._user_event_types(),
                filter_values=filter_values,
            )
        return self._masks[key]

    def _user_columns(self) -> dict[str, np.ndarray]:
        """The Users fields of every user the model knows, as a filter reads them: the Users dataset as imported,
        overlaid with what PutUsers stored (read once per job, not per user)."""
        if self._columns is not None:
            return self._columns
        users = _datasets(self.svc, self.group_arn).get("USERS")
        n = len(self.user_ids)
        columns: dict[str, np.ndarray] = {}
        snap_uri = users.internal.get("snapshot") if users is not None else None
        if snap_uri:
            snap = read_snapshot(self.svc.blobs, snap_uri)
            rows, ids = id_rows(snap.columns["USER_ID"])
            index = np.fromiter((self.model.user_index.get(i, -1) for i in ids.tolist()), dtype=np.int64,
                                count=len(ids))
            known = index >= 0
            columns = {f.name: aligned_values(snap.columns[f.name], rows[known], index[known], n)
                       for f in snap.schema_fields if f.name != "USER_ID"}
        if users is not None:
            for record in self.svc.events.records_since(users.arn, 0.0):
                position = self.model.user_index.get(record.record_id)
                if position is None:
                    continue
                for name, value in record.properties.items():
                    if name not in columns:
                        columns[name] = (np.full(n, "", dtype=object) if isinstance(value, str)
                                         else np.full(n, math.nan))
                    column = columns[name]
                    if column.dtype.kind == "U":
                        column = columns[name] = column.astype(object)
                    column[position] = ("" if value is None else str(value)) if column.dtype == object else (
                        math.nan if value is None or isinstance(value, str) else float(value))
        self._columns = {name: c.astype(np.str_) if c.dtype == object else c for name, c in columns.items()}
        return self._columns

    def _user_event_types(self) -> list[frozenset[str]]:
        return [frozenset(self.model.history(u).event_types.tolist()) for u in self.user_ids.tolist()]
