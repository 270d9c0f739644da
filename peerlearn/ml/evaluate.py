"""Offline evaluation of the platform recommender: popularity, content, collaborative and hybrid
on a temporal split, scored with precision@10, recall@10, NDCG@10, catalog coverage and
intra-list diversity (``ml/metrics.py``).

A split is a ``Dataset`` as the platform stood at some moment plus the truth: which of the
sessions open at that moment each user booked in the following two weeks.
"""

import itertools
import time
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np

from . import metrics
from .recommender import Model, Weights

K = 10
# The simulated platform evaluated on ends here, not "now", so its figures repeat run to run.
SIMULATION_END = datetime(2026, 11, 1, tzinfo=UTC).timestamp()

# Each model is the hybrid pipeline (filters, MMR) with some parts switched off.
VARIANTS = {
    "popularity": Weights(collaborative=0.0, content=0.0, skills=0.0, popularity=1.0),
    "content": Weights(collaborative=0.0, content=0.5, skills=0.5, popularity=0.0),
    "collaborative": Weights(collaborative=1.0, content=0.0, skills=0.0, popularity=0.0),
    "hybrid": Weights(),
}


def simulated_split(validation=False):
    """The default simulated platform (fixed seed and end) as of its test weeks, or with
    ``validation`` the two weeks before them: (Dataset, truth)."""
    from .simulate import SimulationConfig, simulate

    return simulate(SimulationConfig(end=SIMULATION_END)).temporal_split(validation=validation)


def rank(model, users, k=K, block=500):
    """users × k session indices (-1 padded) from ``model`` for the given user indices."""
    out = np.full((len(users), k), -1, dtype=np.int64)
    for start in range(0, len(users), block):
        rows = model.rows_for(users[start : start + block])
        lists, _mentor_scores = model.recommend(rows, k=k, pool=max(100, 3 * k))
        for offset, items in enumerate(lists):
            chosen = [session for session, _score, _reason in items[:k]]
            out[start + offset, : len(chosen)] = chosen
    return out


def score_split(ds, truth, weights, k=K, model=None):
    """Fit with ``weights`` and score the users that have held-out bookings: a dict of figures."""
    started = time.perf_counter()
    model = Model(ds, weights) if model is None else _reweighted(model, weights)
    fitted = time.perf_counter() - started
    users = np.flatnonzero(np.diff(truth.indptr))
    recommended = rank(model, users, k)
    figures = metrics.ranking_metrics(recommended, truth[users], k)
    open_sessions = np.flatnonzero(ds.session_open)
    figures["coverage"] = metrics.catalog_coverage(_as_open(recommended, open_sessions), len(open_sessions))
    figures["diversity"] = metrics.intra_list_diversity(recommended, model.session_vectors)
    figures["users"] = len(users)
    figures["fit_seconds"] = fitted
    return figures


def _as_open(recommended, open_sessions):
    """Session indices → positions among the open sessions (coverage counts over those)."""
    position = np.full(max(int(open_sessions.max(initial=-1)) + 1, 1), -1, dtype=np.int64)
    position[open_sessions] = np.arange(len(open_sessions))
    return np.where(recommended >= 0, position[np.maximum(recommended, 0)], -1)


def _reweighted(model, weights):
    """The same fitted matrices mixed differently (the fit does not depend on the mix, except
    EASE's L2, which a variant keeps from the fitted model)."""
    model.weights = replace(
        weights, ease_l2_mentors=model.weights.ease_l2_mentors, ease_l2_skills=model.weights.ease_l2_skills
    )
    return model


def compare(ds, truth, k=K, variants=VARIANTS):
    """Every variant on one split, fitting once: {name: figures}."""
    model = Model(ds, Weights())
    return {name: score_split(ds, truth, weights, k, model=model) for name, weights in variants.items()}


def tune(ds, truth, k=K):
    """Search the mix on a validation split: [(ndcg, weights)], best first."""
    model = Model(ds, Weights())
    results = []
    grid = itertools.product(
        (0.3, 0.45, 0.6), (0.1, 0.2, 0.3), (0.1, 0.2, 0.3), (0.05, 0.15, 0.25), (0.5, 0.7, 0.9)
    )
    for collaborative, content, skills, popularity, mentor_share in grid:
        weights = Weights(
            collaborative=collaborative,
            content=content,
            skills=skills,
            popularity=popularity,
            mentor_share=mentor_share,
        )
        figures = score_split(ds, truth, weights, k, model=model)
        results.append((figures["ndcg"], weights))
    results.sort(key=lambda item: -item[0])
    return results


def format_table(results, title):
    lines = [
        title,
        f"{'model':<14} {'P@10':>7} {'R@10':>7} {'NDCG@10':>8} {'coverage':>9} {'diversity':>9} {'users':>6}",
    ]
    for name, figures in results.items():
        lines.append(
            f"{name:<14} {figures['precision']:>7.4f} {figures['recall']:>7.4f} {figures['ndcg']:>8.4f} "
            f"{figures['coverage']:>9.4f} {figures['diversity']:>9.4f} {figures['users']:>6}"
        )
    return "\n".join(lines)
