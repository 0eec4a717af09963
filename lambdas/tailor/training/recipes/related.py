"""aws-sims and aws-similar-items: each item's nearest items by co-occurrence in user histories (and item metadata)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.sparse as sp

from tailor.training.base import InteractionData, parse_params
from tailor.training.recipes.params import checked_weights, integer, keep_count_percentiles, number, percentile_range
from tailor.training.recipes.sequence import HistoryFilterConfig, item_feature_matrix

# Work per chunk of rows in the item x item products (multiply-adds, about the nonzeros a chunk produces): bounds the
# memory of a chunk's product and its selection to about 100 MB whatever the catalog size.
_CHUNK_WORK = 5_000_000
_CHUNK_CELLS = 5_000_000  # rows x n_items of a chunk, so its dense form (float64) stays near 40 MB
_DENSE_SHARE = 0.02  # a chunk's product with at least this share of nonzero cells is selected dense
_METADATA_TIE_BREAK = 1e-3  # see _metadata_neighbours
# The metadata product costs sum(df²) over the metadata values; past this the most common values are left out (they
# weigh least in TF-IDF) so that a column such as a 10-value colour cannot make the product n_items².
_METADATA_WORK = 2_000_000_000
# A history item older than this many half-lives weighs under 0.1%: reading further back changes no ranking.
_READ_HALF_LIVES = 10
# Scores: items with neighbour evidence score in (2, 3], the popularity fallback in [0, 1], the history's own items -1.
NEIGHBOUR_TIER = 2.0
_OWN_ITEM = -1.0


# ---- configuration -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CooccurrenceConfig:
    """How co-occurrence in user histories becomes each item's neighbour list (both recipes)."""

    popularity_discount_factor: float  # a in "j scores C_ij / n_j^a as a neighbour of i" (0: co-counts, 1: P(i | j))
    min_cointeraction_count: int  # fewer distinct users than this having both items: the pair is not similar
    neighbours: int  # neighbours kept per item
    history_length_discount: float  # β: a history of L distinct items adds 1 / L^β to each of its pairs
    recency_half_life: float  # in distinct history items back from the newest; 0 weighs the whole history equally

    @classmethod
    def parse(cls, p: Mapping[str, str]) -> CooccurrenceConfig:
        return cls(
            popularity_discount_factor=number(p, "popularity_discount_factor", 0.0, 1.0),
            min_cointeraction_count=integer(p, "min_cointeraction_count", 0, 10),
            neighbours=integer(p, "neighbours", 1, 1000),
            history_length_discount=number(p, "history_length_discount", 0.0, 2.0),
            recency_half_life=number(p, "recency_half_life", 0.0),
        )


@dataclass(frozen=True)
class ItemFilterConfig:
    """Personalize's SIMS featurization pair min/max_item_interaction_count_percentile: only items whose event count
    lies between the two percentiles of all items' counts take part in co-occurrence (the rest can still be served
    by the popularity fallback)."""

    min_percentile: float
    max_percentile: float

    @classmethod
    def parse(cls, p: Mapping[str, str]) -> ItemFilterConfig:
        low_name, high_name = "min_item_interaction_count_percentile", "max_item_interaction_count_percentile"
        return cls(*percentile_range(p, low_name, high_name))

    def apply(self, data: InteractionData) -> InteractionData:
        """`data` without the events of items outside the percentile range (the same object when none are)."""
        return keep_count_percentiles(data, np.asarray(data.items), data.n_items, self.min_percentile,
                                      self.max_percentile)


@dataclass(frozen=True)
class SimsConfig:
    cooccurrence: CooccurrenceConfig
    users: HistoryFilterConfig
    items: ItemFilterConfig

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> SimsConfig:
        p = parse_params(Sims.defaults, params)
        return cls(CooccurrenceConfig.parse(p), HistoryFilterConfig.parse(p), ItemFilterConfig.parse(p))


