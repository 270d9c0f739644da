"""Recommendation quality on MovieLens-100k, next to the published Microsoft Recommenders figures.

    .venv/bin/python bench/movielens.py            # evaluate with the hyper-parameters fixed in code
    .venv/bin/python bench/movielens.py --tune     # first show the validation search behind them

Downloads the recbole 1.2.1 wheel once (into $PEERLEARN_DATA_CACHE or .cache/) and reads the
100,000 ratings out of it. Each user's ratings are split 75/25 at random (seed 42); every model
ranks all items the user has not seen in training. Prints P@10, R@10, NDCG@10, catalogue
coverage, intra-list diversity (cosine distance between genre vectors, or between item
co-occurrence vectors when the wheel has no genres) and the time to fit, then the published
figures on the same data and protocol. ``--tune`` searches each model's hyper-parameter on a
validation split carved from the training data only, the search that chose the values in
peerlearn/ml/movielens.py.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peerlearn.ml import movielens

# Microsoft Recommenders README, MovieLens-100k, 75/25 stratified split, k = 10:
# (P@10, R@10, NDCG@10). Popularity is not in that table; its NDCG@10 is quoted as about 0.24.
PUBLISHED = {
    "BiVAE": (0.411771, 0.219145, 0.475077),
    "BPR": (0.388229, 0.212522, 0.441997),
    "LightGCN": (0.379626, 0.144336, 0.419846),
    "NCF": (0.347296, 0.180775, 0.396118),
    "SAR": (0.330753, 0.176385, 0.382461),
    "popularity": (None, None, 0.24),
}

GRIDS = {
    "EASE": (
        lambda l2: movielens.models(ease_l2=l2)["EASE"],
        (50.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 1500.0, 2000.0, 3000.0),
    ),
    "item-cosine": (
        lambda n: movielens.models(neighbours=n)["item-cosine"],
        (10, 25, 50, 100, 200, 300, 400, 800, None),
    ),
    "PureSVD": (
        lambda f: movielens.models(factors=f)["PureSVD"],
        (5, 10, 15, 20, 30, 50, 100),
    ),
}


def item_features(wheel, data, train):
    """Genre vectors from the wheel, else each item's column of the training matrix."""
    genres = movielens.item_genres(wheel, data.item_ids)
    if genres is not None:
        return genres[0], f"genres ({len(genres[1])})"
    return train.T.tocsr(), "co-occurrence"


def cell(value, width=8):
    return f"{value:>{width}.4f}" if value is not None else " " * (width - 1) + "-"


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="where the wheel is kept")
    parser.add_argument("--tune", action="store_true", help="show the validation search first")
    args = parser.parse_args()

    started = time.perf_counter()
    wheel = movielens.fetch_wheel(args.cache_dir or movielens.default_cache_dir())
    data = movielens.load(wheel)
    train, test = movielens.split(data)
    features, feature_kind = item_features(wheel, data, train)
    print(
        f"MovieLens-100k: {data.shape[0]} users, {data.shape[1]} items, {len(data.user)} ratings; "
        f"train {train.nnz}, test {test.nnz}; loaded in {time.perf_counter() - started:.2f} s"
    )

    if args.tune:
        tuning_started = time.perf_counter()
        print("\nValidation NDCG@10 (training data split again 75/25, seed 7):")
        for name, (best, scores) in movielens.tune(train, GRIDS).items():
            listed = ", ".join(f"{value}: {score:.4f}" for value, score in scores.items())
            print(f"  {name:<12} best {best}   [{listed}]")
        print(f"  search took {time.perf_counter() - tuning_started:.1f} s")

    print(
        f"\nTest split, k = {movielens.TOP_K}; diversity over {feature_kind}; "
        f"EASE l2 = {movielens.EASE_L2:g}, item-cosine neighbours = {movielens.ITEM_COSINE_NEIGHBOURS}, "
        f"PureSVD factors = {movielens.PURE_SVD_FACTORS}\n"
    )
    header = f"{'model':<22}{'P@10':>8}{'R@10':>8}{'NDCG@10':>9}{'coverage':>10}{'diversity':>10}{'fit s':>8}"
    header += f"{'rank s':>8}"
    print(header)
    print("-" * len(header))
    results = movielens.evaluate(train, test, item_features=features)
    for name, row in results.items():
        print(
            f"{name:<22}{cell(row['precision'])}{cell(row['recall'])}{cell(row['ndcg'], 9)}"
            f"{cell(row['coverage'], 10)}{cell(row['diversity'], 10)}"
            f"{row['fit_seconds']:>8.3f}{row['rank_seconds']:>8.3f}"
        )
    for name, (precision, recall, ndcg) in PUBLISHED.items():
        print(f"{'published ' + name:<22}{cell(precision)}{cell(recall)}{cell(ndcg, 9)}")
    print(f"\nTotal {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
