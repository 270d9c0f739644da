"""Refreshing a learner's recommendations ranks them in services/offload.py's pool, so under
gevent, where jobs run inline in the web process (no Redis), the ranking's numpy and Python do
not hold up the event loop.

As in test_passwords_offload.py, gevent must patch a fresh interpreter: a script builds a small
simulated platform, fits the model, then refreshes REFRESHES learners in one greenlet while another
ticks every 5 ms, and prints the ticks counted. With the pool made inline (as it is outside
gevent), the loop cannot tick until every refresh is done.
"""

import textwrap

from tests.support.gevent_ticks import run_script

REFRESHES = 20

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import json
    import sys
    import tempfile

    from sqlalchemy import select

    from bench.roomkit import testing_app
    from peerlearn.extensions import db
    from peerlearn.ml.simulate import simulate
    from peerlearn.ml.world import SimulationConfig
    from peerlearn.models import User
    from peerlearn.services import offload, recommendations
    from peerlearn.services.simulated_platform import write_to_database
    from tests.support.gevent_ticks import count_ticks

    if sys.argv[1] == "inline":
        offload.gevent_threading = lambda: False
    folder = tempfile.mkdtemp()
    app = testing_app(f"sqlite:///{folder}/platform.sqlite3", INSTANCE_DIR=folder)
    with app.app_context():
        db.create_all()
        write_to_database(simulate(SimulationConfig(learners=600, mentors=60, sessions=400)))
        recommendations.rebuild()
        learners = db.session.scalars(select(User.id).order_by(User.id).limit(int(sys.argv[2]))).all()
        assert recommendations.refresh_learner(learners[0])  # the model is loaded once, here

    def refresh():
        with app.app_context():
            return [recommendations.refresh_learner(learner) for learner in learners]

    [refreshed], ticks, elapsed = count_ticks(0.005, refresh)
    with app.app_context():
        pooled = offload.pool_for(app, "recommender", 1).threads is not None
    print(json.dumps({
        "refreshed": refreshed, "ticks": ticks, "possible": int(elapsed / 0.005), "pooled": pooled
    }))
    """
)


def run(mode):
    return run_script(SCRIPT, mode, REFRESHES, timeout=300)


def test_refreshing_under_gevent_leaves_the_event_loop_ticking():
    figures = run("offload")
    assert figures["pooled"]
    assert figures["refreshed"] == [True] * REFRESHES
    # The refreshes take ``possible`` ticks' worth of time (5-30 ms a ranking, by machine): a
    # loop left free while the rankings run in their thread ticks through most of it (three
    # quarters and more here), one held by them only between two (once in practice, below).
    assert figures["ticks"] >= figures["possible"] // 2, figures
    assert figures["ticks"] >= 5, figures


def test_ranking_on_the_event_loop_starves_it():
    figures = run("inline")
    assert not figures["pooled"]
    assert figures["refreshed"] == [True] * REFRESHES
    assert figures["ticks"] < REFRESHES // 2, figures
    assert figures["ticks"] < figures["possible"] // 4, figures
