"""MovieLens-100k as an offline benchmark for the collaborative-filtering models.

The data comes from the wheel of ``recbole==1.2.1`` on PyPI, which ships the 100,000 ratings as
``recbole/dataset_example/ml-100k/ml-100k.inter``. The wheel is downloaded once into a cache
directory and read with ``zipfile``; recbole itself is never installed, and the data is never
committed.

The protocol follows the Microsoft Recommenders MovieLens-100k benchmark: every rating is an
interaction, each user's interactions are split 75/25 at random, and models rank every item the
user has not seen in training.
"""

import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from peerlearn.ml import algorithms
from peerlearn.ml.metrics import catalog_coverage, intra_list_diversity, ranking_metrics

PACKAGE = "recbole==1.2.1"
WHEEL_NAME = "recbole-1.2.1-py3-none-any.whl"
INTERACTIONS_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.inter"
ITEMS_MEMBER = "recbole/dataset_example/ml-100k/ml-100k.item"
SEED = 42
TOP_K = 10

# Hyper-parameters chosen by ``tune`` (run it with ``bench/movielens.py --tune``): each training
# user's interactions were split again 75/25 (seed 7), every candidate was fitted on the 75 and
# the value with the best NDCG@10 on the 25 was kept. The test split played no part. Validation
# NDCG@10: EASE l2 500 → 0.2634, 1000 → 0.2652, 1500 → 0.2627; item-cosine neighbours 200 →
# 0.2528, 300 → 0.2530, 400 → 0.2523; PureSVD factors 5 → 0.2430, 10 → 0.2577, 15 → 0.2533.
EASE_L2 = 1000.0
ITEM_COSINE_NEIGHBOURS = 300
PURE_SVD_FACTORS = 10


def default_cache_dir():
    """Where the wheel is kept: $PEERLEARN_DATA_CACHE, else .cache/ at the repository root."""
    configured = os.environ.get("PEERLEARN_DATA_CACHE")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / ".cache"


class FetchError(RuntimeError):
    """The wheel holding the data could not be downloaded."""


