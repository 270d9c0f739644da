"""Demo data for `flask seed-demo`: realistic accounts so a fresh install has a living catalog,
with faces (generated avatars), covers, reviews and past sessions with their attendance."""

import hashlib
import io
import json
import logging
import secrets
import shutil
import subprocess
import tempfile
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageOps
from sqlalchemy import select

from . import i18n, system_texts
from .extensions import db
from .models import (
    Attendance,
    Booking,
    BookingStatus,
    Coupon,
    CouponKind,
    InteractionKind,
    LearningSession,
    LedgerEntry,
    Notification,
    NotificationKind,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    PurchaseStatus,
    Review,
    Role,
    SessionPack,
    SessionStatus,
    User,
    WaitlistEntry,
    WaitlistStatus,
    WebhookEndpoint,
    utcnow,
)
from .services import avatars, covers, interactions, ledger, packs, passwords, skills, storage, webhooks
from .services.sessions import COVER_SIZE, local_to_utc

log = logging.getLogger(__name__)

DEMO_PASSWORD = "peerlearn-demo"  # noqa: S105 - published in the README on purpose

DEMO_USERS = [
    {
        "email": "admin@peerlearn.local",
        "name": "Nisha Kapoor",
        "role": Role.ADMIN,
        "bio": "Runs community operations for PeerLearn.",
    },
    {
        "email": "mentor1@peerlearn.local",
        "name": "Asha Raman",
        "role": Role.MENTOR,
        "headline": "Senior data scientist · Python, ML and statistics",
        "bio": (
            "Eight years building forecasting and recommendation systems at two Bengaluru "
            "start-ups. I teach Python for data work the way it is used on the job: clean "
            "notebooks, honest validation and models you can explain to a product manager."
        ),
        "hourly_rate_paise": 1500_00,
        "skills": ["Python", "Machine Learning", "Pandas", "Statistics", "SQL", "scikit-learn"],
        "interests": ["MLOps", "Data Visualization"],
        "timezone": "Asia/Kolkata",
    },
    {
        "email": "mentor2@peerlearn.local",
        "name": "Vikram Nair",
        "role": Role.MENTOR,
        "headline": "Full-stack engineer · React, Django and system design",
        "bio": (
            "Tech lead for a payments product serving two million users. I mentor developers "
            "moving from tutorials to production: code review habits, API design, and how to "
            "reason about scale in interviews and at work."
        ),
        "hourly_rate_paise": 1200_00,
        "skills": ["JavaScript", "React", "Django", "System Design", "PostgreSQL", "TypeScript"],
        "interests": ["Rust", "Distributed Systems"],
        "timezone": "Asia/Kolkata",
    },
    {
        "email": "mentor3@peerlearn.local",
        "name": "Meera Iyer",
        "role": Role.MENTOR,
        "headline": "Product designer · UX research and Figma",
        "bio": (
            "Product designer with a background in architecture, now leading design for a "
            "health-tech app. Portfolio reviews, research plans, and Figma workflows that keep "
            "engineers happy."
        ),
        "hourly_rate_paise": 1000_00,
        "skills": ["UI Design", "Figma", "User Research", "Design Systems", "Prototyping"],
        "interests": ["Accessibility", "Motion Design"],
        "timezone": "Asia/Kolkata",
    },
    {
        "email": "learner1@peerlearn.local",
        "name": "Rohan Gupta",
        "role": Role.LEARNER,
        "bio": "Final-year CS student preparing for data roles.",
        "skills": ["Python", "SQL"],
        "interests": ["Machine Learning", "Statistics", "Pandas"],
    },
    {
        "email": "learner2@peerlearn.local",
        "name": "Priya Sharma",
        "role": Role.LEARNER,
        "bio": "Frontend developer learning backend and system design.",
        "skills": ["JavaScript", "React", "CSS"],
        "interests": ["System Design", "Django", "PostgreSQL"],
    },
    {
        "email": "learner3@peerlearn.local",
        "name": "Arjun Mehta",
        "role": Role.LEARNER,
        "bio": "Marketing analyst moving into product design.",
        "skills": ["Excel", "Data Visualization"],
        "interests": ["UI Design", "Figma", "User Research"],
    },
    {
        "email": "learner4@peerlearn.local",
        "name": "Kavya Reddy",
        "role": Role.LEARNER,
        "bio": "Backend engineer curious about machine learning in production.",
        "skills": ["Java", "PostgreSQL", "Docker"],
        "interests": ["Machine Learning", "MLOps", "Python"],
    },
    {
        "email": "learner5@peerlearn.local",
        "name": "Sameer Khan",
        "role": Role.LEARNER,
        "bio": "Self-taught developer building a portfolio.",
        "skills": ["HTML", "CSS", "JavaScript"],
        "interests": ["React", "TypeScript", "Design Systems"],
    },
]


