"""MovieLens-100k end to end: the data out of the recbole wheel, the split, and the quality targets.

The wheel is downloaded once into $PEERLEARN_DATA_CACHE or .cache/ at the repository root.
"""

import numpy as np
import pytest

from peerlearn.ml import movielens
from tests.conftest import unavailable


@pytest.fixture(scope="module")
def wheel():
    try:
        return movielens.fetch_wheel(movielens.default_cache_dir())
    except movielens.FetchError as exc:
        unavailable(f"MovieLens-100k wheel not downloadable: {exc}")


@pytest.fixture(scope="module")
def ratings(wheel):
    return movielens.load(wheel)


@pytest.fixture(scope="module")
def results(ratings):
    train, test = movielens.split(ratings)
    return movielens.evaluate(train, test)


def test_the_wheel_holds_all_100k_ratings(ratings):
    assert ratings.shape == (943, 1682)
    assert len(ratings.user) == 100_000
    assert set(np.unique(ratings.rating).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    # Each user rated at least 20 films in MovieLens-100k.
    assert np.bincount(ratings.user).min() >= 20


def test_split_holds_out_a_quarter_of_each_users_ratings(ratings):
    train, test = movielens.split(ratings)
    assert train.nnz + test.nnz == 100_000
    assert not train.multiply(test).nnz
    per_user = np.diff(train.indptr) + np.diff(test.indptr)
    assert np.array_equal(np.diff(test.indptr), per_user - np.round(0.75 * per_user))
    assert (movielens.split(ratings)[1] != test).nnz == 0
    assert (movielens.split(ratings, seed=1)[1] != test).nnz > 0


def test_genres_come_from_the_item_file(wheel, ratings):
    genres, names = movielens.item_genres(wheel, ratings.item_ids)
    assert genres.shape == (1682, len(names)) and "Comedy" in names and "Film-Noir" in names
    toy_story = int(np.flatnonzero(ratings.item_ids == "1")[0])
    assert [names[i] for i in genres[toy_story].indices] == ["Animation", "Children's", "Comedy"]


def test_ease_beats_the_published_bpr_figures(results):
    ease = results["EASE"]
    assert ease["ndcg"] >= 0.45
    assert ease["precision"] >= 0.39


def test_every_collaborative_model_beats_popularity(results):
    popular = results["popularity"]
    assert 0.2 < popular["ndcg"] < 0.3
    for name in ("item-cosine", "PureSVD", "EASE"):
        assert results[name]["ndcg"] > popular["ndcg"] + 0.1
        assert results[name]["precision"] > popular["precision"]
        assert results[name]["coverage"] > popular["coverage"]
