"""Collaborative-filtering models, ranking and metrics on small matrices with known answers."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from peerlearn.ml import algorithms
from peerlearn.ml.metrics import (
    catalog_coverage,
    hits,
    intra_list_diversity,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)


def csr(rows, n_items):
    """A binary users × items CSR from one list of item indices per user."""
    users = [user for user, items in enumerate(rows) for _ in items]
    items = [item for items in rows for item in items]
    ones = np.ones(len(items), dtype=np.float32)
    return sp.csr_matrix((ones, (users, items)), shape=(len(rows), n_items))


def random_interactions(n_users=60, n_items=40, density=0.15, seed=3):
    rng = np.random.default_rng(seed)
    return sp.csr_matrix((rng.random((n_users, n_items)) < density).astype(np.float32))


# Users 0 and 1 share items 0 and 1; user 1 also has item 2. Users 2 and 3 live elsewhere (3, 4).
SHARED = [[0, 1], [0, 1, 2], [3, 4], [3, 4, 5]]


def scorers(X):
    return {
        "item-cosine": algorithms.item_item_scorer(X, algorithms.item_cosine(X)),
        "item-cosine, 2 neighbours": algorithms.item_item_scorer(X, algorithms.item_cosine(X, neighbours=2)),
        "EASE": algorithms.item_item_scorer(X, algorithms.ease(X, l2=0.5)),
        "PureSVD": algorithms.low_rank_scorer(X, algorithms.pure_svd(X, factors=2)),
    }


@pytest.mark.parametrize("name", ["item-cosine", "item-cosine, 2 neighbours", "EASE", "PureSVD"])
def test_the_item_a_like_minded_user_has_ranks_first(name):
    X = csr(SHARED, 6)
    recommended = algorithms.top_k(scorers(X)[name], k=2, exclude=X)
    assert recommended[0, 0] == 2  # user 0 has not seen item 2, which user 1 (same taste) has
    assert recommended[2, 0] == 5  # likewise for user 2 and item 5 from user 3


@pytest.mark.parametrize("name", ["popularity", "item-cosine", "EASE", "PureSVD"])
def test_seen_items_are_never_recommended(name):
    X = random_interactions()
    scorer = algorithms.popularity(X) if name == "popularity" else scorers(X)[name]
    recommended = algorithms.top_k(scorer, k=10, exclude=X)
    assert recommended.shape == (60, 10)
    assert (recommended >= 0).all()
    users = np.repeat(np.arange(60), 10)
    assert not np.asarray(X[users, recommended.ravel()]).any()
    assert all(len(set(row)) == 10 for row in recommended.tolist())


def test_short_lists_are_padded_when_few_items_are_unseen():
    X = csr([[0, 1, 2], [0]], 4)
    recommended = algorithms.top_k(algorithms.popularity(X), k=3, exclude=X)
    assert recommended.tolist() == [[3, -1, -1], [1, 2, 3]]


def test_top_k_orders_by_score_and_breaks_ties_by_item_index():
    scores = np.array([[0.1, 0.9, 0.5, 0.9, 0.5], [3.0, 3.0, 3.0, 3.0, 3.0]], dtype=np.float32)
    assert algorithms.top_k(scores, k=3).tolist() == [[1, 3, 2], [0, 1, 2]]
    assert algorithms.top_k(scores, k=7).tolist() == [[1, 3, 2, 4, 0, -1, -1], [0, 1, 2, 3, 4, -1, -1]]


def test_top_k_in_small_blocks_matches_one_block():
    X = random_interactions()
    B = algorithms.ease(X, l2=5.0)
    whole = algorithms.top_k(np.asarray(X @ B), k=5, exclude=X)
    # 4 bytes × 40 items × 3 users per block: twenty blocks through the callable path.
    blocked = algorithms.top_k(algorithms.item_item_scorer(X, B), k=5, exclude=X, block_bytes=480)
    assert np.array_equal(whole, blocked)


def test_top_k_needs_the_number_of_users_for_shared_scores():
    with pytest.raises(ValueError, match="n_users"):
        algorithms.top_k(np.ones(4), k=2)
    assert algorithms.top_k(np.array([1.0, 3.0, 2.0]), k=2, n_users=2).tolist() == [[1, 2], [1, 2]]


def test_popularity_counts_users_per_item():
    X = csr([[0, 1], [1], [1, 2]], 4)
    X[0, 1] = 5.0  # a repeated interaction still counts one user
    assert algorithms.popularity(X).tolist() == [1.0, 3.0, 1.0, 0.0]


def test_item_cosine_matches_hand_computed_similarities():
    # Item columns: (1,1,1), (1,1,0), (1,0,0).
    X = csr([[0, 1, 2], [0, 1], [0]], 3)
    cos01, cos02, cos12 = 2 / math.sqrt(6), 1 / math.sqrt(3), 1 / math.sqrt(2)
    full = algorithms.item_cosine(X)
    assert full.dtype == np.float32
    assert np.allclose(full.toarray(), [[0, cos01, cos02], [cos01, 0, cos12], [cos02, cos12, 0]])
    # One neighbour per item, kept in that item's column: 0 ← 1, 1 ← 0, 2 ← 1.
    nearest = algorithms.item_cosine(X, neighbours=1)
    assert np.allclose(nearest.toarray(), [[0, cos01, 0], [cos01, 0, cos12], [0, 0, 0]])


def test_item_cosine_leaves_items_without_interactions_empty():
    X = csr([[0, 1], [1]], 3)
    similarity = algorithms.item_cosine(X).toarray()
    assert not similarity[2].any() and not similarity[:, 2].any()


def test_ease_solves_each_items_ridge_regression_on_the_others():
    X = random_interactions(n_users=30, n_items=8, density=0.4)
    l2 = 2.0
    B = algorithms.ease(X, l2)
    assert B.dtype == np.float32 and not np.diag(B).any()
    dense = X.toarray().astype(np.float64)
    for item in range(8):
        others = [other for other in range(8) if other != item]
        A = dense[:, others]
        expected = np.linalg.solve(A.T @ A + l2 * np.eye(7), A.T @ dense[:, item])
        assert np.allclose(B[others, item], expected, atol=1e-5)


def test_pure_svd_reproduces_a_low_rank_matrix_and_is_repeatable():
    X = csr([[0, 1], [0, 1], [2, 3], [2, 3], [0, 1]], 4)
    V = algorithms.pure_svd(X, factors=2)
    assert V.shape == (4, 2) and V.dtype == np.float32
    assert np.allclose(X @ V @ V.T, X.toarray(), atol=1e-5)
    assert np.array_equal(V, algorithms.pure_svd(X, factors=2))


# Ranks 1-3 for three users over 10 items; user 2 has nothing held out and is not averaged.
RECOMMENDED = np.array([[0, 1, 2], [3, 4, -1], [5, 6, 7]])
TRUTH = csr([[1, 9], [3, 4, 8, 9], []], 10)
D2, D3 = 1 / math.log2(3), 1 / math.log2(4)  # discounts at ranks 2 and 3


def test_hits_mark_held_out_items_and_ignore_padding():
    assert hits(RECOMMENDED, TRUTH).tolist() == [[False, True, False], [True, True, False], [False] * 3]


def test_precision_recall_and_ndcg_match_hand_computation():
    # User 0: one hit of 2 held out, at rank 2. User 1: two hits of 4, at ranks 1 and 2.
    assert precision_at_k(RECOMMENDED, TRUTH) == pytest.approx((1 / 3 + 2 / 3) / 2)
    assert recall_at_k(RECOMMENDED, TRUTH) == pytest.approx((1 / 2 + 2 / 4) / 2)
    ndcg_user0 = D2 / (1 + D2)  # ideal list: min(3, 2) = 2 hits
    ndcg_user1 = (1 + D2) / (1 + D2 + D3)  # ideal list: min(3, 4) = 3 hits
    assert ndcg_at_k(RECOMMENDED, TRUTH) == pytest.approx((ndcg_user0 + ndcg_user1) / 2)
    assert ndcg_at_k(RECOMMENDED, TRUTH) == pytest.approx(0.5761067, abs=1e-7)


def test_metrics_at_a_smaller_k_read_the_first_columns():
    assert ranking_metrics(RECOMMENDED, TRUTH, k=1) == pytest.approx(
        {"precision": 0.5, "recall": 0.125, "ndcg": 0.5}
    )


def test_a_perfect_list_scores_one():
    truth = csr([[2, 0]], 5)
    assert ranking_metrics(np.array([[0, 2, -1]]), truth) == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "ndcg": 1.0}
    )


def test_metrics_refuse_truth_with_no_held_out_items():
    with pytest.raises(ValueError, match="held-out"):
        ranking_metrics(RECOMMENDED, csr([[], [], []], 10))


def test_catalog_coverage_counts_distinct_recommended_items():
    assert catalog_coverage(RECOMMENDED, 10) == 0.8
    assert catalog_coverage(np.array([[1, 1], [1, -1]]), 4) == 0.25


@pytest.mark.parametrize("as_sparse", [False, True])
def test_intra_list_diversity_is_mean_pairwise_cosine_distance(as_sparse):
    features = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=np.float32)
    if as_sparse:
        features = sp.csr_matrix(features)
    lists = np.array([[0, 1, -1], [0, 2, -1], [1, -1, -1], [0, 1, 2], [0, 3, -1]])
    # Lists of one item do not count; item 3 has no features, so it is unlike everything.
    expected = [1.0, 1 - 1 / math.sqrt(2), 1 - (2 / math.sqrt(2)) / 3, 1.0]
    assert intra_list_diversity(lists, features) == pytest.approx(sum(expected) / 4)