def load_demo():
    """Create the demo accounts that do not exist yet. Returns how many were created."""
    password_hash = passwords.hash_password(DEMO_PASSWORD)
    created = 0
    for spec in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.email == spec["email"])) is not None:
            continue
        user = User(
            email=spec["email"],
            name=spec["name"],
            is_admin=spec["role"] == Role.ADMIN,
            teaching_enabled_at=utcnow() if spec["role"] == Role.MENTOR else None,
            password_hash=password_hash,
            email_verified_at=utcnow(),
            timezone=spec.get("timezone", "Asia/Kolkata"),
            headline=spec.get("headline", ""),
            bio=spec.get("bio", ""),
            hourly_rate_paise=spec.get("hourly_rate_paise", 0),
        )
        db.session.add(user)
        user.skills = skills.resolve(spec.get("skills", []))
        user.interests = skills.resolve(spec.get("interests", []), field="interests")
        created += 1
    db.session.commit()
    load_catalog()
    load_growth()
    load_reviews()
    load_covers()
    load_avatars()
    return created


# ---------------------------------------------------------------------------- sessions and bookings

DEMO_TIMEZONE = "Asia/Kolkata"

# Per mentor: sessions as (days from today, IST start "HH:MM", fields), and who booked them.
# Negative days are past sessions, completed. Prices are in paise; 0 is free. Mentors learn
# too: Vikram has a seat in Asha's A/B testing session, Asha one in Meera's Figma session.
DEMO_SESSIONS = {
    "mentor1@peerlearn.local": [
        (
            3,
            "19:00",
            {
                "title": "Pandas for messy real-world data",
                "description": (
                    "We take a deliberately untidy sales export (mixed date formats, duplicate "
                    "customers, prices stored as text) and clean it live in a notebook. You will "
                    "practise dtype fixes, merges that don't silently drop rows, groupby with "
                    "named aggregations, and writing checks that catch bad data next month too. "
                    "Bring a laptop with Python 3 and pandas installed."
                ),
                "category": "Data & AI",
                "level": "intermediate",
                "skills": ["Pandas", "Python"],
                "duration_minutes": 90,
                "capacity": 8,
                "price_paise": 499_00,
            },
            ["learner1@peerlearn.local", "learner4@peerlearn.local"],
        ),
        (
            6,
            "10:30",
            {
                "title": "Office hours: your first machine learning project",
                "description": (
                    "A one-to-one hour for your own project. Share your notebook or idea and we "
                    "work out the problem framing, a baseline worth beating, the right validation "
                    "split, and what to try next. Good for students and engineers moving into ML."
                ),
                "category": "Data & AI",
                "level": "beginner",
                "skills": ["Machine Learning", "scikit-learn"],
                "duration_minutes": 60,
                "capacity": 1,
                "price_paise": 1200_00,
            },
            ["learner4@peerlearn.local"],
        ),
        (
            10,
            "18:30",
            {
                "title": "Statistics you actually need for A/B tests",
                "description": (
                    "Confidence intervals, p-values and sample sizes explained with real product "
                    "experiments instead of coin flips. We also cover the common traps: peeking, "
                    "too many metrics, and tests that were never powered to find anything."
                ),
                "category": "Data & AI",
                "level": "beginner",
                "skills": ["Statistics"],
                "duration_minutes": 60,
                "capacity": 12,
                "price_paise": 0,
            },
            ["learner1@peerlearn.local", "mentor2@peerlearn.local"],
        ),
        (
            17,
            "11:00",
            {
                "title": "SQL window functions, hands-on",
                "description": (
                    "Running totals, rankings, sessionisation and month-over-month growth with "
                    "window functions, on a PostgreSQL database you can query from the browser. "
                    "Exercises get harder as we go; solutions are shared afterwards."
                ),
                "category": "Data & AI",
                "level": "intermediate",
                "skills": ["SQL"],
                "duration_minutes": 75,
                "capacity": 10,
                "price_paise": 299_00,
            },
            [],
        ),
        (
            -6,
            "19:00",
            {
                "title": "Validating models honestly: cross-validation pitfalls",
                "description": (
                    "Leakage through preprocessing, time series split the wrong way, and tuning on "
                    "the test set: how each one inflates scores, and the scikit-learn patterns "
                    "that prevent them."
                ),
                "category": "Data & AI",
                "level": "intermediate",
                "skills": ["Machine Learning", "scikit-learn", "Python"],
                "duration_minutes": 60,
                "capacity": 6,
                "price_paise": 399_00,
            },
            ["learner1@peerlearn.local", "learner4@peerlearn.local"],
        ),
    ],
    "mentor2@peerlearn.local": [
        (
            4,
            "20:00",
            {
                "title": "System design interview: design a payments ledger",
                "description": (
                    "A realistic interview question worked through end to end: requirements, "
                    "double-entry data model, idempotent APIs, reconciliation with the bank, and "
                    "how to talk about trade-offs under time pressure. Questions welcome throughout."
                ),
                "category": "Programming",
                "level": "advanced",
                "skills": ["System Design", "PostgreSQL"],
                "duration_minutes": 90,
                "capacity": 6,
                "price_paise": 799_00,
            },
            ["learner2@peerlearn.local"],
        ),
        (
            8,
            "19:30",
            {
                "title": "React state without the tears",
                "description": (
                    "When to lift state, when to reach for context, and when a server cache beats "
                    "both. We refactor a small TypeScript app step by step and measure re-renders "
                    "before and after."
                ),
                "category": "Programming",
                "level": "intermediate",
                "skills": ["React", "TypeScript"],
                "duration_minutes": 60,
                "capacity": 10,
                "price_paise": 349_00,
            },
            ["learner5@peerlearn.local"],
        ),
        (
            13,
            "18:00",
            {
                "title": "Code review clinic: bring a pull request",
                "description": (
                    "Share a PR from work or a side project and get a review you can learn from: "
                    "naming, tests, error handling and how to split changes so they are easy to "
                    "review. Small group, everyone's code gets a turn."
                ),
                "category": "Programming",
                "level": "all",
                "skills": ["Django", "JavaScript"],
                "duration_minutes": 45,
                "capacity": 4,
                "price_paise": 0,
            },
            ["learner2@peerlearn.local", "learner5@peerlearn.local"],
        ),
        (
            -34,
            "20:00",
            {
                "title": "Django REST APIs that age well",
                "description": (
                    "Versioning, pagination, consistent errors and permissions with Django REST "
                    "framework, from a codebase that has survived four years of product changes."
                ),
                "category": "Programming",
                "level": "intermediate",
                "skills": ["Django", "PostgreSQL"],
                "duration_minutes": 75,
                "capacity": 8,
                "price_paise": 499_00,
            },
            ["learner2@peerlearn.local"],
        ),
        (
            -13,
            "19:30",
            {
                "title": "System design interview warm-up",
                "description": (
                    "Design a URL shortener and a notification service out loud, with the "
                    "trade-offs interviewers listen for: storage, caching, queues and failure."
                ),
                "category": "Programming",
                "level": "intermediate",
                "skills": ["System Design", "PostgreSQL"],
                "duration_minutes": 60,
                "capacity": 6,
                "price_paise": 299_00,
            },
            [
                "learner2@peerlearn.local",
                "learner4@peerlearn.local",
                "learner5@peerlearn.local",
                "learner1@peerlearn.local",
            ],
        ),
    ],
    "mentor3@peerlearn.local": [
        (
            2,
            "17:00",
            {
                "title": "Portfolio review for aspiring product designers",
                "description": (
                    "Walk us through two case studies and get direct feedback on story, process "
                    "and visual craft, the way a hiring manager reads them. Leave with a short, "
                    "prioritised list of changes."
                ),
                "category": "Design",
                "level": "all",
                "skills": ["UI Design", "Prototyping"],
                "duration_minutes": 60,
                "capacity": 4,
                "price_paise": 599_00,
            },
            ["learner3@peerlearn.local"],
        ),
        (
            7,
            "11:00",
            {
                "title": "Figma auto layout and components, properly",
                "description": (
                    "Build a small component library from scratch: auto layout, variants, "
                    "properties and tokens, so your screens resize and update without manual "
                    "nudging. Use a free Figma account."
                ),
                "category": "Design",
                "level": "beginner",
                "skills": ["Figma", "Design Systems"],
                "duration_minutes": 90,
                "capacity": 12,
                "price_paise": 249_00,
            },
            ["learner5@peerlearn.local", "learner3@peerlearn.local", "mentor1@peerlearn.local"],
        ),
        (
            15,
            "19:00",
            {
                "title": "Planning your first user interviews",
                "description": (
                    "Write a research plan, recruit the right five people, and draft questions "
                    "that get stories instead of opinions. We practise with short mock interviews."
                ),
                "category": "Design",
                "level": "beginner",
                "skills": ["User Research"],
                "duration_minutes": 60,
                "capacity": 8,
                "price_paise": 0,
            },
            ["learner3@peerlearn.local"],
        ),
        (
            -4,
            "18:00",
            {
                "title": "Design systems that engineers love",
                "description": (
                    "Naming, documentation and handoff habits that keep a design system in sync "
                    "with code, from a health-tech team shipping weekly."
                ),
                "category": "Design",
                "level": "intermediate",
                "skills": ["Design Systems", "Figma"],
                "duration_minutes": 60,
                "capacity": 10,
                "price_paise": 399_00,
            },
            ["learner3@peerlearn.local", "learner5@peerlearn.local"],
        ),
        (
            -20,
            "11:00",
            {
                "title": "Portfolio review: case studies that get interviews",
                "description": (
                    "Three portfolios reviewed live: the story each case study tells, what to cut, "
                    "and how to show research and outcomes rather than screens."
                ),
                "category": "Design",
                "level": "beginner",
                "skills": ["UI Design", "User Research"],
                "duration_minutes": 60,
                "capacity": 5,
                "price_paise": 0,
            },
            ["learner3@peerlearn.local", "learner5@peerlearn.local", "learner2@peerlearn.local"],
        ),
    ],
}


