"""Skill suggestions: known answers for typos and aliases, the vocabulary growing with what people
enter, and "people who list X also list Y"."""

import pytest

from peerlearn.extensions import db
from peerlearn.ml import skill_suggest
from peerlearn.ml.skill_suggest import SkillIndex, load_vocabulary, match_key
from peerlearn.services import skills


@pytest.fixture(scope="module")
def vocabulary_index():
    """The curated vocabulary alone, as on a fresh install."""
    return SkillIndex(load_vocabulary(), [], [])


def names(suggestions):
    return [s.name for s in suggestions]


def give(user, skill_names, interests=()):
    user.skills = skills.resolve(list(skill_names))
    user.interests = skills.resolve(list(interests), field="interests")


# --- the vocabulary ----------------------------------------------------------------------------


def test_vocabulary_is_large_and_every_spelling_names_one_skill():
    vocabulary = load_vocabulary()
    assert len(vocabulary) >= 400
    assert len({entry.category for entry in vocabulary}) >= 15
    owner = {}
    for entry in vocabulary:
        assert entry.name and entry.category
        for spelling in (entry.name, *entry.aliases):
            key = match_key(spelling)
            assert key, spelling
            assert owner.setdefault(key, entry.name) == entry.name, (
                f"{spelling!r} names both {owner[key]!r} and {entry.name!r}"
            )
        for alias in entry.aliases:
            assert alias == alias.casefold(), f"alias {alias!r} of {entry.name} should be lower case"


# --- typing: exact, alias, prefix, typo ----------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected", "match"),
    [
        ("pyhton", "Python", "fuzzy"),
        ("ptyhon", "Python", "fuzzy"),
        ("javscript", "JavaScript", "fuzzy"),
        ("kubernets", "Kubernetes", "fuzzy"),
        ("machne learning", "Machine Learning", "fuzzy"),
        ("djnago", "Django", "fuzzy"),
        ("pandsa", "Pandas", "fuzzy"),
        ("ml", "Machine Learning", "alias"),
        ("k8s", "Kubernetes", "alias"),
        ("js", "JavaScript", "alias"),
        ("dsa", "Data Structures and Algorithms", "alias"),
        ("Golang", "Go", "alias"),
        ("python", "Python", "exact"),
        ("  C++ ", "C++", "exact"),
        ("nodejs", "Node.js", "exact"),
        ("node.j", "Node.js", "prefix"),
        ("mach", "Machine Learning", "prefix"),
    ],
)
def test_what_people_type_finds_the_skill_they_mean(vocabulary_index, typed, expected, match):
    first = vocabulary_index.suggest(typed, limit=8)[0]
    assert (first.name, first.match) == (expected, match)


def test_suggestions_carry_the_category_and_respect_the_limit(vocabulary_index):
    found = vocabulary_index.suggest("data", limit=3)
    assert len(found) == 3
    assert all(s.name.startswith("Data") for s in found)
    assert vocabulary_index.suggest("k8s")[0].category == "Cloud & DevOps"


def test_a_later_word_of_a_name_is_a_prefix_too(vocabulary_index):
    assert {"Machine Learning", "Deep Learning"} <= set(names(vocabulary_index.suggest("learning")))


def test_a_close_typo_does_not_drag_in_unrelated_skills(vocabulary_index):
    assert names(vocabulary_index.suggest("pyhton")) == ["Python"]
    assert vocabulary_index.suggest("qqqzzz") == []
    assert vocabulary_index.suggest("   ") == []


def test_skills_already_chosen_are_not_offered_again(vocabulary_index):
    assert "Python" not in names(vocabulary_index.suggest("pyhton", selected=["python"]))
    # An alias of a chosen skill counts as that skill.
    assert "Machine Learning" not in names(vocabulary_index.suggest("machine", selected=["ML"]))


def test_edit_distance_counts_a_swap_as_one_edit():
    assert skill_suggest._edit_distance("pyhton", "python") == 1
    assert skill_suggest._edit_distance("kitten", "sitting") == 3
    assert skill_suggest._edit_distance("", "abc") == 3


# --- built from the database ---------------------------------------------------------------------


