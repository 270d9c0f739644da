"""A small crafted platform for the recommendation tests, with known answers: peers who learned
from the same mentors, a learner who follows them part of the way, and upcoming sessions."""

from datetime import timedelta

from peerlearn.extensions import db
from peerlearn.models import Booking, InteractionKind, utcnow
from peerlearn.services import interactions
from tests.factories import make_session


def history(learner, session, *, kinds=("book", "attend", "complete"), when=None):
    """A learner's past: an attended booking of a finished session and its interactions."""
    when = when or session.starts_at
    db.session.add(
        Booking(
            session_id=session.id,
            learner_id=learner.id,
            status="attended",
            amount_paise=0,
            confirmed_at=when - timedelta(days=2),
        )
    )
    for kind in kinds:
        interactions.record(learner.id, InteractionKind(kind), session=session, now=when)
    db.session.commit()


def crafted_platform(make_user):
    """Chitra's and Asha's finished sessions, four peers who took both, Tara who took Chitra's, and
    two upcoming sessions of the same category: Asha's (what peers would take) and Bala's."""
    now = utcnow()
    asha = make_user(role="mentor", name="Asha Rao")
    chitra = make_user(role="mentor", name="Chitra Iyer")
    bala = make_user(role="mentor", name="Bala Menon")
    past = now - timedelta(days=10)
    watercolour = make_session(
        chitra,
        title="Watercolour washes",
        category="Music & Arts",
        starts_at=past,
        status="completed",
        skills=["Watercolour"],
    )
    figure = make_session(
        asha,
        title="Figure drawing studio",
        category="Music & Arts",
        starts_at=past - timedelta(days=3),
        status="completed",
        skills=["Drawing"],
    )
    # Peers: they learned from Chitra and from Asha.
    peers = [make_user(name=f"Peer {i}") for i in range(4)]
    for peer in peers:
        history(peer, watercolour)
        history(peer, figure)
    target = make_user(name="Tara Learner")
    history(target, watercolour)
    # Upcoming: Asha's (what peers would take) and Bala's (nobody's mentor), same category.
    asha_next = make_session(
        asha, title="Portrait sketching", category="Music & Arts", skills=["Sketching"], capacity=10
    )
    bala_next = make_session(
        bala, title="Calligraphy strokes", category="Music & Arts", skills=["Calligraphy"], capacity=10
    )
    return {
        "now": now,
        "asha": asha,
        "chitra": chitra,
        "bala": bala,
        "target": target,
        "peers": peers,
        "asha_next": asha_next,
        "bala_next": bala_next,
    }