def _demo_start(today, days, wall_clock):
    hour, minute = (int(part) for part in wall_clock.split(":"))
    return local_to_utc(datetime.combine(today + timedelta(days=days), time(hour, minute)), DEMO_TIMEZONE)


def _capture_demo_payment(gateway, booking, paid_at, method):
    """A booking paid through the dev gateway, so its order and payment exist there too (a later
    refund works), recorded as captured with its ledger split."""
    receipt = f"bk_{booking.id}_{secrets.token_hex(4)}"
    order_id = gateway.create_order(
        amount_paise=booking.amount_paise,
        currency=booking.currency,
        receipt=receipt,
        notes={"booking_id": str(booking.id), "session_id": str(booking.session_id)},
    )
    remote, _signature = gateway.pay(order_id, method=method)
    payment = Payment(
        purpose=PaymentPurpose.BOOKING.value,
        booking=booking,
        payer_id=booking.learner_id,
        mentor_id=booking.session.mentor_id,
        gateway=gateway.name,
        order_id=order_id,
        gateway_payment_id=remote.id,
        receipt=receipt,
        amount_paise=booking.amount_paise,
        currency=booking.currency,
        status=PaymentStatus.CAPTURED.value,
        method=remote.method,
        captured_at=paid_at,
    )
    db.session.add(payment)
    db.session.flush()
    pending = set(db.session.new)
    ledger.record_capture(payment)
    # The split belongs to the moment the money arrived, as it would have been recorded then.
    for entry in set(db.session.new) - pending:
        if isinstance(entry, LedgerEntry):
            entry.created_at = paid_at
    return payment