def test_a_skill_people_entered_becomes_suggestible(app, make_user):
    give(make_user(), ["HTMX", "Python"])
    assert "HTMX" not in names(skills.suggestion_index().suggest("htm"))  # one person: not yet
    give(make_user(), ["htmx"])
    db.session.commit()
    skills.invalidate_suggestion_index()
    found = skills.suggestion_index().suggest("htm")
    assert (found[0].name, found[0].category, found[0].match) == ("HTMX", None, "prefix")
    # Typo-tolerant like the curated ones.
    assert names(skills.suggestion_index().suggest("htxm"))[:1] == ["HTMX"]


def test_a_one_off_entry_is_not_offered_to_everyone(app, make_user):
    give(make_user(), ["Quarkus"])
    db.session.commit()
    assert "Quarkus" not in names(skills.suggestion_index().suggest("quark"))


def test_misspellings_people_enter_count_for_the_skill_they_misspell(app, make_user):
    for typed in ("Pyhton", "Pyhton", "pytohn", "Kubernets"):
        give(make_user(), [typed, "Django"])
    give(make_user(), ["HTMX"])
    give(make_user(), ["HTMX"])
    db.session.commit()
    index = skills.suggestion_index()
    assert names(index.suggest("pyhton")) == ["Python"]
    assert index.suggest("pytohn")[0] == skill_suggest.Suggestion("Python", "Programming Languages", "fuzzy")
    assert index.usage[index.resolve(["Python"])[0]] == 3
    assert index.usage[index.resolve(["Kubernetes"])[0]] == 1
    assert [r.name for r in index.related(["Django"])] == ["Python"]
    # One letter apart but a different skill: short names are not taken for misspellings.
    assert {"HTML", "HTMX"} <= set(names(index.suggest("htm")))


def test_entered_spellings_of_a_curated_skill_count_for_it(app, make_user):
    give(make_user(), ["ML"])
    give(make_user(), ["machine learning"], interests=["Statistics"])
    db.session.commit()
    index = skills.suggestion_index()
    entry = index.resolve(["Machine Learning"])[0]
    assert index.usage[entry] == 2
    assert names(index.suggest("ml"))[0] == "Machine Learning"


def test_index_is_rebuilt_when_the_skills_table_changes(app, make_user, monkeypatch):
    first = skills.suggestion_index()
    assert skills.suggestion_index() is first  # cached between requests
    give(make_user(), ["Quarto"])
    give(make_user(), ["Quarto"])
    db.session.commit()
    assert skills.suggestion_index() is first  # not checked again yet
    monkeypatch.setattr(skills, "INDEX_CHECK_SECONDS", 0)
    rebuilt = skills.suggestion_index()
    assert rebuilt is not first
    assert names(rebuilt.suggest("quart"))[:1] == ["Quarto"]
    assert skills.suggestion_index() is rebuilt  # unchanged table: no rebuild


# --- people who list X also list Y ---------------------------------------------------------------


@pytest.fixture
def crafted_users(app, make_user):
    for _ in range(5):
        give(make_user(), ["Python", "Django"], interests=["PostgreSQL"])
    for _ in range(3):
        give(make_user(), ["python", "Pandas"])
    for _ in range(6):
        give(make_user(), ["Docker"])
    for _ in range(4):
        give(make_user(), ["Figma", "UI Design"])
    give(make_user(), ["Python", "Guitar"])  # one person: a coincidence, not a pattern
    db.session.commit()
    return skills.suggestion_index()


def test_people_who_list_python_also_list_django(crafted_users):
    related = crafted_users.related(["Python"])
    assert [r.name for r in related] == ["Django", "PostgreSQL", "Pandas"]
    assert {r.because for r in related} == {"Python"}
    assert related[0].category == "Web Development"


def test_related_skills_skip_the_chosen_ones_and_name_the_reason(crafted_users):
    related = crafted_users.related(["Python", "Django", "Figma"])
    assert [(r.name, r.because) for r in related][:2] == [("PostgreSQL", "Django"), ("UI Design", "Figma")]
    assert not {"Python", "Django", "Figma"} & {r.name for r in related}
    assert crafted_users.related([]) == []
    assert crafted_users.related(["Something nobody lists"]) == []


def test_chosen_skills_lift_what_goes_with_them(crafted_users):
    assert names(crafted_users.suggest("d"))[0] == "Docker"  # more people list it
    assert names(crafted_users.suggest("d", selected=["Python"]))[0] == "Django"
