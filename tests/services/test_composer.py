"""Composing Janus's raw feeds into one file (services/composer.py), with real .mjr files, real
janus-pp-rec and ffmpeg. The class: the mentor (red, 440 Hz) with a screen share (light grey)
from 4 s to 8 s, Ann (green, 660 Hz) who agreed to be recorded, Bob (blue, 880 Hz) who did not."""

import hashlib

import pytest

from peerlearn.services import composer
from tests.support.media_checks import (
    chapters,
    duration,
    mean_colour,
    near,
    need_media_tools,
    streams,
    tone_level,
)
from tests.support.mjr import BASE, COLOURS, SCREEN_COLOUR, TONES, at, classroom, write_feeds

SECONDS = 12
SCREEN = (4, 8)
PEOPLE = [
    composer.Participant(1, "Mira Mentor", "mentor", True),
    composer.Participant(2, "Ann", "learner", True),
    composer.Participant(3, "Bob", "learner", False),
]
SPANS = [{"start": BASE.isoformat(), "stop": at(BASE, SECONDS).isoformat()}]
# Inside the main picture and each strip tile, clear of the moving test pattern at the bottom.
MAIN_BOX = (240, 120, 480, 240)
STRIP_BOXES = [(composer.MAIN_W + 80, slot * composer.STRIP_H + 30, 160, 60) for slot in range(4)]


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory):
    need_media_tools()
    folder = tmp_path_factory.mktemp("raw")
    write_feeds(folder, classroom(SECONDS, people=3, screen=SCREEN))
    return folder