def _demo_notifications(booking, payment, *, past):
    """What the seeded events would have told people, at the time they happened: the learner's
    booking confirmation (and "live now" for past sessions), the mentor's paid booking. Written
    directly, without emails: demo addresses must not be mailed. Notices about past sessions are
    read; those about upcoming ones are left unread, so the bell has something to show."""
    from flask import url_for

    from .jinja import format_inr

    session, learner = booking.session, booking.learner
    booked_at = booking.confirmed_at
    read_at = booked_at + timedelta(hours=2) if past else None
    with current_app.test_request_context():
        booking_url = url_for("booking.detail", booking_id=booking.id)
        session_url = url_for("sessions.detail", session_id=session.id)
        room_url = url_for("sessions.room", session_id=session.id)
    with i18n.for_user(learner):
        paid = ""
        if payment:
            paid = " " + _(
                "Paid: %(amount)s (receipt %(receipt)s).",
                amount=format_inr(payment.amount_paise),
                receipt=payment.receipt,
            )
        booked_title = _("Booked: %(title)s", title=session.title)
        booked_body = _(
            "You have a seat in “%(title)s” with %(mentor)s.", title=session.title, mentor=session.mentor.name
        )
        live_title = _("Live now: %(title)s", title=session.title)
        live_body = _(
            "%(mentor)s has started “%(title)s”. Join the room now.",
            mentor=session.mentor.name,
            title=session.title,
        )
    with i18n.for_user(session.mentor):
        sold_title = _("%(learner)s booked “%(title)s”", learner=learner.name, title=session.title)
        sold_body = _(
            "%(learner)s paid %(amount)s for a seat in “%(title)s”.",
            learner=learner.name,
            amount=format_inr(payment.amount_paise) if payment else "",
            title=session.title,
        )
    notes = [
        Notification(
            user_id=learner.id,
            kind=NotificationKind.BOOKING_CONFIRMED.value,
            title=booked_title,
            body=booked_body + paid,
            url=booking_url,
            data={"booking_id": booking.id, "session_id": session.id},
            created_at=booked_at,
            read_at=read_at,
        )
    ]
    if past:
        notes.append(
            Notification(
                user_id=learner.id,
                kind=NotificationKind.SESSION_STARTED.value,
                title=live_title,
                body=live_body,
                url=room_url,
                data={"session_id": session.id},
                created_at=session.starts_at,
                read_at=session.starts_at + timedelta(minutes=1),
            )
        )
    if payment is not None:
        notes.append(
            Notification(
                user_id=session.mentor_id,
                kind=NotificationKind.PAYMENT_RECEIVED.value,
                title=sold_title,
                body=sold_body,
                url=session_url,
                data={"session_id": session.id, "payment_id": payment.id},
                created_at=booked_at,
                read_at=read_at,
            )
        )
    db.session.add_all(notes)


