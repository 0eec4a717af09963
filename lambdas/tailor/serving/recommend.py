"""GetRecommendations and GetPersonalizedRanking: a campaign's model, the user's events folded in, filters, exploration,
promotions, scores and (opt-in) explanations.

How a request is answered:

* The campaign's current solution version is served (UpdateCampaign switches it only once the new one is ready).
  Its artifact is loaded once per process (tailor.serving.model).
* History: the user's events the model was trained with, then the events put with PutEvents since (the newest
  LIVE_EVENTS), oldest first, each weighed as training weighs it (the solution's eventType, thresholds and event
  weights). A user the model has never seen is a cold user: an empty history, which every recipe answers with its
  popular items. Anonymous events put under a sessionId count for a request whose userId is that sessionId.
* Scores (reference §4.9): scoring recipes report a softmax over the whole catalog, exp(raw / T) / Z, with the
  temperature T calibrated at training on held-out users, so a full-catalog request's scores sum to 1.
  GetPersonalizedRanking normalises over the input list. SIMS, similar-items, popularity-count and trending-now
  report no score, as in Personalize.
* Filters apply to the current catalog (items imported or put after training included) and see the live events.
* Exploration (aws-user-personalization, itemExplorationConfig): up to explorationWeight x numResults / 2 slots go to
  cold items (no training events, created within explorationItemAgeCutOff days when the creation time is known),
  drawn at random among those the filter allows; they keep their own (low) scores, so the list stays sorted.
* Promotions: percentPromotedItems of the slots go to the best items passing the promotion's filter (the request
  filter does not apply to them), placed at random positions but in score order among themselves, tagged with
  `promotionName`, as Personalize documents.
* Explanations (beyond Personalize): with context {"TAILOR_EXPLAIN": "true"} every item carries `reason`: the recent
  items whose events contributed most to its score (measured by scoring without each of them), or "Exploration",
  "Promoted item", "Popular item". Without it `reason` is set only for exploration, promotion and popularity
  fallback, in Personalize's own words. `reason` is a modelled PredictedItem member, so stock clients read it.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tailor.errors import InvalidInputException, ResourceNotFoundException
from tailor.filters.evaluate import UserInteractions, item_mask, number_text
from tailor.filters.expression import FilterExpression, parse_filter
from tailor.operations import common
from tailor.ports import Resource
from tailor.service import Service
from tailor.serving.catalog import Catalog, item_catalog, user_fields
from tailor.serving.model import History, ServedModel, served_model
from tailor.training.data import EventOptions, event_weight, options_from_solution
from tailor.training.recipes.related import NEIGHBOUR_TIER

LIVE_EVENTS = 500  # the user's newest events read from the events store per request
DEFAULT_RESULTS = 25
MAX_RESULTS = 500
MAX_RESULTS_WITH_METADATA = 50
EXPLAIN_KEY = "TAILOR_EXPLAIN"
EXPLAINED_HISTORY = 10  # newest distinct items an explanation measures
EXPLORING_RECIPES = frozenset({"aws-user-personalization", "aws-hrnn-coldstart"})
DEFAULT_EXPLORATION_WEIGHT = 0.3
DEFAULT_EXPLORATION_AGE_DAYS = 30.0
_TRUE = frozenset({"true", "1", "yes", "on"})

REASON_EXPLORATION = "Exploration"
REASON_PROMOTED = "Promoted item"
REASON_POPULAR = "Popular item"


@dataclass(frozen=True, eq=False)
class _Served:
    campaign: Resource
    model: ServedModel
    group_arn: str
    options: EventOptions
    # A recommender's automatic filter: the items the user has events of this type with are not recommended.
    excluded_event_type: str | None = None

    @property
    def config(self) -> Mapping[str, Any]:
        """campaignConfig, or a recommender's recommenderConfig (`campaign` is then the recommender): both hold
        itemExplorationConfig and enableMetadataWithRecommendations."""
        doc = self.campaign.doc
        return doc.get("campaignConfig") or doc.get("recommenderConfig") or {}


# ---- resources, read through a short per-process cache -------------------------------------------------------------


def _resource(svc: Service, arn: str) -> Resource | None:
    return common.cached_get(svc, arn)


def _datasets(svc: Service, group_arn: str) -> dict[str, Resource]:
    """The group's ACTIVE datasets by type."""
    return {d.doc["datasetType"]: d for d in common.cached_children(svc, "dataset", group_arn)
            if d.status == common.ACTIVE}