@dataclass(frozen=True)
class SimilarItemsConfig:
    cooccurrence: CooccurrenceConfig
    metadata_weight: float  # blend: (1 - w) · co-occurrence + w · metadata similarity, each row scaled to max 1
    numeric_buckets: int  # quantile buckets a numeric metadata column is cut into
    item_id_hidden_dimension: int  # Personalize's; accepted, there are no embeddings to size
    item_metadata_hidden_dimension: int  # likewise

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> SimilarItemsConfig:
        p = parse_params(SimilarItems.defaults, params)
        return cls(
            cooccurrence=CooccurrenceConfig.parse(p),
            metadata_weight=number(p, "metadata_weight", 0.0, 1.0),
            numeric_buckets=integer(p, "numeric_buckets", 2, 1000),
            item_id_hidden_dimension=integer(p, "item_id_hidden_dimension", 30, 200),
            item_metadata_hidden_dimension=integer(p, "item_metadata_hidden_dimension", 30, 200),
        )


# ---- the model -----------------------------------------------------------------------------------------------------


class RelatedItemsModel:
    """Sparse neighbour lists (row i: item i's neighbours, scaled so the best is 1) plus a popularity fallback.

    A RELATED_ITEMS request scores history = [item]: the item's neighbours in neighbour order, then every other item
    by popularity. A longer history sums its distinct items' neighbour rows, each weighted by its heaviest event and
    halved every `half_life` distinct items back from the newest. Neighbours always rank above the fallback (they
    score 2 + their evidence / the best evidence, the fallback the popularity / the top popularity), and the history's
    own items score -1: an item is never its own neighbour, nor the answer to a request about itself. An unknown item
    (an index outside the catalog) is ignored, so a request about it gets the popular items, as on Personalize."""

    def __init__(
        self,
        *,
        indptr: np.ndarray,
        indices: np.ndarray,
        values: np.ndarray,
        popularity: np.ndarray,
        half_life: float,
    ) -> None:
        self.popularity = np.asarray(popularity, dtype=np.float64)
        self.n_items = len(self.popularity)
        self.neighbours = sp.csr_array(
            (np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int32), np.asarray(indptr)),
            shape=(self.n_items, self.n_items),
        )
        self.half_life = float(half_life)

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        items = np.asarray(history_items, dtype=np.int64)
        weights = np.asarray(history_weights, dtype=np.float64)
        known = (items >= 0) & (items < self.n_items)
        items, weights = items[known], weights[known]
        top = self.popularity.max() if self.n_items else 0.0
        scores = self.popularity / top if top > 0 else np.zeros(self.n_items)
        if len(items) == 0:
            return scores

        # Distinct items, newest first, each at its heaviest event (repeats of an item say nothing new about it).
        newest_first = items[::-1]
        distinct, first_seen, inverse = np.unique(newest_first, return_index=True, return_inverse=True)
        strongest = np.zeros(len(distinct))
        np.maximum.at(strongest, inverse, np.nan_to_num(weights[::-1], nan=0.0, posinf=0.0, neginf=0.0))
        order = np.argsort(first_seen)
        distinct, strongest = distinct[order], strongest[order]
        if self.half_life > 0:
            read = min(len(distinct), int(np.ceil(_READ_HALF_LIVES * self.half_life)))
            distinct = distinct[:read]
            strongest = strongest[:read] * 0.5 ** (np.arange(read) / self.half_life)
        useful = strongest > 0
        if useful.any():
            evidence = np.asarray(self.neighbours[distinct[useful]].T @ strongest[useful], dtype=np.float64)
            best = evidence.max()
            if best > 0:
                hit = evidence > 0
                scores[hit] = NEIGHBOUR_TIER + evidence[hit] / best
        scores[items] = _OWN_ITEM
        return scores

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "indptr": self.neighbours.indptr,
            "indices": self.neighbours.indices,
            "values": self.neighbours.data,
            "popularity": self.popularity,
            "half_life": np.array(self.half_life),
        }


def _load(arrays: Mapping[str, np.ndarray]) -> RelatedItemsModel:
    return RelatedItemsModel(
        indptr=arrays["indptr"],
        indices=arrays["indices"],
        values=arrays["values"],
        popularity=arrays["popularity"],
        half_life=float(arrays["half_life"]),
    )


# ---- the recipes ---------------------------------------------------------------------------------------------------