def load_catalog(now=None):
    """Sessions and bookings for demo mentors that have no sessions yet. Returns sessions created."""
    # Imported here: the gateway module loads the Razorpay SDK, and the CLI imports this module.
    from .payments.dev import DevGateway

    now = now or utcnow()
    today = now.astimezone(ZoneInfo(DEMO_TIMEZONE)).date()
    gateway = DevGateway.from_config(current_app.config)
    # Everyone learns: mentors book each other's sessions too.
    learners = {user.email: user for user in db.session.scalars(select(User))}
    created = 0
    for mentor_email, specs in DEMO_SESSIONS.items():
        mentor = db.session.scalar(select(User).where(User.email == mentor_email))
        if mentor is None or db.session.scalar(
            select(LearningSession.id).where(LearningSession.mentor_id == mentor.id).limit(1)
        ):
            continue
        for index, (days, wall_clock, fields, booked_by) in enumerate(specs):
            fields = dict(fields)
            starts_at = _demo_start(today, days, wall_clock)
            past = days < 0
            published_at = min(now, starts_at) - timedelta(days=10)
            session = LearningSession(
                mentor_id=mentor.id,
                status=SessionStatus.COMPLETED.value if past else SessionStatus.SCHEDULED.value,
                starts_at=starts_at,
                published_at=published_at,
                language="English",
                skills=skills.resolve(fields.pop("skills")),
                **fields,
            )
            if past:
                # Held: the mentor was there for the whole slot, so the money settles as a real
                # session's does, SETTLEMENT_HOURS after its end.
                session.started_at = starts_at
                session.ended_at = session.ends_at
                session.mentor_present_minutes = session.duration_minutes
                session.settles_at = session.ended_at + timedelta(
                    hours=current_app.config["SETTLEMENT_HOURS"]
                )
            db.session.add(session)
            db.session.flush()
            if past:
                db.session.add(
                    Attendance(
                        session_id=session.id,
                        user_id=mentor.id,
                        joined_at=starts_at - timedelta(minutes=5),
                        left_at=session.ends_at,
                    )
                )
            created += 1
            learners_here = [learners[email] for email in booked_by if email in learners]
            for position, learner in enumerate(learners_here[: session.capacity]):
                booked_at = published_at + timedelta(days=1 + position, hours=3 * index)
                booking = Booking(
                    session_id=session.id,
                    learner_id=learner.id,
                    status=BookingStatus.ATTENDED.value if past else BookingStatus.CONFIRMED.value,
                    amount_paise=session.price_paise,
                    currency=session.currency,
                    confirmed_at=booked_at,
                    created_at=booked_at,
                )
                booking.session = session
                db.session.add(booking)
                db.session.flush()
                payment = None
                if session.price_paise:
                    method = ("upi", "card")[position % 2]
                    payment = _capture_demo_payment(gateway, booking, booked_at, method)
                _demo_notifications(booking, payment, past=past)
                # What the recommender learns from: the booking, and for past sessions the visit.
                interactions.record(learner.id, InteractionKind.BOOK, session=session, now=booked_at)
                if past:
                    db.session.add(
                        Attendance(
                            session_id=session.id,
                            user_id=learner.id,
                            joined_at=starts_at,
                            left_at=session.ends_at,
                        )
                    )
                    interactions.record(learner.id, InteractionKind.ATTEND, session=session, now=starts_at)
                    interactions.record(
                        learner.id, InteractionKind.COMPLETE, session=session, now=session.ends_at
                    )
            session.seats_taken = len(learners_here[: session.capacity])
    db.session.commit()
    return created