def _parsed(svc: Service, expression: str) -> FilterExpression:
    parsed: dict[str, FilterExpression] = svc.cache.setdefault("filters.parsed", {})
    found = parsed.get(expression)
    if found is None:
        found = parsed[expression] = parse_filter(expression)
    return found


def _what(arn: str) -> str:
    """What a request names, for its error messages: a recommender or a campaign."""
    return "Recommender" if common.kind_of(arn) == "recommender" else "Campaign"


def _campaign(svc: Service, arn: str) -> _Served:
    if common.kind_of(arn) == "recommender":
        # A domain use case's model (tailor.recommender_serving), with the items its use case filters out. Its models
        # learn from every event they keep at weight 1, so live events are folded in unweighted.
        from tailor.recommender_serving import served_recommender

        recommender, model, excluded = served_recommender(svc, arn, _resource(svc, arn))
        return _Served(recommender, model, recommender.doc["datasetGroupArn"], EventOptions(), excluded)
    campaign = _resource(svc, arn) if common.kind_of(arn) == "campaign" else None
    if campaign is None or campaign.status in common.DELETING:
        raise ResourceNotFoundException(f"Could not find campaign with ARN {arn}")
    if campaign.status != common.ACTIVE:
        raise InvalidInputException(f"Campaign {arn} is {campaign.status}; it serves requests once it is ACTIVE")
    version_arn = campaign.doc["solutionVersionArn"]
    version = _resource(svc, version_arn)
    uri = version.internal.get("artifact") if version is not None else None
    if version is None or not uri:
        raise ResourceNotFoundException(f"Campaign {arn} serves solution version {version_arn}, which is gone")
    return _Served(campaign, served_model(svc, uri), version.doc["datasetGroupArn"], options_from_solution(version.doc))


# ---- history -------------------------------------------------------------------------------------------------------


def _history(svc: Service, served: _Served, catalog: Catalog, user_id: str | None) -> History:
    """Trained events then live ones, oldest first, over catalog indices; weights NaN where the solution's event
    options drop an event (filters still see it, scoring does not). A data deletion job's tombstone, read with the
    live events, says the user's data was deleted: a model trained before then still holds their old events, which
    are then not used."""
    if not user_id:
        return History.empty()
    live = svc.events.user_events(served.group_arn, user_id, LIVE_EVENTS, include_tombstone=True)
    trained = served.model.history(user_id)
    if live and live[-1].tombstone:  # the store returns it after the events
        if served.model.trained_at <= live[-1].timestamp:
            trained = History.empty()
        live = live[:-1]
    if not live:
        return trained
    # A retrained model already holds the events put before its training (timestamps kept in whole seconds).
    seen = set(zip(trained.items.tolist(), trained.timestamps.astype(np.int64).tolist(), trained.event_types.tolist(),
                   strict=True))
    items, weights, times, types = [], [], [], []
    for event in live:
        item = catalog.index.get(event.item_id, -1) if event.item_id is not None else -1
        if (item, int(event.timestamp), event.event_type) in seen:
            continue
        weight = event_weight(served.options, event.event_type, event.event_value)
        items.append(item)
        weights.append(math.nan if weight is None else weight)
        times.append(float(event.timestamp))
        types.append(event.event_type)
    all_times = np.concatenate([trained.timestamps, np.array(times, dtype=np.float64)])
    order = np.argsort(all_times, kind="stable")
    return History(
        items=np.concatenate([trained.items, np.array(items, dtype=np.int64)])[order],
        weights=np.concatenate([trained.weights, np.array(weights, dtype=np.float64)])[order],
        timestamps=all_times[order],
        event_types=np.concatenate([trained.event_types.astype(np.str_), np.array(types, dtype=np.str_)])[order],
    )


