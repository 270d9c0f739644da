"""Offline ranking metrics for top-k recommendations.

``recommended`` is an int array n_users × k of item indices, best first, with -1 padding a list
that holds fewer than k items. ``truth`` is a CSR matrix users × items whose non-zero entries are
the held-out interactions. Accuracy metrics average over users with at least one held-out item
and follow the definitions behind the Microsoft Recommenders benchmark figures:

- precision@k = hits / k
- recall@k = hits / |truth|
- NDCG@k with binary relevance: DCG = Σ hit_r / log2(r + 1) over ranks r = 1..k, divided by the
  DCG of an ideal list, which puts min(k, |truth|) hits first.
"""

import numpy as np
import scipy.sparse as sp


def _prepare(recommended, truth, k):
    recommended = np.asarray(recommended)
    if recommended.ndim != 2:
        raise ValueError("recommended must be a 2-D array of item indices")
    if k is not None:
        recommended = recommended[:, :k]
    truth = sp.csr_matrix(truth)
    if recommended.shape[0] != truth.shape[0]:
        raise ValueError(f"{recommended.shape[0]} recommendation rows for {truth.shape[0]} users")
    return recommended, truth


def hits(recommended, truth):
    """Boolean array shaped like ``recommended``: True where the item is in that user's truth."""
    recommended, truth = _prepare(recommended, truth, None)
    truth = truth.copy()
    truth.sum_duplicates()
    truth.eliminate_zeros()
    n_items = truth.shape[1]
    if truth.nnz == 0:
        return np.zeros(recommended.shape, dtype=bool)
    # One int64 key per (user, item) pair; a CSR with sorted indices lists the truth keys in order.
    truth_keys = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr)) * n_items
    truth_keys += truth.indices
    keys = np.arange(recommended.shape[0], dtype=np.int64)[:, None] * n_items + recommended
    position = np.minimum(np.searchsorted(truth_keys, keys), truth_keys.size - 1)
    valid = (recommended >= 0) & (recommended < n_items)
    return valid & (truth_keys[position] == keys)


def ranking_metrics(recommended, truth, k=None):
    """Precision, recall and NDCG at k as a dict, averaged over users with held-out items.

    ``k`` defaults to the width of ``recommended``; a smaller k looks at the first k columns.
    """
    recommended, truth = _prepare(recommended, truth, k)
    counts = np.diff(truth.indptr)
    rows = np.flatnonzero(counts)
    if rows.size == 0:
        raise ValueError("no user has a held-out item")
    counts = counts[rows]
    found = hits(recommended, truth)[rows]
    width = recommended.shape[1]
    n_hits = found.sum(axis=1)
    discounts = 1.0 / np.log2(np.arange(2, width + 2))
    ideal = np.cumsum(discounts)[np.minimum(counts, width) - 1]
    return {
        "precision": float(n_hits.mean() / width),
        "recall": float((n_hits / counts).mean()),
        "ndcg": float(((found @ discounts) / ideal).mean()),
    }


def precision_at_k(recommended, truth, k=None):
    """Mean of hits / k over users with held-out items."""
    return ranking_metrics(recommended, truth, k)["precision"]


def recall_at_k(recommended, truth, k=None):
    """Mean of hits / |truth| over users with held-out items."""
    return ranking_metrics(recommended, truth, k)["recall"]


def ndcg_at_k(recommended, truth, k=None):
    """Mean NDCG@k with binary relevance over users with held-out items."""
    return ranking_metrics(recommended, truth, k)["ndcg"]


def catalog_coverage(recommended, n_items):
    """Share of the catalogue that appears in at least one list: distinct items / n_items."""
    recommended = np.asarray(recommended)
    distinct = np.unique(recommended[(recommended >= 0) & (recommended < n_items)])
    return distinct.size / n_items


def intra_list_diversity(recommended, item_features):
    """Mean pairwise cosine distance (1 - cosine similarity) between the items of each list.

    ``item_features`` is items × features, sparse or dense. Averaged over lists with at least two
    items; an item without features counts as dissimilar to everything (similarity 0). Uses
    Σ_{i<j} cos(v_i, v_j) = (‖Σ v_i‖² - Σ ‖v_i‖²) / 2 over unit vectors, so no pairs are built.
    """
    recommended = np.asarray(recommended)
    n_items = item_features.shape[0]
    features = sp.csr_matrix(item_features, dtype=np.float64)
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    unit = sp.diags_array(np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)) @ features
    valid = (recommended >= 0) & (recommended < n_items)
    lengths = valid.sum(axis=1)
    lists = np.flatnonzero(lengths >= 2)
    if lists.size == 0:
        raise ValueError("no recommendation list holds two items")
    rows = np.repeat(np.arange(lists.size), lengths[lists])
    membership = sp.csr_matrix(
        (np.ones(rows.size), (rows, recommended[lists][valid[lists]])), shape=(lists.size, n_items)
    )
    summed = sp.csr_matrix(membership @ unit)
    squared_norm_of_sum = np.asarray(summed.multiply(summed).sum(axis=1)).ravel()
    unit_items = membership @ (norms > 0).astype(np.float64)
    similarity_sum = (squared_norm_of_sum - unit_items) / 2.0
    pairs = lengths[lists] * (lengths[lists] - 1) / 2.0
    return float((1.0 - similarity_sum / pairs).mean())
