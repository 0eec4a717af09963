"""aws-user-personalization: EASE over a recency-weighted history plus a "what comes next" transition term.

The model has no per-user parameters, so a user's newest events count at request time (fold-in) and users who arrived
after training are served from their history alone. Three parts, all item-to-item:

A user's sequence is their distinct items in the order they first appeared, each at its heaviest event: a repeat of
an item (a click then a watch of it, a re-rating) says nothing new about what comes next, and counting repeats as
steps made "5 events back" mean a different depth on data with repeats (Personalize's POC file: click + watch) than
on data without (MovieLens). Ages below are positions in that sequence, 0 = the newest item.

* EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): B = I - P·diag(1/diag(P)) with
  P = (XᵀX + λI)⁻¹ and diag(B) = 0, X the users x items matrix of event-type weights. The history vector it reads is
  recency-weighted (an item's weight halves every `recency_half_life` distinct items back from the newest) because on
  a temporal split the newest items predict the next ones far better than the whole profile does.
* Transitions: T[i, j] counts how often j followed i within `bptt` items of the same user's sequence (a gap of g
  items counts sequential_decay^(g-1)), rows normalised to sum to 1, each row's `max_successors` largest kept; read
  for the user's newest `bptt` items, the item g back weighted sequential_read_decay^g. Training counts reach far
  (0.9: "j came soon after i") while reading looks mostly at the newest few items (0.7).
* Popularity, a small term that orders items the other two leave tied and gives a user with no usable history the
  popular items.

Score = EASE(history) + sequential_weight · transitions(history) + popularity_weight · popularity, where popularity is
the item's weighted event count divided by the largest one. The scores are unnormalised relevances, not probabilities:
EASE's reconstruction of the recency-weighted history vector (about 0-1 per unit of history weight) plus the
decay-weighted probability that the item comes next; always finite, small (on ML-1M within [-0.1, 1]), and 0 for an
item with no events. Serving turns them into Personalize's softmax.

Hyper-parameters (strings; defaults tuned jointly on ML-1M users 1-2999 and Personalize's POC file with Personalize's
hold-out-users split, split seeds 42, 1, 2): lambda 500, recency_half_life 5 distinct items, recency_mask true,
sequential_weight 4, sequential_decay 0.9, sequential_read_decay 0.7, bptt 32, popularity_weight 0.001,
ease_max_items 20000, max_successors 200 (transitions kept per item; more changed nothing on ML-1M). Personalize's
hidden_dimension is accepted and ignored (there is no network); bptt and recency_mask keep their Personalize meaning as
closely as an item-to-item model can: how far back the sequence is read, and whether the newest items count most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from tailor.training.base import InteractionData, TrainingFailed, parse_params
from tailor.training.recipes.params import boolean, checked_weights, integer, number, positive


@dataclass(frozen=True)
class UserPersonalizationConfig:
    l2: float  # "lambda": EASE's ridge penalty; larger favours popular, well-supported item pairs
    recency_half_life: float  # in distinct items back from the newest; 0 weighs the whole history equally
    recency_mask: bool  # Personalize's switch for recency; false turns the recency weighting off
    sequential_weight: float  # weight of the transition term against EASE; 0 turns it off
    sequential_decay: float  # per-item decay of the gap between a training pair's two items
    sequential_read_decay: float  # per-item decay of the history's items when the transition term is read
    bptt: int  # how many distinct items back the transition term looks (Personalize's name for the sequence length)
    popularity_weight: float  # tie-breaker and empty-history fallback
    # EASE is dense n x n: fit memory peaks near n² · 4 bytes (1.6 GB at 20,000) and time grows as n³, so beyond
    # this many items only the most popular ones get an EASE row; the rest are still reached through transitions.
    ease_max_items: int
    max_successors: int  # transitions kept per item, the most likely first
    hidden_dimension: int  # accepted for Personalize compatibility; there are no embeddings to size

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> UserPersonalizationConfig:
        p = parse_params(UserPersonalization.defaults, params)
        return cls(
            l2=positive(p, "lambda"),
            recency_half_life=number(p, "recency_half_life", 0.0),
            recency_mask=boolean(p, "recency_mask"),
            sequential_weight=number(p, "sequential_weight", 0.0),
            sequential_decay=number(p, "sequential_decay", 0.0, 1.0),
            sequential_read_decay=number(p, "sequential_read_decay", 0.0, 1.0),
            bptt=integer(p, "bptt", 1, 256),
            popularity_weight=number(p, "popularity_weight", 0.0),
            ease_max_items=integer(p, "ease_max_items", 1, 50_000),
            max_successors=integer(p, "max_successors", 1, 1_000_000),
            hidden_dimension=integer(p, "hidden_dimension", 1, 4096),
        )

    @property
    def half_life(self) -> float:
        return self.recency_half_life if self.recency_mask else 0.0


_EASE_HALF_LIVES = 13.3  # 0.5 ** 13.3 = 1e-4


class UserPersonalizationModel:
    """The fitted item-to-item parts; `score` folds one user's history in. See the module docstring."""

    def __init__(
        self,
        *,
        n_items: int,
        ease_items: np.ndarray,
        ease_b: np.ndarray,
        seq_indptr: np.ndarray,
        seq_indices: np.ndarray,
        seq_data: np.ndarray,
        popularity: np.ndarray,
        half_life: float,
        sequential_weight: float,
        sequential_decay: float,
        sequential_read_decay: float,
        bptt: int,
        popularity_weight: float,
    ) -> None:
        self.n_items = n_items
        self.ease_items = np.asarray(ease_items, dtype=np.int64)
        self.ease_b = np.asarray(ease_b, dtype=np.float32)
        self.transitions = sp.csr_array(
            (np.asarray(seq_data, dtype=np.float32), np.asarray(seq_indices), np.asarray(seq_indptr)),
            shape=(n_items, n_items),
        )
        self.popularity = np.asarray(popularity, dtype=np.float64)
        self.half_life = float(half_life)
        self.sequential_weight = float(sequential_weight)
        self.sequential_decay = float(sequential_decay)
        self.sequential_read_decay = float(sequential_read_decay)
        self.bptt = int(bptt)
        self.popularity_weight = float(popularity_weight)
        # item index -> row of ease_b, -1 for items EASE does not cover
        self.ease_position = np.full(n_items, -1, dtype=np.int64)
        self.ease_position[self.ease_items] = np.arange(len(self.ease_items))
        self.ease_covers_all = len(self.ease_items) == n_items  # ease_items are distinct, so they are all the items

    def _read(self, history_items: np.ndarray, history_weights: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """How one history is read: (ease positions, their recency weights, transition items, their step weights,
        known items, their weights). Shared by `score` and `score_batch`, so both fold a history in alike."""
        items, weights = history_sequence(np.asarray(history_items, dtype=np.int64),
                                          np.asarray(history_weights, dtype=np.float64))
        # Age in distinct items, 0 = newest, counted before dropping unknown items so they still push older ones back.
        age = np.arange(len(items) - 1, -1, -1, dtype=np.float64)
        known = (items >= 0) & (items < self.n_items) & np.isfinite(weights)
        items, weights, age = items[known], weights[known], age[known]
        recency = weights * (0.5 ** (age / self.half_life)) if self.half_life > 0 else weights
        position = self.ease_position[items]
        covered = position >= 0
        if self.half_life > 0:
            # Items more than _EASE_HALF_LIVES half-lives back weigh under 1e-4 of the newest: reading their rows of B
            # (the cost of a request) would not change a ranking.
            covered &= age < _EASE_HALF_LIVES * self.half_life
        recent = age < self.bptt if self.sequential_weight > 0 else np.zeros(len(items), dtype=bool)
        step = weights[recent] * self.sequential_read_decay ** age[recent]
        return position[covered], recency[covered], items[recent], step, items, weights

    def score(self, history_items: np.ndarray, history_weights: np.ndarray, history_times: np.ndarray) -> np.ndarray:
        positions, recency, steps_items, steps, _, _ = self._read(history_items, history_weights)
        scores = self.popularity_weight * self.popularity
        if len(positions):
            # Only the history's rows of B are read: O(len(history) · n) instead of O(n²). Items are distinct here.
            # In B's single precision: a float64 history would upcast every gathered row first (twice the traffic).
            ease = recency.astype(np.float32) @ self.ease_b[positions]
            if self.ease_covers_all:
                scores += ease
            else:
                scores[self.ease_items] += ease
        if len(steps_items):
            scores += self.sequential_weight * (self.transitions[steps_items].T @ steps)
        return scores

    def score_batch(self, histories: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> np.ndarray:
        """`score` for many users at once (rows of a float64 matrix): the histories become two sparse matrices and
        EASE is one sparse x dense product over B, the transitions one sparse product, instead of a gather per user
        (batch inference). Each row equals `score` of that history up to float32 rounding."""
        n_rows = len(histories)
        ease_rows, ease_cols, ease_vals, seq_rows, seq_cols, seq_vals = [], [], [], [], [], []
        for row, (items, weights, _times) in enumerate(histories):
            positions, recency, steps_items, steps, _, _ = self._read(items, weights)
            ease_rows.append(np.full(len(positions), row, dtype=np.int64))
            ease_cols.append(positions)
            ease_vals.append(recency)
            seq_rows.append(np.full(len(steps_items), row, dtype=np.int64))
            seq_cols.append(steps_items)
            seq_vals.append(steps)
        scores = np.empty((n_rows, self.n_items))
        scores[:] = self.popularity_weight * self.popularity
        if n_rows == 0:
            return scores
        reads = sp.csr_array(
            (np.concatenate(ease_vals).astype(np.float32), (np.concatenate(ease_rows), np.concatenate(ease_cols))),
            shape=(n_rows, len(self.ease_items)),
        )
        if reads.nnz:
            ease = reads @ self.ease_b
            if self.ease_covers_all:
                scores += ease
            else:
                scores[:, self.ease_items] += ease
        steps_matrix = sp.csr_array((np.concatenate(seq_vals), (np.concatenate(seq_rows), np.concatenate(seq_cols))),
                                    shape=(n_rows, self.n_items))
        if steps_matrix.nnz:
            scores += self.sequential_weight * (steps_matrix @ self.transitions).toarray()
        return scores

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "n_items": np.array(self.n_items, dtype=np.int64),
            "ease_items": self.ease_items,
            "ease_b": self.ease_b,
            "seq_indptr": self.transitions.indptr,
            "seq_indices": self.transitions.indices,
            "seq_data": self.transitions.data,
            "popularity": self.popularity,
            "half_life": np.array(self.half_life),
            "sequential_weight": np.array(self.sequential_weight),
            "sequential_decay": np.array(self.sequential_decay),
            "sequential_read_decay": np.array(self.sequential_read_decay),
            "bptt": np.array(self.bptt, dtype=np.int64),
            "popularity_weight": np.array(self.popularity_weight),
        }


class UserPersonalization:
    name: ClassVar[str] = "aws-user-personalization"
    defaults: ClassVar[dict[str, str]] = {
        "lambda": "500",
        "recency_half_life": "5",
        "recency_mask": "true",
        "sequential_weight": "4",
        "sequential_decay": "0.9",
        "sequential_read_decay": "0.7",
        "bptt": "32",
        "popularity_weight": "0.001",
        "ease_max_items": "20000",
        "max_successors": "200",
        "hidden_dimension": "149",
    }

    def fit(self, data: InteractionData, params: Mapping[str, str]) -> UserPersonalizationModel:
        cfg = UserPersonalizationConfig.parse(params)
        weights = checked_weights(data)
        counts = np.bincount(data.items, weights=weights, minlength=data.n_items)
        popularity = counts / counts.max() if data.n_events and counts.max() > 0 else np.zeros(data.n_items)

        # EASE covers the items with events, the most popular first when the catalog is over the dense limit.
        seen = np.flatnonzero(np.bincount(data.items, minlength=data.n_items))
        if len(seen) > cfg.ease_max_items:
            seen = np.sort(seen[np.argsort(-counts[seen], kind="stable")[: cfg.ease_max_items]])
        # Both parts read each user's sequence of distinct items (one sort of the events, shared). Transitions first:
        # their dense counting block is freed before EASE allocates its own.
        sequences = user_sequences(data, weights)
        indptr, indices, values = _transitions(sequences, data.n_items, cfg)
        x = _history_matrix(sequences, data.n_users, data.n_items, seen)
        del sequences  # before EASE's dense buffer
        ease_b = _ease(x, cfg.l2)
        return UserPersonalizationModel(
            n_items=data.n_items,
            ease_items=seen,
            ease_b=ease_b,
            seq_indptr=indptr,
            seq_indices=indices,
            seq_data=values,
            popularity=popularity,
            half_life=cfg.half_life,
            sequential_weight=cfg.sequential_weight,
            sequential_decay=cfg.sequential_decay,
            sequential_read_decay=cfg.sequential_read_decay,
            bptt=cfg.bptt,
            popularity_weight=cfg.popularity_weight,
        )

    def load(self, arrays: Mapping[str, np.ndarray]) -> UserPersonalizationModel:
        return UserPersonalizationModel(
            n_items=int(arrays["n_items"]),
            ease_items=arrays["ease_items"],
            ease_b=arrays["ease_b"],
            seq_indptr=arrays["seq_indptr"],
            seq_indices=arrays["seq_indices"],
            seq_data=arrays["seq_data"],
            popularity=arrays["popularity"],
            half_life=float(arrays["half_life"]),
            sequential_weight=float(arrays["sequential_weight"]),
            sequential_decay=float(arrays["sequential_decay"]),
            sequential_read_decay=float(arrays["sequential_read_decay"]),
            bptt=int(arrays["bptt"]),
            popularity_weight=float(arrays["popularity_weight"]),
        )


Sequences = tuple[np.ndarray, np.ndarray, np.ndarray]  # users, items, weights: see user_sequences


def _history_matrix(sequences: Sequences, n_users: int, n_items: int, items: np.ndarray) -> sp.csr_array:
    """EASE's X over `items`: each user's heaviest event weight per item, one entry per user and item (repeats would
    otherwise let one heavy clicker dominate an item's co-occurrences)."""
    users, seq_items, weights = sequences
    position = np.full(n_items, -1, dtype=np.int64)
    position[items] = np.arange(len(items))
    col = position[seq_items]
    keep = col >= 0
    return sp.csr_array((weights[keep].astype(np.float32), (users[keep], col[keep])), shape=(n_users, len(items)))


def _ease(x: sp.csr_array, l2: float) -> np.ndarray:
    """EASE's B for the users x items matrix X (float32, C order, diag 0).

    Single precision throughout: λ keeps XᵀX + λI well conditioned (eigenvalues ≥ λ), LAPACK's float32 Cholesky is
    about 2.5x faster than float64, and the only dense n x n buffer is the one LAPACK works in, so fit memory is about
    n² · 4 bytes (1.6 GB at 20,000 items) on top of the data.
    """
    n = x.shape[1]
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    # P is built in place in one Fortran-ordered buffer, which LAPACK factors and inverts without copies.
    p = _upper_gram(x, l2)
    factor, info = scipy.linalg.lapack.spotrf(p, lower=False, clean=False, overwrite_a=True)
    if info != 0:
        raise TrainingFailed("The item co-occurrence matrix is not positive definite; raise the lambda hyper-parameter")
    p, info = scipy.linalg.lapack.spotri(factor, lower=False, overwrite_c=True)
    del factor
    if info != 0:
        raise TrainingFailed("The item co-occurrence matrix could not be inverted; raise the lambda hyper-parameter")
    for start in range(0, n, _BLOCK):  # potri leaves the lower triangle stale: mirror the upper one, a block at a time
        stop = min(start + _BLOCK, n)
        p[start:stop, :start] = p[:start, start:stop].T
        block = p[start:stop, start:stop]
        block += np.triu(block, 1).T - np.tril(block, -1)
    # P is symmetric, so its transpose is the same matrix in C order: B = P·diag(-1/diag(P)) with rows contiguous.
    b = p.T
    b /= -np.diag(b).copy()[np.newaxis, :]
    np.fill_diagonal(b, 0.0)
    return b


_BLOCK = 1024  # items per block when the Gram is accumulated and P mirrored: bounds the temporaries


def _upper_gram(x: sp.csr_array, l2: float) -> np.ndarray:
    """The upper triangle of XᵀX + λI in a Fortran-ordered float32 buffer (the lower one is left zero).

    A block of item rows at a time, and only the columns from the block on: sparse products whose output is nearly
    dense would otherwise need several times the dense matrix's memory, and the lower triangle is never read.
    """
    n = x.shape[1]
    gram = np.zeros((n, n), dtype=np.float32, order="F")
    by_item = x.T.tocsr()
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        right = x[:, start:] if start else x
        gram[start:stop, start:] = (by_item[start:stop] @ right).toarray()
    gram[np.diag_indices(n)] += np.float32(l2)
    return gram


def history_sequence(items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One history's distinct items in the order they first appeared, each with its heaviest finite weight (NaN when
    it has none)."""
    if len(items) == 0:
        return items, weights
    distinct, first, inverse = np.unique(items, return_index=True, return_inverse=True)
    heaviest = np.full(len(distinct), -np.inf)
    finite = np.isfinite(weights)
    np.maximum.at(heaviest, inverse[finite], weights[finite])
    heaviest[np.isneginf(heaviest)] = np.nan
    order = np.argsort(first)
    return distinct[order], heaviest[order]


def user_sequences(data: InteractionData, weights: np.ndarray) -> Sequences:
    """Every user's sequence (see history_sequence): users, items and weights of each user's first event per item, in
    the data's (user, time) order, the weight being the heaviest of the user's events on that item."""
    key = np.asarray(data.users, dtype=np.int64) * max(data.n_items, 1) + np.asarray(data.items, dtype=np.int64)
    order = np.argsort(key, kind="stable")  # a (user, item)'s events stay in time order
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, np.int64)
    del key
    first = order[starts]
    heaviest = np.maximum.reduceat(weights[order], starts) if len(order) else np.zeros(0)
    by_time = np.argsort(first)
    first = first[by_time]
    return np.asarray(data.users)[first], np.asarray(data.items)[first], heaviest[by_time]


def _transitions(
    sequences: Sequences, n_items: int, cfg: UserPersonalizationConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-normalised CSR arrays of T[i, j]: how often j followed i within `bptt` items of the same user's sequence.

    Each row keeps its `max_successors` most likely successors (probabilities of the whole row, not renormalised):
    the rest carry little weight, and the bound keeps the artifact linear in the catalog rather than quadratic. The
    counts are summed into a dense block of rows (all of them up to 20,000 items), which is far faster than summing
    sparse pairs: bptt gaps make bptt pairs per item of a sequence.
    """
    n = n_items
    users, items, weights = sequences
    max_gap = min(cfg.bptt, len(items) - 1) if cfg.sequential_weight > 0 else 0
    rows_per_block = max(1, min(n, _DENSE_ENTRIES // max(n, 1)))
    counts = np.zeros(n, dtype=np.int64)
    indices: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for lo in range(0, n if max_gap >= 1 else 0, rows_per_block):
        hi = min(lo + rows_per_block, n)
        block = np.zeros((hi - lo) * n, dtype=np.float32)
        for gap in range(1, max_gap + 1):
            a, b = items[:-gap], items[gap:]
            # A user's sequence has distinct items, so a pair of the same user is always a move to a new item.
            pair = (users[gap:] == users[:-gap]) & (a >= lo) & (a < hi)
            step = weights[gap:][pair] * cfg.sequential_decay ** (gap - 1)
            np.add.at(block, (a[pair] - lo).astype(np.int64) * n + b[pair], step.astype(np.float32))
        for start in range(0, hi - lo, _ROWS_PER_TOP):
            stop = min(start + _ROWS_PER_TOP, hi - lo)
            columns, probabilities = _top_successors(block[start * n : stop * n].reshape(stop - start, n), cfg)
            counts[lo + start : lo + stop] = [len(c) for c in columns]
            indices += columns
            values += probabilities
        del block  # before the next block (and EASE) allocate theirs
    indptr = np.r_[0, np.cumsum(counts)].astype(np.int64)
    if not indices:
        return indptr, np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    return indptr, np.concatenate(indices), np.concatenate(values)


def _top_successors(rows: np.ndarray, cfg: UserPersonalizationConfig) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per dense row of counts: the columns of its `max_successors` largest non-zero counts, in column order, and
    their share of the whole row."""
    n = rows.shape[1]
    k = min(cfg.max_successors, n)
    top = np.argpartition(rows, n - k, axis=1)[:, n - k :] if k < n else np.broadcast_to(np.arange(n), rows.shape)
    top = np.sort(top, axis=1)
    kept = np.take_along_axis(rows, top, axis=1)
    totals = rows.sum(axis=1)
    columns, shares = [], []
    for r in range(len(rows)):
        nonzero = kept[r] > 0
        columns.append(top[r][nonzero].astype(np.int32))
        shares.append((kept[r][nonzero] / totals[r]).astype(np.float32))
    return columns, shares


_DENSE_ENTRIES = 400_000_000  # transition counts summed per dense block: 1.6 GB, no more than EASE at 20,000 items
_ROWS_PER_TOP = 1024  # rows per top-successors pass: bounds argpartition's int64 index temporaries