# ------------------------------------------------------------------------ packs, coupons, lines, hooks

# A pack Asha sells, and the learner who bought one and still holds its credits.
DEMO_PACK = {
    "mentor": "mentor1@peerlearn.local",
    "title": "Five office hours",
    "credits": 5,
    "price_paise": 5 * 96_000,  # 20 % off the ₹1,200 office hour
    "valid_days": 90,
    "buyer": "learner2@peerlearn.local",
}
# (owner, code, percent off): a mentor's coupon, funded from her share, and a platform one.
DEMO_COUPONS = [
    ("mentor1@peerlearn.local", "ASHA10", 10),
    ("admin@peerlearn.local", "PEERLEARN5", 5),
]
# The one-seat session that is full, and who waits for its seat, first in line first.
DEMO_FULL_SESSION = "Office hours: your first machine learning project"
DEMO_WAITING = ["learner3@peerlearn.local", "learner5@peerlearn.local"]
# A mentor's webhook to a loopback address nothing listens on: disabled, so nothing is sent.
DEMO_WEBHOOK = {
    "owner": "mentor2@peerlearn.local",
    "url": "http://127.0.0.1:9/peerlearn-demo-hook",
    "event_types": ["booking.created", "booking.cancelled", "session.completed"],
    "description": "Demo CRM hook (nothing listens here)",
    "disabled_reason": system_texts.WEBHOOK_DISABLED_IN_DEMO,
}


def _demo_user(email):
    return db.session.scalar(select(User).where(User.email == email))


def _demo_pack(gateway, now):
    """Asha's pack, and one bought by a demo learner through the dev gateway (captured, its whole
    price held for the learner in the ledger, every credit still to use)."""
    mentor, buyer = _demo_user(DEMO_PACK["mentor"]), _demo_user(DEMO_PACK["buyer"])
    if mentor is None or buyer is None:
        return
    pack = db.session.scalar(
        select(SessionPack).where(SessionPack.mentor_id == mentor.id, SessionPack.title == DEMO_PACK["title"])
    )
    if pack is not None:
        return
    pack = SessionPack(
        mentor_id=mentor.id,
        title=DEMO_PACK["title"],
        credits=DEMO_PACK["credits"],
        price_paise=DEMO_PACK["price_paise"],
        valid_days=DEMO_PACK["valid_days"],
        one_to_one_only=True,
        max_session_price_paise=0,
        created_at=now - timedelta(days=12),
    )
    db.session.add(pack)
    db.session.flush()
    paid_at = now - timedelta(days=9)
    receipt = f"pk_{pack.id}_{secrets.token_hex(6)}"
    order_id = gateway.create_order(
        amount_paise=pack.price_paise,
        currency="INR",
        receipt=receipt,
        notes={"purpose": "pack", "pack_id": str(pack.id), "learner_id": str(buyer.id)},
    )
    remote, _signature = gateway.pay(order_id, method="upi")
    payment = Payment(
        purpose=PaymentPurpose.PACK.value,
        payer_id=buyer.id,
        mentor_id=mentor.id,
        gateway=gateway.name,
        order_id=order_id,
        gateway_payment_id=remote.id,
        receipt=receipt,
        amount_paise=pack.price_paise,
        currency="INR",
        status=PaymentStatus.CAPTURED.value,
        method=remote.method,
        captured_at=paid_at,
        created_at=paid_at,
    )
    db.session.add(payment)
    db.session.flush()
    ledger.record_capture(payment)
    db.session.add(
        packs.purchase_of(
            pack,
            buyer.id,
            payment.id,
            status=PurchaseStatus.ACTIVE.value,
            expires_at=paid_at + timedelta(days=pack.valid_days),
            created_at=paid_at,
        )
    )