@dataclass(frozen=True)
class Interactions:
    """Ratings as parallel arrays over 0-based user and item indices."""

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray
    user_ids: np.ndarray
    item_ids: np.ndarray

    @property
    def shape(self):
        return (len(self.user_ids), len(self.item_ids))

    def to_csr(self, mask=None):
        """Binary users × items CSR (float32) of the interactions selected by ``mask``."""
        users, items = (self.user, self.item) if mask is None else (self.user[mask], self.item[mask])
        matrix = sp.csr_matrix(
            (np.ones(users.size, dtype=np.float32), (users, items)), shape=self.shape, dtype=np.float32
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return matrix


def fetch_wheel(cache_dir):
    """Path of the recbole wheel in ``cache_dir``, downloading it with pip if it is not there yet."""
    cache_dir = Path(cache_dir)
    wheel = cache_dir / WHEEL_NAME
    if wheel.is_file():
        return wheel
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--quiet",
        PACKAGE,
        "-d",
        str(cache_dir),
    ]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)  # noqa: S603
    except (OSError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        raise FetchError(f"pip download {PACKAGE} failed: {detail.strip()[-500:]}") from exc
    if not wheel.is_file():
        raise FetchError(f"pip download {PACKAGE} did not leave {WHEEL_NAME} in {cache_dir}")
    return wheel


def _read_table(wheel_path, member):
    """Header names (without their ``:type`` suffix) and rows of a tab-separated atomic file."""
    with zipfile.ZipFile(wheel_path) as archive:
        text = archive.read(member).decode("utf-8", errors="replace")
    lines = text.splitlines()
    header = [name.split(":", 1)[0] for name in lines[0].split("\t")]
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    return header, rows


def load(wheel_path):
    """The 100,000 ratings read straight out of the wheel, as ``Interactions``."""
    header, rows = _read_table(wheel_path, INTERACTIONS_MEMBER)
    columns = dict(zip(header, zip(*rows, strict=True), strict=True))
    user_ids, user = np.unique(np.array(columns["user_id"]), return_inverse=True)
    item_ids, item = np.unique(np.array(columns["item_id"]), return_inverse=True)
    return Interactions(
        user=user.astype(np.int32),
        item=item.astype(np.int32),
        rating=np.array(columns["rating"], dtype=np.float32),
        timestamp=np.array(columns["timestamp"], dtype=np.float64).astype(np.int64),
        user_ids=user_ids,
        item_ids=item_ids,
    )


def item_genres(wheel_path, item_ids):
    """Items × genres binary CSR aligned with ``item_ids``, or None when the wheel has no genres.

    Genres are the space-separated tokens of the ``class`` column of ml-100k.item. Returns
    ``(matrix, genre_names)``.
    """
    try:
        header, rows = _read_table(wheel_path, ITEMS_MEMBER)
    except KeyError:
        return None
    if "item_id" not in header or "class" not in header:
        return None
    id_column, genre_column = header.index("item_id"), header.index("class")
    position = {item_id: index for index, item_id in enumerate(item_ids)}
    genres_of = {
        row[id_column]: row[genre_column].split() for row in rows if len(row) > max(id_column, genre_column)
    }
    names = sorted({genre for genres in genres_of.values() for genre in genres})
    column = {name: index for index, name in enumerate(names)}
    pairs = [
        (position[item_id], column[genre])
        for item_id, genres in genres_of.items()
        if item_id in position
        for genre in genres
    ]
    rows_index, columns_index = zip(*pairs, strict=True) if pairs else ((), ())
    matrix = sp.csr_matrix(
        (np.ones(len(pairs), dtype=np.float32), (rows_index, columns_index)),
        shape=(len(item_ids), len(names)),
    )
    return matrix, names


def split_mask(user, test_fraction=0.25, seed=SEED):
    """Boolean mask of the interactions held out for test: a random share of each user's.

    Each user keeps round((1 - test_fraction) · n) of their n interactions for training.
    """
    user = np.asarray(user)
    rng = np.random.default_rng(seed)
    # Sort by user, then by a random key: a random order within each user.
    order = np.lexsort((rng.random(user.size), user))
    counts = np.bincount(user)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.arange(user.size) - np.repeat(starts, counts)
    kept = np.round((1.0 - test_fraction) * counts).astype(np.int64)
    test = np.zeros(user.size, dtype=bool)
    test[order] = rank >= np.repeat(kept, counts)
    return test


def split(interactions, test_fraction=0.25, seed=SEED):
    """Per-user random train/test split: ``(train, test)`` binary CSR users × items."""
    test = split_mask(interactions.user, test_fraction, seed)
    return interactions.to_csr(~test), interactions.to_csr(test)


def models(ease_l2=EASE_L2, neighbours=ITEM_COSINE_NEIGHBOURS, factors=PURE_SVD_FACTORS):
    """The benchmarked models: name → function(train) returning a ``top_k`` scorer."""
    return {
        "popularity": lambda train: algorithms.popularity(train),
        "item-cosine": lambda train: algorithms.item_item_scorer(
            train, algorithms.item_cosine(train, neighbours=neighbours)
        ),
        "PureSVD": lambda train: algorithms.low_rank_scorer(train, algorithms.pure_svd(train, factors)),
        "EASE": lambda train: algorithms.item_item_scorer(train, algorithms.ease(train, l2=ease_l2)),
    }


def evaluate(train, test, k=TOP_K, item_features=None, chosen=None):
    """Fit each model on ``train``, rank every unseen item, and score the top k against ``test``.

    Returns name → dict with precision, recall, ndcg, coverage, fit_seconds (model fitting),
    rank_seconds, and diversity when ``item_features`` (items × features) is given. ``chosen``
    maps names to model builders (default: ``models()``).
    """
    results = {}
    for name, build in (chosen or models()).items():
        started = time.perf_counter()
        scorer = build(train)
        fitted = time.perf_counter()
        recommended = algorithms.top_k(scorer, k, exclude=train)
        ranked = time.perf_counter()
        row = ranking_metrics(recommended, test, k)
        row["coverage"] = catalog_coverage(recommended, train.shape[1])
        if item_features is not None:
            row["diversity"] = intra_list_diversity(recommended, item_features)
        row["fit_seconds"] = fitted - started
        row["rank_seconds"] = ranked - fitted
        results[name] = row
    return results


def tune(train, grids, k=TOP_K, validation_fraction=0.25, seed=7):
    """Pick each model's hyper-parameter by NDCG@k on a validation split of ``train`` alone.

    ``grids`` maps a model name to ``(builder(value) -> model builder, candidate values)``.
    Returns name → (best value, {value: validation NDCG@k}).
    """
    train = algorithms.as_csr(train, binary=True)
    users = np.repeat(np.arange(train.shape[0]), np.diff(train.indptr))
    held_out = split_mask(users, validation_fraction, seed)
    items = train.indices
    shape = train.shape

    def part(mask):
        ones = np.ones(int(mask.sum()), dtype=np.float32)
        return sp.csr_matrix((ones, (users[mask], items[mask])), shape=shape)

    fit_part, validation = part(~held_out), part(held_out)
    chosen = {}
    for name, (builder, values) in grids.items():
        scores = {}
        for value in values:
            recommended = algorithms.top_k(builder(value)(fit_part), k, exclude=fit_part)
            scores[value] = ranking_metrics(recommended, validation, k)["ndcg"]
        chosen[name] = (max(scores, key=scores.get), scores)
    return chosen