# Measured with Tailor's evaluation (Personalize's hold-out-users split) on personalize-poc-movielens, averaged over
# split seeds 42 and 0-6, P@10 / NDCG@10 with everything else at its default (0.0708 / 0.0966):
# history_length_discount 0: 0.0628 / 0.0789, 0.5: 0.0677 / 0.0888, 1.5: 0.0685 / 0.0947;
# recency_half_life 0 (whole history alike): 0.0592 / 0.0801, 5: 0.0644 / 0.0938, 10: 0.0702 / 0.0995,
# 40: 0.0667 / 0.0914; neighbours 50: 0.0653 / 0.0900, 200: 0.0712 / 0.0941. Counting co-occurrence only between
# events at most 5-50 apart (a session-like window) measured P@10 0.045-0.056 in a prototype, so whole histories count.
_COOCCURRENCE_DEFAULTS = {
    "popularity_discount_factor": "0.5",
    "min_cointeraction_count": "3",
    "neighbours": "100",
    "history_length_discount": "1",
    "recency_half_life": "20",
}


class Sims:
    """aws-sims: item-to-item similarity from co-occurrence in user histories (DG `native-recipe-sims`).

    C_ij is the number of users whose history holds both i and j, each user counting 1 / L^β for a history of L
    distinct items (history_length_discount β: one heavy user's L² pairs would otherwise outweigh many light users).
    Pairs shared by fewer than min_cointeraction_count distinct users are dropped. Item j's similarity to i is
    C_ij / n_j^a with n_j = C_jj and a = popularity_discount_factor, Personalize's knob: 0 ranks i's co-occurring
    items by raw co-count, so the popular ones win; 1 by C_ij / n_j, the share of j's users who also had i, so rare
    items with any co-interaction win; 0.5 is the cosine. Each item keeps its `neighbours` best. An item with no pair
    left (too little data) or an unknown item gets the popular items, as Personalize documents.

    Hyper-parameters: Personalize's popularity_discount_factor (0.5, [0, 1]) and min_cointeraction_count (3, [0, 10]),
    and its featurization percentiles min/max_user_history_length_percentile (users whose history length lies outside
    are left out of the co-occurrence counts) and min/max_item_interaction_count_percentile (likewise items). Tailor's
    own: neighbours (100), history_length_discount (1), recency_half_life (20, how a longer history is read; see
    RelatedItemsModel).

    The user percentiles default to Personalize's documented 0.005 / 0.995 (against 0 / 1, within noise on the POC
    data: P@10 0.0708 vs 0.0725, NDCG@10 0.0966 vs 0.0963, and a faster fit, as the longest histories cost the most
    pairs). The item percentiles default to 0 / 1, not the documented 0.01 / 0.9: leaving the 10% most popular items
    out of co-occurrence leaves out the items most often watched next, and P@10 fell from 0.0708 to 0.0257."""

    name: ClassVar[str] = "aws-sims"
    defaults: ClassVar[dict[str, str]] = {
        **_COOCCURRENCE_DEFAULTS,
        "min_user_history_length_percentile": "0.005",
        "max_user_history_length_percentile": "0.995",
        "min_item_interaction_count_percentile": "0.0",
        "max_item_interaction_count_percentile": "1.0",
    }

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> RelatedItemsModel:
        cfg = SimsConfig.parse(params)
        weights = checked_weights(data)
        train = cfg.items.apply(cfg.users.apply(data))
        neighbours = _cooccurrence_neighbours(train, cfg.cooccurrence)
        return _model(neighbours, _popularity(data, weights), cfg.cooccurrence)

    def load(self, arrays: Mapping[str, np.ndarray]) -> RelatedItemsModel:
        return _load(arrays)


