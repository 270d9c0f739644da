"""Demo data for `flask seed-demo`: realistic accounts so a fresh install has a living catalog."""

from sqlalchemy import select

from .extensions import db
from .models import Role, User, utcnow
from .services import passwords, skills

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
            role=spec["role"].value,
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
    return created