def _scoring_input(history: History, n_model: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = (history.items >= 0) & (history.items < n_model) & np.isfinite(history.weights)
    return history.items[keep], history.weights[keep], history.timestamps[keep]


def _raw_scores(served: _Served, catalog: Catalog, items: np.ndarray, weights: np.ndarray,
                times: np.ndarray) -> np.ndarray:
    """The model's scores over the whole catalog; items it does not know score like its lowest item."""
    raw = np.asarray(served.model.model.score(items, weights, times), dtype=np.float64)
    finite = np.isfinite(raw)
    floor = float(raw[finite].min()) if finite.any() else 0.0
    scores = np.full(catalog.n_items, floor)
    scores[: catalog.n_model] = np.where(finite, raw, floor)
    return scores


def _probabilities(scores: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(scores / T); every probability is kept above 0 (a score of exactly 0 would read as 'impossible')."""
    if not temperature > 0:
        spread = float(np.std(scores))
        temperature = spread if spread > 0 else 1.0
    exp = np.exp((scores - scores.max()) / temperature)
    return np.maximum(exp / exp.sum(), np.finfo(np.float64).tiny)


# ---- filters -------------------------------------------------------------------------------------------------------


def _filter_mask(svc: Service, served: _Served, catalog: Catalog, filter_arn: str | None,
                 filter_values: Mapping[str, str] | None, history: History, user_id: str | None,
                 current_item: int | None, what: str = "filterArn") -> tuple[np.ndarray, FilterExpression] | None:
    """(the items the filter allows, its expression), or None without a filter."""
    if not filter_arn:
        return None
    found = _resource(svc, filter_arn) if common.kind_of(filter_arn) == "filter" else None
    if found is None or found.status in common.DELETING:
        raise ResourceNotFoundException(f"Could not find filter with ARN {filter_arn} ({what})")
    if found.doc.get("datasetGroupArn") != served.group_arn:
        raise InvalidInputException(
            f"Filter {filter_arn} belongs to dataset group {found.doc.get('datasetGroupArn')}, not to the "
            f"{_what(served.campaign.arn).lower()}'s ({served.group_arn})"
        )
    if found.status != common.ACTIVE:
        raise InvalidInputException(f"Filter {filter_arn} is {found.status}; it can be used once it is ACTIVE")
    expression = _parsed(svc, found.doc["filterExpression"])
    user: dict[str, str | float] | None = None
    if user_id and any(part.user_conditions for part in expression.parts):
        user = user_fields(svc, _datasets(svc, served.group_arn).get("USERS"), user_id)
    mask = item_mask(
        expression,
        n_items=catalog.n_items,
        item_columns=catalog.filter_columns,
        history=UserInteractions(items=history.items, event_types=history.event_types) if len(history) else None,
        user=user,
        current_item=current_item,
        filter_values=filter_values,
    )
    return mask, expression


# ---- choosing items ------------------------------------------------------------------------------------------------


def _best(scores: np.ndarray, allowed: np.ndarray, k: int) -> np.ndarray:
    """Up to k allowed indices, best score first (ties: lower index first)."""
    candidates = np.flatnonzero(allowed)
    if k <= 0 or len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    if len(candidates) > k:
        part = np.argpartition(-scores[candidates], k - 1)[:k]
        candidates = candidates[part]
    return candidates[np.lexsort((candidates, -scores[candidates]))].astype(np.int64)


def _exploration(served: _Served, catalog: Catalog, allowed: np.ndarray, chosen: np.ndarray, k: int,
                 rng: np.random.Generator) -> np.ndarray:
    if served.model.recipe not in EXPLORING_RECIPES:
        return np.zeros(0, dtype=np.int64)
    config = served.config.get("itemExplorationConfig") or {}
    weight = float(config.get("explorationWeight", DEFAULT_EXPLORATION_WEIGHT))
    age_days = float(config.get("explorationItemAgeCutOff", DEFAULT_EXPLORATION_AGE_DAYS))
    slots = int(weight * k / 2)
    if slots <= 0:
        return np.zeros(0, dtype=np.int64)
    cold = np.ones(catalog.n_items, dtype=bool)
    cold[: catalog.n_model] = served.model.item_events == 0
    created = catalog.created
    if created is not None:
        cold &= ~(created < time.time() - age_days * 86_400)  # an unknown creation time (NaN) counts as new
    cold &= allowed
    cold[chosen] = False
    candidates = np.flatnonzero(cold)
    if len(candidates) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.sort(rng.choice(candidates, size=min(slots, len(candidates)), replace=False)).astype(np.int64)


def _place_promoted(regular: list[int], promoted: list[int], rng: np.random.Generator) -> list[int]:
    """Promoted items at random positions, in their own order relative to each other."""
    total = len(regular) + len(promoted)
    slots = set(rng.choice(total, size=len(promoted), replace=False).tolist()) if promoted else set()
    out, r, p = [], iter(regular), iter(promoted)
    for position in range(total):
        out.append(next(p) if position in slots else next(r))
    return out


# ---- explanations and metadata -------------------------------------------------------------------------------------


def _contributions(served: _Served, catalog: Catalog, history: History, full: np.ndarray,
                   chosen: Sequence[int]) -> dict[int, list[tuple[str, float]]]:
    """For each chosen item, the recent history items whose removal lowers its score, with their share of the drop."""
    items, weights, times = _scoring_input(history, catalog.n_model)
    recent: list[int] = []
    for item in items[::-1].tolist():
        if item not in recent:
            recent.append(item)
        if len(recent) == EXPLAINED_HISTORY:
            break
    rows = np.asarray(chosen, dtype=np.int64)
    drops = []
    for item in recent:
        keep = items != item
        without = _raw_scores(served, catalog, items[keep], weights[keep], times[keep])
        drops.append(np.maximum(full[rows] - without[rows], 0.0))
    found: dict[int, list[tuple[str, float]]] = {}
    if not drops:
        return found
    matrix = np.vstack(drops)  # recent item x chosen item
    totals = matrix.sum(axis=0)
    for column, item in enumerate(rows.tolist()):
        if totals[column] <= 0:
            continue
        best = np.argsort(-matrix[:, column], kind="stable")[:2]
        found[item] = [(str(catalog.item_ids[recent[b]]), float(matrix[b, column] / totals[column]))
                       for b in best if matrix[b, column] > 0]
    return found


def _metadata_columns(served: _Served, catalog: Catalog, requested: Mapping[str, Sequence[str]] | None,
                      num_results: int) -> list[tuple[str, str]]:
    """(name asked for, catalog column) pairs; checks the campaign allows metadata and the columns exist."""
    if not requested:
        return []
    if not served.config.get("enableMetadataWithRecommendations"):
        what = _what(served.campaign.arn)
        raise InvalidInputException(
            f"metadataColumns needs a {what.lower()} created or updated with {what.lower()}Config "
            "{\"enableMetadataWithRecommendations\": true}"
        )
    unknown = sorted(set(requested) - {"ITEMS"})
    if unknown:
        raise InvalidInputException(f"metadataColumns takes the key ITEMS only; got {', '.join(unknown)}")
    if num_results > MAX_RESULTS_WITH_METADATA:
        raise InvalidInputException(
            f"With metadataColumns at most {MAX_RESULTS_WITH_METADATA} items can be returned; "
            f"numResults / inputList asks for {num_results}"
        )
    by_upper = {name.upper(): name for name in catalog.columns}
    pairs = []
    for name in requested["ITEMS"]:
        column = by_upper.get(name.upper())
        if column is None:
            known = ", ".join(sorted(catalog.columns)) or "none"
            raise InvalidInputException(f"metadataColumns ITEMS has {name}, which the Items data lacks ({known})")
        pairs.append((name, column))
    return pairs


def _metadata(catalog: Catalog, columns: list[tuple[str, str]], item: int) -> dict[str, str]:
    found = {}
    for name, column in columns:
        value = catalog.columns[column][item]
        if isinstance(value, str):
            if value:
                found[name] = value
        elif not math.isnan(float(value)):
            found[name] = number_text(float(value))
    return found


def _reason_text(item: str, share: float) -> str:
    return f"Recent item {item} ({share:.0%} of the score)"


# ---- the operations ------------------------------------------------------------------------------------------------


def _num_results(req: Mapping[str, Any]) -> int:
    value = req.get("numResults")
    number = DEFAULT_RESULTS if value is None else int(value)
    if not 0 <= number <= MAX_RESULTS:
        raise InvalidInputException(f"numResults must be from 0 to {MAX_RESULTS}; got {number}")
    return number


def _explaining(req: Mapping[str, Any]) -> bool:
    context = req.get("context") or {}
    return str(context.get(EXPLAIN_KEY, "")).strip().lower() in _TRUE


def get_recommendations(svc: Service, req: Mapping[str, Any]) -> dict[str, Any]:
    arn = req.get("campaignArn") or req.get("recommenderArn")
    if not arn:
        raise InvalidInputException("Either campaignArn or recommenderArn is required")
    if req.get("campaignArn") and req.get("recommenderArn"):
        raise InvalidInputException("Give campaignArn or recommenderArn, not both")
    k = _num_results(req)
    served = _campaign(svc, arn)
    model = served.model
    user_id, item_id = req.get("userId"), req.get("itemId")
    kind = model.recipe_type
    if kind == "PERSONALIZED_RANKING":
        raise InvalidInputException(
            f"{_what(arn)} {arn} serves a PERSONALIZED_RANKING solution: call GetPersonalizedRanking with an inputList"
        )
    if kind not in ("USER_PERSONALIZATION", "POPULAR_ITEMS", "RELATED_ITEMS"):
        raise InvalidInputException(
            f"{_what(arn)} {arn} serves a {kind} solution, which has no real-time recommendations")
    if kind == "USER_PERSONALIZATION" and not user_id:
        raise InvalidInputException(
            f"userId is required: {_what(arn).lower()} {arn} serves a USER_PERSONALIZATION recipe")
    if kind == "RELATED_ITEMS" and not item_id:
        raise InvalidInputException(f"itemId is required: {_what(arn).lower()} {arn} serves a RELATED_ITEMS recipe")
    datasets = _datasets(svc, served.group_arn)
    catalog = item_catalog(svc, model, datasets.get("ITEMS"))
    metadata_columns = _metadata_columns(served, catalog, req.get("metadataColumns"), k)
    history = _history(svc, served, catalog, user_id)

    current: int | None = None
    if kind == "RELATED_ITEMS":
        current = catalog.index.get(str(item_id))
        known = current is not None and current < catalog.n_model
        scoring = (np.array([current] if known else [], dtype=np.int64), np.ones(int(known)), np.zeros(int(known)))
    elif kind == "USER_PERSONALIZATION":
        scoring = _scoring_input(history, catalog.n_model)
    else:
        scoring = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    raw = _raw_scores(served, catalog, *scoring)
    cold_user = len(scoring[0]) == 0

    allowed = np.ones(catalog.n_items, dtype=bool)
    if current is not None:
        allowed[current] = False  # an item is not its own related item
    if served.excluded_event_type and len(history):
        chosen_type = np.char.lower(history.event_types.astype(np.str_)) == served.excluded_event_type.lower()
        done = history.items[chosen_type]
        allowed[done[done >= 0]] = False
    base_allowed = allowed.copy()
    filtered = _filter_mask(svc, served, catalog, req.get("filterArn"), req.get("filterValues"), history, user_id,
                            current)
    if filtered is not None:
        allowed &= filtered[0]

    rng = np.random.default_rng()
    promoted: list[int] = []
    promotion_name = None
    for promotion in req.get("promotions") or []:
        promotion_name = promotion.get("name")
        share = int(promotion.get("percentPromotedItems") or 0)
        promo = _filter_mask(svc, served, catalog, promotion.get("filterArn"), promotion.get("filterValues"),
                             history, user_id, current, what="promotions.filterArn")
        if promo is None:
            raise InvalidInputException("promotions[0].filterArn is required: it names the items to promote")
        wanted = min(k, max(1, k * share // 100)) if share > 0 and k > 0 else 0
        promoted = _best(raw, base_allowed & promo[0], wanted).tolist()
    regular_allowed = allowed.copy()
    regular_allowed[promoted] = False
    regular = _best(raw, regular_allowed, k - len(promoted))
    explored = _exploration(served, catalog, regular_allowed, regular, k - len(promoted), rng)
    if len(explored):
        kept = regular[: len(regular) - len(explored)] if len(regular) + len(explored) > k - len(promoted) else regular
        regular = np.concatenate([kept, explored])
        regular = regular[np.lexsort((regular, -raw[regular]))]
    chosen = _place_promoted(regular.tolist(), promoted, rng)

    probabilities = _probabilities(raw, model.temperature) if model.scored else None
    explain = _explaining(req)
    contributions = (_contributions(served, catalog, history, raw, chosen)
                     if explain and kind == "USER_PERSONALIZATION" and model.scored else {})
    explored_set, promoted_set = set(explored.tolist()), set(promoted)
    related_known = kind == "RELATED_ITEMS" and not cold_user
    items = []
    for index in chosen:
        entry: dict[str, Any] = {"itemId": str(catalog.item_ids[index])}
        if probabilities is not None:
            entry["score"] = float(probabilities[index])
        if index in promoted_set:
            entry["promotionName"] = promotion_name
        if metadata_columns:
            entry["metadata"] = _metadata(catalog, metadata_columns, index)
        reasons: list[str] = []
        if index in promoted_set:
            reasons.append(REASON_PROMOTED)
        if index in explored_set:
            reasons.append(REASON_EXPLORATION)
        elif cold_user and kind != "POPULAR_ITEMS":
            reasons.append(REASON_POPULAR)
        elif explain:
            if related_known:
                reasons.append(f"Related to item {item_id}" if raw[index] >= NEIGHBOUR_TIER else REASON_POPULAR)
            elif index in contributions:
                reasons.extend(_reason_text(i, share) for i, share in contributions[index])
            else:
                reasons.append(REASON_POPULAR)
        if reasons:
            entry["reason"] = reasons
        items.append(entry)
    return {"itemList": items, "recommendationId": f"RID-{uuid.uuid4()}"}


def rank_input(catalog: Catalog, raw: np.ndarray, input_list: Sequence[str],
               filtered: tuple[np.ndarray, FilterExpression] | None,
               temperature: float) -> tuple[np.ndarray, list[str], np.ndarray]:
    """GetPersonalizedRanking's ordering (and batch inference's for ranking recipes): (the known items best first,
    the items the model was not trained on in input order, the softmax over the known ones). A filter removes what it
    excludes; an INCLUDE filter also drops items it knows nothing of."""
    mask = filtered[0] if filtered is not None else None
    includes_only = filtered is not None and any(part.action == "INCLUDE" for part in filtered[1].parts)
    ranked: list[int] = []
    unranked: list[str] = []  # items the model was not trained on: appended at the end, unscored (reference §2.x)
    for item in input_list:
        index = catalog.index.get(item)
        if index is not None and mask is not None and not mask[index]:
            continue
        if index is None and includes_only:
            continue  # an INCLUDE filter cannot vouch for an item it knows nothing of
        if index is not None and index < catalog.n_model:
            ranked.append(index)
        else:
            unranked.append(item)
    order = np.asarray(ranked, dtype=np.int64)
    order = order[np.lexsort((np.arange(len(order)), -raw[order]))] if len(order) else order
    probabilities = _probabilities(raw[order], temperature) if len(order) else np.zeros(0)
    return order, unranked, probabilities


def get_personalized_ranking(svc: Service, req: Mapping[str, Any]) -> dict[str, Any]:
    arn = req["campaignArn"]
    if len(req["inputList"]) > MAX_RESULTS:
        raise InvalidInputException(f"inputList can hold at most {MAX_RESULTS} items; got {len(req['inputList'])}")
    input_list = list(dict.fromkeys(str(i) for i in req["inputList"]))  # repeats ranked once, first place kept
    user_id = req["userId"]
    served = _campaign(svc, arn)
    model = served.model
    if model.recipe_type != "PERSONALIZED_RANKING":
        raise InvalidInputException(
            f"Campaign {arn} serves a {model.recipe_type} solution; GetPersonalizedRanking needs a "
            "PERSONALIZED_RANKING one (aws-personalized-ranking)"
        )
    datasets = _datasets(svc, served.group_arn)
    catalog = item_catalog(svc, model, datasets.get("ITEMS"))
    metadata_columns = _metadata_columns(served, catalog, req.get("metadataColumns"), len(input_list))
    history = _history(svc, served, catalog, user_id)
    scoring = _scoring_input(history, catalog.n_model)
    raw = _raw_scores(served, catalog, *scoring)
    filtered = _filter_mask(svc, served, catalog, req.get("filterArn"), req.get("filterValues"), history, user_id,
                            None)
    order, unranked, probabilities = rank_input(catalog, raw, input_list, filtered, model.temperature)
    explain = _explaining(req)
    contributions = _contributions(served, catalog, history, raw, order.tolist()) if explain else {}
    items = []
    for position, index in enumerate(order.tolist()):
        entry: dict[str, Any] = {"itemId": str(catalog.item_ids[index]), "score": float(probabilities[position])}
        if metadata_columns:
            entry["metadata"] = _metadata(catalog, metadata_columns, index)
        if explain:
            reasons = [_reason_text(i, share) for i, share in contributions.get(index, [])]
            entry["reason"] = reasons or [REASON_POPULAR]
        items.append(entry)
    for item in unranked:
        entry = {"itemId": item}
        index = catalog.index.get(item)
        if metadata_columns and index is not None:
            entry["metadata"] = _metadata(catalog, metadata_columns, index)
        items.append(entry)
    return {"personalizedRanking": items, "recommendationId": f"RID-{uuid.uuid4()}"}