class SimilarItems:
    """aws-similar-items: Sims' co-occurrence neighbours blended with item-metadata similarity (DG
    `native-recipe-similar-items`), so items with few or no events (cold items) still have similar items.

    Metadata similarity is the cosine between TF-IDF rows over the Items dataset: categorical values ('a|b' split,
    case-insensitive; see sequence.item_feature_matrix) as one block, and each numeric column cut into
    `numeric_buckets` quantile buckets as one block per column, every block scaled to unit length so each column
    counts alike. Both neighbour lists are scaled so each row's best is 1 and blended as (1 - metadata_weight) ·
    co-occurrence + metadata_weight · metadata; each item keeps its `neighbours` best. Without an Items dataset this
    is Sims. An item with neither events nor metadata, or an unknown item, gets the popular items.

    Hyper-parameters: Personalize documents item_id_hidden_dimension and item_metadata_hidden_dimension (100, [30,
    200]; accepted, there are no embeddings to size) and popularity_discount_factor (as in Sims). Tailor's own:
    metadata_weight (0.1), numeric_buckets (10), and Sims' min_cointeraction_count, neighbours,
    history_length_discount and recency_half_life.

    On personalize-poc-movielens with its GENRE and YEAR metadata, metadata_weight 0.05-0.2 left the warm-item
    evaluation where Sims has it (P@10 0.071-0.073, NDCG@10 0.096-0.097 over 8 split seeds) and 0.5 cut P@10 to
    0.042, as coarse genres outvote co-occurrence. For cold items it is what answers at all: with 357 items (20 or
    more events each) made cold by removing their events, their 10 neighbours held 12.4% of their 50 nearest items by
    co-occurrence in the full data, against 4.4% for Sims' popularity fallback (7.7% with GENRE alone)."""

    name: ClassVar[str] = "aws-similar-items"
    defaults: ClassVar[dict[str, str]] = {
        **_COOCCURRENCE_DEFAULTS,
        "metadata_weight": "0.1",
        "numeric_buckets": "10",
        "item_id_hidden_dimension": "100",
        "item_metadata_hidden_dimension": "100",
    }

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> RelatedItemsModel:
        cfg = SimilarItemsConfig.parse(params)
        weights = checked_weights(data)
        co = cfg.cooccurrence
        popularity = _popularity(data, weights)
        neighbours = _cooccurrence_neighbours(data, co)
        matrix = _metadata_matrix(data, cfg.numeric_buckets)
        if cfg.metadata_weight > 0 and matrix.nnz > 0:
            metadata = _metadata_neighbours(matrix, co.neighbours, popularity)
            neighbours = _blend(neighbours, metadata, cfg.metadata_weight, co.neighbours)
        return _model(neighbours, popularity, co)

    def load(self, arrays: Mapping[str, np.ndarray]) -> RelatedItemsModel:
        return _load(arrays)


# ---- fitting -------------------------------------------------------------------------------------------------------


def _popularity(data: InteractionData, weights: np.ndarray) -> np.ndarray:
    """Weighted event counts over all the data (the filters decide what is similar, not what is popular)."""
    return np.bincount(data.items, weights=weights, minlength=data.n_items)


def _model(neighbours: sp.csr_array, popularity: np.ndarray, cfg: CooccurrenceConfig) -> RelatedItemsModel:
    return RelatedItemsModel(
        indptr=neighbours.indptr.astype(np.int64),
        indices=neighbours.indices,
        values=neighbours.data,
        popularity=popularity,
        half_life=cfg.recency_half_life,
    )