@pytest.fixture(scope="module")
def composed(raw_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    return composer.compose(raw_dir, PEOPLE, SPANS, work)


def test_one_file_as_long_as_the_span_with_picture_and_sound(composed):
    assert composed.path.suffix == ".mp4"
    assert composed.content_type == "video/mp4"
    assert abs(duration(composed.path) - SECONDS) < 1
    assert abs(composed.duration_ms - SECONDS * 1000) < 1000
    kinds = streams(composed.path)
    assert kinds.count("video") == 1
    assert kinds.count("audio") == 1


def test_the_mentor_is_the_picture_until_the_screen_share_takes_over(composed):
    before, during, after = 2, 6, 10
    assert near(mean_colour(composed.path, before, MAIN_BOX), COLOURS[0])
    assert near(mean_colour(composed.path, during, MAIN_BOX), SCREEN_COLOUR)
    assert near(mean_colour(composed.path, after, MAIN_BOX), COLOURS[0])
    # While the screen is the picture, the mentor's camera moves to the first tile of the strip.
    assert near(mean_colour(composed.path, during, STRIP_BOXES[0]), COLOURS[0])
    assert not near(mean_colour(composed.path, before, STRIP_BOXES[0]), COLOURS[0])
    # Ann has the next tile throughout.
    assert near(mean_colour(composed.path, before, STRIP_BOXES[1]), COLOURS[1])
    assert near(mean_colour(composed.path, during, STRIP_BOXES[1]), COLOURS[1])


def test_a_chapter_starts_at_the_screen_share(composed):
    assert chapters(composed.path) == [(0.0, "Start"), (SCREEN[0], "Screen share: Mira Mentor")]
    assert [(c["start_ms"], c["title"]) for c in composed.chapters] == [
        (0, "Start"),
        (SCREEN[0] * 1000, "Screen share: Mira Mentor"),
    ]
    main = [(e["start_ms"], e["kind"]) for e in composed.layout["timeline"] if e["place"] == "main"]
    assert main[:2] == [(0, "camera"), (SCREEN[0] * 1000, "screen")]


def test_a_learner_who_did_not_agree_is_neither_seen_nor_heard(composed):
    layout = composed.layout
    assert [(p["user_id"], p["reason"]) for p in layout["excluded"]] == [(3, "did not agree to be recorded")]
    assert 3 not in {entry["user_id"] for entry in layout["timeline"]}
    assert [p["user_id"] for p in layout["included"]] == [1, 2]
    for slot_box in STRIP_BOXES:
        assert not near(mean_colour(composed.path, 6, slot_box), COLOURS[2])
    heard = tone_level(composed.path, TONES[1])  # Ann
    mentor = tone_level(composed.path, TONES[0])
    unheard = tone_level(composed.path, TONES[2])  # Bob
    assert heard > -40 and mentor > -40
    assert unheard < heard - 20


def test_a_run_cut_short_resumes_and_makes_the_same_file(raw_dir, composed, tmp_path):
    class Killed(Exception):
        pass

    def killed_after_two_feeds(percent, step):
        if step.startswith("Unpacking feed 3"):
            raise Killed()

    with pytest.raises(Killed):
        composer.compose(raw_dir, PEOPLE, SPANS, tmp_path, progress=killed_after_two_feeds)
    unpacked = sorted(path.name for path in (tmp_path / "feeds").iterdir())
    assert len(unpacked) == 3  # the third was made before the news of it stopped the run
    assert not list(tmp_path.rglob(".partial-*"))

    resumed = composer.compose(raw_dir, PEOPLE, SPANS, tmp_path)

    assert sorted(resumed.steps_skipped) == unpacked
    assert len(resumed.steps_run) == len(composed.steps_run) - 3
    assert streams(resumed.path) == streams(composed.path)
    assert resumed.duration_ms == composed.duration_ms
    assert resumed.layout == composed.layout
    assert _digest(resumed.path) == _digest(composed.path)


def test_a_killed_encoder_leaves_no_half_file_and_the_next_run_finishes(raw_dir, tmp_path, monkeypatch):
    real_run = composer.run

    def encoder_killed(command, on_progress=None):
        if command[0] == "ffmpeg" and "-filter_complex" in command:
            raise composer.CompositionError("ffmpeg failed (-9): killed")
        return real_run(command, on_progress)

    monkeypatch.setattr(composer, "run", encoder_killed)
    with pytest.raises(composer.CompositionError):
        composer.compose(raw_dir, PEOPLE, SPANS, tmp_path)
    assert not list((tmp_path / "segments").iterdir())
    monkeypatch.setattr(composer, "run", real_run)

    again = composer.compose(raw_dir, PEOPLE, SPANS, tmp_path)

    assert all(name.endswith(".opus") or name.endswith(".webm") for name in again.steps_skipped)
    assert abs(again.duration_ms - SECONDS * 1000) < 1000


def test_spans_recorded_apart_are_joined_without_the_gap(tmp_path):
    need_media_tools()
    raw = tmp_path / "raw"
    # Janus starts new files each time recording starts: 0–4 s, then 7–10 s.
    write_feeds(raw, classroom(4, people=2, stagger=0) + classroom(3, people=2, start=at(BASE, 7), stagger=0))
    spans = [
        {"start": BASE.isoformat(), "stop": at(BASE, 4).isoformat()},
        {"start": at(BASE, 7).isoformat(), "stop": at(BASE, 10).isoformat()},
    ]

    result = composer.compose(raw, PEOPLE[:2], spans, tmp_path / "work")

    assert abs(duration(result.path) - 7) < 1
    assert len([name for name in result.steps_run if name.startswith("segment-")]) == 2
    assert near(mean_colour(result.path, 5.5, MAIN_BOX), COLOURS[0])
    assert near(mean_colour(result.path, 5.5, STRIP_BOXES[1]), COLOURS[1])


def test_no_feeds_is_an_error_that_says_so(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "videoroom-1-user-11-5-video-1.mjr").write_bytes(b"MJR00002\x00")
    with pytest.raises(composer.CompositionError, match="no recorded feeds"):
        composer.compose(tmp_path / "raw", PEOPLE, SPANS, tmp_path / "work")


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_webm_when_asked(raw_dir, tmp_path):
    result = composer.compose(raw_dir, PEOPLE, SPANS, tmp_path, container="webm")
    assert result.path.suffix == ".webm"
    assert result.content_type == "video/webm"
    assert streams(result.path) == ["video", "audio"]
    assert abs(duration(result.path) - SECONDS) < 1