def _demo_coupons(now):
    for owner_email, code, percent in DEMO_COUPONS:
        owner = _demo_user(owner_email)
        if owner is None or db.session.scalar(select(Coupon.id).where(Coupon.code == code)) is not None:
            continue
        db.session.add(
            Coupon(
                code=code,
                mentor_id=None if owner.is_admin else owner.id,
                created_by_id=owner.id,
                kind=CouponKind.PERCENT.value,
                value=percent,
                expires_at=now + timedelta(days=60),
                max_redemptions=50,
                max_per_learner=1,
            )
        )


def _demo_waitlist(now):
    session = db.session.scalar(select(LearningSession).where(LearningSession.title == DEMO_FULL_SESSION))
    if session is None or session.seats_taken < session.capacity:
        return
    if db.session.scalar(select(WaitlistEntry.id).where(WaitlistEntry.session_id == session.id).limit(1)):
        return
    for turn, email in enumerate(DEMO_WAITING):
        learner = _demo_user(email)
        if learner is not None:
            joined = now - timedelta(days=2, hours=-5 * turn)
            db.session.add(
                WaitlistEntry(
                    session_id=session.id,
                    learner_id=learner.id,
                    status=WaitlistStatus.WAITING.value,
                    created_at=joined,
                    updated_at=joined,
                )
            )


def _demo_webhook(now):
    owner = _demo_user(DEMO_WEBHOOK["owner"])
    if owner is None or db.session.scalar(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.user_id == owner.id, WebhookEndpoint.url == DEMO_WEBHOOK["url"]
        )
    ):
        return
    db.session.add(
        WebhookEndpoint(
            user_id=owner.id,
            url=DEMO_WEBHOOK["url"],
            secret=webhooks.new_secret(),
            description=DEMO_WEBHOOK["description"],
            event_types=list(DEMO_WEBHOOK["event_types"]),
            enabled=False,
            disabled_at=now - timedelta(days=1),
            disabled_reason=DEMO_WEBHOOK["disabled_reason"],
        )
    )


def load_growth(now=None):
    """What the growth pages show on a fresh install: a pack on sale with a learner holding its
    credits, a mentor's and a platform coupon, a full session with a line, and a mentor's webhook
    to a loopback address, disabled (no delivery is made: nothing calls out). Each is added once;
    rows are written directly, as the catalog's are, and the pack is paid through the dev gateway."""
    from .payments.dev import DevGateway

    now = now or utcnow()
    _demo_pack(DevGateway.from_config(current_app.config), now)
    _demo_coupons(now)
    _demo_waitlist(now)
    _demo_webhook(now)
    db.session.commit()


# ------------------------------------------------------------------------ reviews, covers, faces

# What learners wrote after the demo's past sessions, taken in turn: (stars, text).
DEMO_REVIEWS = [
    (5, "Clear, practical and patient. I fixed a leak in my own pipeline the same evening."),
    (5, "Exactly the level I needed; the worked examples were from real projects, not toy data."),
    (4, "Very useful. I would have liked ten more minutes for questions, but the notes made up for it."),
    (5, "Honest answers to every question, including the awkward ones about what does not work."),
    (4, "Good pace and a great screen-share walkthrough. Booking the follow-up session."),
]

# Upcoming sessions (by title) whose mentors uploaded a cover; the others show a generated one.
DEMO_COVERED = {
    "Pandas for messy real-world data",
    "Design systems that engineers love",
}