def _cooccurrence_neighbours(data: InteractionData, cfg: CooccurrenceConfig) -> sp.csr_array:
    """Each item's `cfg.neighbours` best co-occurring items (float32 CSR, n_items², rows scaled to a best of 1)."""
    n = data.n_items
    weights = np.asarray(data.weights, dtype=np.float64)
    users = np.asarray(data.users, dtype=np.int64)
    items = np.asarray(data.items, dtype=np.int64)
    # X[u, i]: u's heaviest event on i; a weight-0 event counts for nothing, so it is not an interaction here.
    key = users * n + items
    order = np.lexsort((-weights, key))
    key, heaviest = key[order], weights[order]
    first = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, dtype=bool)
    key, heaviest = key[first], heaviest[first]
    key, heaviest = key[heaviest > 0], heaviest[heaviest > 0]
    rows, cols = key // n, key % n
    lengths = np.bincount(rows, minlength=data.n_users).astype(np.float64)
    # Each pair of a user's items gets x_ui · x_uj = w_i · w_j / L^β.
    values = heaviest * lengths[rows] ** (-cfg.history_length_discount / 2)
    x = sp.csr_array((values, (rows, cols)), shape=(data.n_users, n))
    binary = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(data.n_users, n))
    xt, binary_t = sp.csr_array(x.T), sp.csr_array(binary.T)
    norms = np.asarray(x.multiply(x).sum(axis=0), dtype=np.float64).ravel()  # n_j = C_jj
    discount = np.divide(1.0, norms**cfg.popularity_discount_factor, out=np.zeros(n), where=norms > 0)
    # Counting users apart from weighing them is needed only when the two differ.
    count_apart = cfg.min_cointeraction_count > 1 and not np.all(values == 1.0)

    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    work = binary_t @ lengths  # the multiply-adds row i's product costs: the history lengths of i's users
    for lo, hi in _chunks(work, n):
        product = sp.csr_array(xt[lo:hi] @ x)
        counts = None
        if cfg.min_cointeraction_count > 1:
            counts = sp.csr_array(binary_t[lo:hi] @ binary) if count_apart else product
        parts.append(_best_of_chunk(product, lo, cfg.neighbours, discount, counts, cfg.min_cointeraction_count))
    return _csr(parts, n)


def _metadata_matrix(data: InteractionData, buckets: int) -> sp.csr_array:
    """Unit-length TF-IDF rows (n_items x values): the categorical block and one block per numeric column, each block
    unit length before the blocks are joined, so every column an item has counts alike."""
    n = data.n_items
    blocks = [sp.csr_array(item_feature_matrix(data), dtype=np.float64)]
    for column in sorted(data.item_features):
        values = np.asarray(data.item_features[column])
        if values.dtype.kind != "f" or len(values) != n:
            continue
        present = np.flatnonzero(np.isfinite(values))
        if len(present) < 2:
            continue
        edges = np.unique(np.quantile(values[present], np.linspace(0.0, 1.0, buckets + 1)[1:-1]))
        bucket = np.searchsorted(edges, values[present], side="right")
        df = np.bincount(bucket, minlength=len(edges) + 1)
        # A bucket every item with a value falls in tells them apart in nothing (log 1 = 0), as in TF-IDF.
        idf = np.log(len(present) / np.maximum(df, 1))[bucket]
        block = sp.csr_array((idf, (present, bucket)), shape=(n, len(edges) + 1))
        block.eliminate_zeros()
        blocks.append(_unit_rows(block))
    joined = sp.csr_array(sp.hstack(blocks, format="csr"))
    return _unit_rows(joined)


def _metadata_neighbours(matrix: sp.csr_array, k: int, popularity: np.ndarray) -> sp.csr_array:
    """Each item's k most similar items by metadata cosine (float32 CSR, rows scaled to a best of 1).

    Coarse metadata (a few genres) ties hundreds of items at the same cosine; the ties go to the more popular item,
    through a factor 1 + 0.001 · popularity / top popularity, rather than to whichever item has the lower index."""
    n = matrix.shape[0]
    matrix = sp.csr_array(matrix)
    df = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
    total = float(np.sum(df**2))
    if total > _METADATA_WORK:
        # Leave out the most common values until the product fits the budget: they carry the least TF-IDF weight.
        by_df = np.argsort(-df, kind="stable")
        dropped = int(np.searchsorted(np.cumsum(df[by_df] ** 2), total - _METADATA_WORK)) + 1
        keep_cols = np.ones(matrix.shape[1], dtype=bool)
        keep_cols[by_df[:dropped]] = False
        matrix = sp.csr_array(matrix[:, np.flatnonzero(keep_cols)])
        df = df[keep_cols]
    transposed = sp.csr_array(matrix.T)
    top = popularity.max() if len(popularity) else 0.0
    tie_break = 1.0 + _METADATA_TIE_BREAK * (popularity / top if top > 0 else np.zeros(n))
    work = matrix @ df  # row i's product touches the items sharing each of its values
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for lo, hi in _chunks(np.asarray(work, dtype=np.float64), n):
        product = sp.csr_array(matrix[lo:hi] @ transposed)
        # Rounding leaves near-zero cosines between items sharing only zero-weight values: they are not similar.
        parts.append(_best_of_chunk(product, lo, k, tie_break, None, 0, floor=1e-9))
    return _csr(parts, n)


def _blend(a: sp.csr_array, b: sp.csr_array, weight: float, k: int) -> sp.csr_array:
    """(1 - weight) · a + weight · b, each row's k best kept."""
    mixed = sp.csr_array((1.0 - weight) * a.astype(np.float64) + weight * b.astype(np.float64)).tocoo()
    r, c, v = mixed.row.astype(np.int64), mixed.col.astype(np.int64), mixed.data
    positive = v > 0
    return _csr([_top_k(r[positive], c[positive], v[positive], k, scale=False)], a.shape[0])


def _best_of_chunk(
    product: sp.csr_array,
    lo: int,
    k: int,
    column_scale: np.ndarray | None,
    counts: sp.csr_array | None,
    min_count: int,
    floor: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows lo.. of an item x item product: entries with counts >= min_count (all when counts is None), times
    column_scale, off the diagonal and above floor; each row's k best, scaled to a best of 1 (see _top_k)."""
    n_rows, n = product.shape
    if product.nnz >= _DENSE_SHARE * n_rows * n:
        # A dense chunk (co-occurrence on a small catalog, metadata with a few values) is selected far faster with
        # argpartition than by sorting millions of sparse entries.
        dense = product.toarray()
        if counts is not None:
            dense[(dense if counts is product else counts.toarray()) < min_count] = 0.0
        if column_scale is not None:
            dense *= column_scale
        dense[np.arange(n_rows), np.arange(lo, lo + n_rows)] = 0.0
        kk = min(k, n)
        best = np.argpartition(-dense, kk - 1, axis=1)[:, :kk]
        rows = np.repeat(np.arange(n_rows, dtype=np.int64) + lo, kk)
        cols = best.ravel().astype(np.int64)
        values = np.take_along_axis(dense, best, axis=1).ravel()
    else:
        if counts is not None:
            product = sp.csr_array(product.multiply(counts >= min_count))
        coo = product.tocoo()
        rows, cols, values = coo.row.astype(np.int64) + lo, coo.col.astype(np.int64), coo.data
        if column_scale is not None:
            values = values * column_scale[cols]
        values = np.where(rows == cols, 0.0, values)
    kept = values > floor
    return _top_k(rows[kept], cols[kept], values[kept], k)


def _top_k(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, k: int, scale: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's k largest values, rows ascending and best first (ties to the lower column); `scale` divides each
    row by its best value."""
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    if len(rows) == 0:
        return rows, cols, values
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    keep = np.arange(len(rows)) - run_start < k
    if scale:
        values = values / values[run_start]
    return rows[keep], cols[keep], values[keep]


def _csr(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n: int) -> sp.csr_array:
    """The (row-sorted) parts as one float32 CSR with int32 indices."""
    rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    cols = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    values = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sp.csr_array((values.astype(np.float32), cols.astype(np.int32), indptr), shape=(n, n))


def _chunks(work: np.ndarray, n: int) -> Iterator[tuple[int, int]]:
    """Consecutive row ranges [lo, hi) of about _CHUNK_WORK summed work and at most _CHUNK_CELLS / n rows each (at
    least one row): the bounds on a chunk's sparse product and on its dense form."""
    total = np.cumsum(work)
    most_rows = max(1, _CHUNK_CELLS // max(n, 1))
    lo, rows = 0, len(work)
    while lo < rows:
        done = total[lo - 1] if lo else 0.0
        hi = max(lo + 1, int(np.searchsorted(total, done + _CHUNK_WORK, side="right")))
        hi = min(hi, lo + most_rows, rows)
        yield lo, hi
        lo = hi


def _unit_rows(matrix: sp.csr_array) -> sp.csr_array:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=np.float64).ravel())
    scaled = sp.csr_array(sp.diags_array(np.divide(1.0, norms, out=np.zeros(len(norms)), where=norms > 0)) @ matrix)
    scaled.eliminate_zeros()
    return scaled