def load_reviews():
    """A review for every attended booking of a past demo session that has none yet."""
    demo_emails = [spec["email"] for spec in DEMO_USERS]
    bookings = db.session.scalars(
        select(Booking)
        .join(User, Booking.learner_id == User.id)
        .join(LearningSession, Booking.session_id == LearningSession.id)
        .where(
            User.email.in_(demo_emails),
            Booking.status == BookingStatus.ATTENDED.value,
            Booking.id.not_in(select(Review.booking_id)),
        )
        .order_by(LearningSession.starts_at, Booking.id)
    ).all()
    for turn, booking in enumerate(bookings):
        rating, body = DEMO_REVIEWS[turn % len(DEMO_REVIEWS)]
        session = booking.session
        db.session.add(
            Review(
                booking_id=booking.id,
                session_id=session.id,
                mentor_id=session.mentor_id,
                learner_id=booking.learner_id,
                rating=rating,
                body=body,
                minutes_attended=session.duration_minutes,
                created_at=session.ends_at + timedelta(hours=3 + turn),
            )
        )
    db.session.commit()
    return len(bookings)


def _demo_cover(category, title):
    """A cover as a mentor might upload it: soft shapes on the category's colours (WebP)."""
    start, end, _pattern = covers.STYLES.get(category, covers.STYLES["Other"])
    width, height = COVER_SIZE
    digest = hashlib.sha256(title.encode()).digest()
    image = ImageOps.colorize(
        Image.linear_gradient("L").rotate(digest[0] % 360).resize(COVER_SIZE), start, end
    )
    shapes = Image.new("L", COVER_SIZE, 0)
    draw = ImageDraw.Draw(shapes)
    for index in range(6):
        x, y = digest[2 + index] * width // 255, digest[10 + index] * height // 255
        radius = 60 + digest[20 + index] % 220
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=40 + index * 8)
    image.paste((255, 255, 255), mask=shapes)
    filename = f"demo-{digest.hex()[:24]}.webp"
    encoded = io.BytesIO()
    image.save(encoded, "WEBP", quality=80)
    storage.get_storage().put(avatars.cover_key(filename), encoded.getvalue(), "image/webp")
    return filename


def load_covers():
    """Uploaded covers for a few demo sessions that have none (the rest keep generated ones)."""
    sessions = db.session.scalars(
        select(LearningSession).where(
            LearningSession.title.in_(DEMO_COVERED), LearningSession.cover_filename.is_(None)
        )
    ).all()
    for session in sessions:
        session.cover_filename = _demo_cover(session.category, session.title)
    db.session.commit()
    return len(sessions)


def render_avatars(seeds, directory):
    """Draw one SVG face per seed into ``directory`` with scripts/avatars.mjs (DiceBear, run
    locally by Node). Returns ``{seed: filename}``, empty when Node or the npm packages are
    missing: the demo then shows initials, and seeding goes on."""
    script = Path(current_app.root_path).parent / "scripts" / "avatars.mjs"
    node = shutil.which("node")
    if not seeds or node is None or not script.exists():
        if seeds:
            log.warning("demo avatars skipped: node or %s is missing; initials are shown", script)
        return {}
    names = {seed: f"demo-{hashlib.sha256(seed.encode()).hexdigest()[:24]}.svg" for seed in seeds}
    requests = [{"seed": seed, "path": str(directory / name)} for seed, name in names.items()]
    try:
        subprocess.run(  # noqa: S603 - our own script, arguments from our own code
            [node, str(script)],
            input=json.dumps(requests),
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            cwd=script.parent.parent,
        )
    except (OSError, subprocess.SubprocessError) as error:
        detail = getattr(error, "stderr", "") or error
        log.warning("demo avatars skipped (%s); initials are shown", str(detail).strip()[:500])
        return {}
    return {seed: name for seed, name in names.items() if (directory / name).is_file()}


def load_avatars():
    """Generated faces for the demo accounts without a photo. These SVG files are made here,
    never uploaded (uploads are re-encoded as WebP), and are served under a policy that lets
    nothing in them run (blueprints/main/routes.py). Returns how many accounts got one."""
    users = db.session.scalars(
        select(User).where(
            User.email.in_([spec["email"] for spec in DEMO_USERS]), User.avatar_filename.is_(None)
        )
    ).all()
    store = storage.get_storage()
    with tempfile.TemporaryDirectory(prefix="peerlearn-demo-avatars-") as scratch:
        drawn = render_avatars([user.email for user in users], Path(scratch))
        for filename in drawn.values():
            store.put(avatars.avatar_key(filename), (Path(scratch) / filename).read_bytes(), "image/svg+xml")
    for user in users:
        if user.email in drawn:
            user.avatar_filename = drawn[user.email]
    db.session.commit()
    return len(drawn)
