"""From Janus's raw feeds to one playable file: the media pipeline of a recording, without the
database (``services.recordings`` runs it and keeps what it returns).

Janus writes one ``.mjr`` file per participant per track, a new one each time recording starts
(``videoroom-<room>-user-<feed>-<time>-<audio|video>-<mindex>.mjr``; feed = user id × 10 + 1 for
the camera and microphone, + 2 for a screen share). Each file's header says when its first packet
arrived (``u``, microseconds of wall clock), which places it on the session's timeline.

The steps, each written to a temporary name in the work folder and renamed when whole, and
skipped when its output is already there, so a run cut short resumes where it stopped and the
same inputs give the same file:

1. ``janus-pp-rec`` turns each file into WebM (VP8) or Ogg (Opus), as it was sent.
2. For each recorded span, ffmpeg composes one segment: a 1280×720 picture whose main part is the
   screen share while there is one, else the mentor's camera, with the other people who agreed to
   be recorded as a strip beside it, and every consenting microphone mixed, each starting at its
   own first packet. Who was not asked or said no is in neither the picture nor the sound.
3. The segments are joined (stream copy) with a chapter at each screen share's start.

Encoding: H.264 (libx264 ``veryfast``, CRF 26, capped at 1.2 Mbit/s) and AAC in MP4, 15 frames
a second at 1280×720. On this two-core VM a 20 s test of three cameras and a screen share took
5.8 s of CPU with x264 ``veryfast`` against 13.8 s with VP8's realtime mode (``-cpu-used 8``),
for a file a third the size: x264 is what makes "half of real time" reachable, and MP4/H.264
plays in every browser, Safari's included. WebM (VP8/Opus) stays available
(RECORDINGS_CONTAINER=webm) for installs that want a royalty-free format.
"""

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .. import system_texts
from .media import FEED_BASE, FEED_KINDS

WIDTH, HEIGHT, FPS = 1280, 720, 15
MAIN_W = 960  # the main picture: the left 960×720
STRIP_W, STRIP_H = WIDTH - MAIN_W, 180  # the strip: up to four 320×180 tiles on the right
STRIP_SLOTS = HEIGHT // STRIP_H
BACKGROUND = "0x202020"
CAMERA_KIND, SCREEN_KIND = FEED_KINDS["camera"], FEED_KINDS["screen"]
FILE_NAME = re.compile(
    r"-user-(?P<feed>\d+)-(?P<time>\d+)-(?P<track>audio|video|data)(?:-(?P<mindex>\d+))?\.mjr$"
)
MAGIC = (b"MJR00001", b"MJR00002")
CONTAINERS = {
    "webm": {
        "suffix": ".webm",
        "content_type": "video/webm",
        "video": ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "900k",
                  "-maxrate", "1200k", "-bufsize", "1800k", "-g", str(FPS * 4), "-threads", "2"],
        "audio": ["-c:a", "libopus", "-b:a", "48k", "-ac", "1"],
    },
    "mp4": {
        "suffix": ".mp4",
        "content_type": "video/mp4",
        "video": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-maxrate", "1200k",
                  "-bufsize", "1800k", "-g", str(FPS * 4), "-pix_fmt", "yuv420p", "-threads", "2"],
        "audio": ["-c:a", "aac", "-b:a", "64k", "-ac", "1"],
    },
}  # fmt: skip
# Metadata ffmpeg would otherwise write with the time or its version: same inputs, same bytes.
BITEXACT = ["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"]


class CompositionError(Exception):
    """The feeds could not be composed (none there, a tool failed); the message says why."""


@dataclass(frozen=True)
class Participant:
    user_id: int
    name: str
    role: str  # "mentor" or "learner"
    consented: bool


@dataclass(frozen=True)
class Clip:
    """One raw file: a track of one feed over [start_us, end_us] of wall clock."""

    path: Path
    user_id: int
    kind: int  # CAMERA_KIND or SCREEN_KIND
    track: str  # "audio" or "video"
    codec: str
    start_us: int
    end_us: int

    @property
    def converted_name(self):
        if self.track == "audio":
            suffix = ".opus"
        else:  # janus-pp-rec writes VP8, VP9 and AV1 into WebM, H.264 and H.265 into MP4
            suffix = ".mp4" if self.codec.lower() in ("h264", "h265") else ".webm"
        return f"{self.path.stem}{suffix}"


@dataclass
class Result:
    path: Path
    content_type: str
    duration_ms: int
    layout: dict
    chapters: list
    steps_run: list = field(default_factory=list)
    steps_skipped: list = field(default_factory=list)


# ----- reading the raw files ----------------------------------------------------------------


def read_clip(path):
    """The clip ``path`` holds, from its name and header, its end from its last packet's time;
    None for a file that is not a readable audio or video recording (data channels, a file Janus
    is still writing, a truncated header)."""
    match = FILE_NAME.search(path.name)
    if match is None or match["track"] == "data":
        return None
    with open(path, "rb") as file:
        if file.read(8) not in MAGIC:
            return None
        size = file.read(2)
        if len(size) < 2:
            return None
        try:
            header = json.loads(file.read(struct.unpack("!H", size)[0]))
        except ValueError:
            return None
        if not isinstance(header, dict):
            return None
        last_ms = 0
        packets = 0
        while True:
            frame = file.read(10)
            if len(frame) < 10 or frame[:4] != b"MEET":
                break
            ms, size = struct.unpack("!IH", frame[4:])
            last_ms = max(last_ms, ms)
            packets += 1
            file.seek(size, os.SEEK_CUR)
    if header.get("t") not in ("a", "v") or not packets:
        return None
    feed = int(match["feed"])
    start_us = int(header.get("u") or header.get("s"))
    return Clip(
        path=path,
        user_id=feed // FEED_BASE,
        kind=feed % FEED_BASE,
        track="audio" if header["t"] == "a" else "video",
        codec=str(header.get("c", "")),
        start_us=start_us,
        end_us=start_us + last_ms * 1000,
    )


def read_clips(raw_dir):
    clips = [read_clip(path) for path in sorted(Path(raw_dir).glob("*.mjr"))]
    return [clip for clip in clips if clip is not None]


def span_bounds(spans, clips):
    """The recorded spans as (start_us, end_us) pairs; a span without a stop (the session ended
    while recording) ends with the last packet, and no spans at all means all of the feeds."""
    last = max(clip.end_us for clip in clips)
    first = min(clip.start_us for clip in clips)
    bounds = []
    for span in spans or []:
        start = _micros(span.get("start")) if span.get("start") else first
        stop = _micros(span.get("stop")) if span.get("stop") else last
        if stop > start:
            bounds.append((start, stop))
    return bounds or [(first, last)]


def _micros(value):
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return int(moment.timestamp() * 1_000_000)


# ----- the pipeline -------------------------------------------------------------------------


def compose(raw_dir, participants, spans, work_dir, *, progress=None, container="mp4"):
    """Compose the feeds in ``raw_dir`` into one file in ``work_dir``; returns a ``Result``."""
    progress = _throttled(progress)
    work_dir = Path(work_dir)
    (work_dir / "feeds").mkdir(parents=True, exist_ok=True)
    (work_dir / "segments").mkdir(exist_ok=True)
    settings = CONTAINERS[container]
    people = {person.user_id: person for person in participants}
    clips = read_clips(raw_dir)
    if not clips:
        raise CompositionError(f"no recorded feeds in {raw_dir}")
    result = Result(
        path=work_dir, content_type=settings["content_type"], duration_ms=0, layout={}, chapters=[]
    )

    included = [clip for clip in clips if _consented(people, clip.user_id)]
    excluded = sorted({clip.user_id for clip in clips} - {clip.user_id for clip in included})
    progress(2, system_texts.STEP_READING)
    for number, clip in enumerate(included, 1):
        _step(result, work_dir / "feeds" / clip.converted_name, lambda out, clip=clip: _convert(clip, out))
        progress(
            2 + 38 * number // len(included),
            system_texts.fill(system_texts.STEP_UNPACKING, number=number, count=len(included)),
        )

    bounds = span_bounds(spans, clips)
    mentor_ids = [person.user_id for person in participants if person.role == "mentor"]
    plans = [_plan(included, people, mentor_ids, start, stop, work_dir) for start, stop in bounds]
    segments = []
    offset_ms = 0
    timeline, chapters = [], []
    for number, plan in enumerate(plans, 1):
        name = f"segment-{number}-{plan.digest(settings)}{settings['suffix']}"
        base = 40 + 50 * (number - 1) // len(plans)
        width = 50 // len(plans)

        def report(fraction, number=number, base=base, width=width):
            progress(
                base + int(width * fraction),
                system_texts.fill(system_texts.STEP_COMPOSING, number=number, count=len(plans)),
            )

        path = _step(
            result, work_dir / "segments" / name, lambda out, plan=plan: _render(plan, settings, out, report)
        )
        segments.append(path)
        for entry in plan.timeline:
            timeline.append(
                {**entry, "start_ms": entry["start_ms"] + offset_ms, "end_ms": entry["end_ms"] + offset_ms}
            )
        for chapter in plan.chapters:
            chapters.append({**chapter, "start_ms": chapter["start_ms"] + offset_ms})
        offset_ms += plan.duration_ms
    chapters = _chapters(chapters, offset_ms)

    progress(92, system_texts.STEP_JOINING)
    digest = hashlib.sha256(
        json.dumps([p.name for p in segments] + [chapters], sort_keys=True).encode()
    ).hexdigest()[:16]
    final = _step(
        result,
        work_dir / f"recording-{digest}{settings['suffix']}",
        lambda out: _join(segments, chapters, container, out, work_dir),
    )
    result.path = final
    result.duration_ms = probe_duration_ms(final)
    result.chapters = chapters
    result.layout = _layout(participants, people, included, excluded, plans, timeline)
    progress(96, system_texts.STEP_COMPOSED)
    return result


def _throttled(progress):
    """``progress`` told only when the percentage or the step changes."""
    last = [None]

    def tell(percent, step):
        if progress is not None and (percent, step) != last[0]:
            last[0] = (percent, step)
            progress(percent, step)

    return tell


def _consented(people, user_id):
    person = people.get(user_id)
    return person is not None and person.consented


def _step(result, output, make):
    """Make ``output`` through a temporary file renamed into place, unless it is there already."""
    if output.exists():
        result.steps_skipped.append(output.name)
        return output
    partial = output.with_name(f".partial-{output.name}")
    partial.unlink(missing_ok=True)
    try:
        make(partial)
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)
    result.steps_run.append(output.name)
    return output


def _convert(clip, out):
    # janus-pp-rec picks the container by the extension, which the temporary name keeps.
    run(["janus-pp-rec", "-o", str(clip.path), str(out)])
    if not out.exists() or out.stat().st_size == 0:
        raise CompositionError(f"janus-pp-rec made nothing of {clip.path.name}")


# ----- one span's picture and sound ---------------------------------------------------------


@dataclass
class Placed:
    """A clip as one span's input: its file, where it starts in the span (seconds; negative when
    it began before), and where its picture goes (intervals of the span in seconds)."""

    clip: Clip
    file: Path
    offset: float
    main: list = field(default_factory=list)
    strip: list = field(default_factory=list)
    slot: int | None = None


@dataclass
class Plan:
    start_us: int
    stop_us: int
    videos: list
    audios: list
    timeline: list
    chapters: list

    @property
    def duration(self):
        return (self.stop_us - self.start_us) / 1_000_000

    @property
    def duration_ms(self):
        return (self.stop_us - self.start_us) // 1000

    def digest(self, settings):
        """Names the segment after everything that makes it, so changed inputs make a new one."""
        described = {
            "span": [self.start_us, self.stop_us],
            "settings": settings,
            "videos": [[v.file.name, v.offset, v.main, v.strip, v.slot] for v in self.videos],
            "audios": [[a.file.name, a.offset] for a in self.audios],
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]


def _plan(clips, people, mentor_ids, start_us, stop_us, work_dir):
    """Who is where in the span [start_us, stop_us]."""
    duration = (stop_us - start_us) / 1_000_000

    def window(clip):
        return max(0.0, (clip.start_us - start_us) / 1e6), min(duration, (clip.end_us - start_us) / 1e6)

    within = [clip for clip in clips if clip.end_us > start_us and clip.start_us < stop_us]

    def placed(clip):
        return Placed(
            clip, work_dir / "feeds" / clip.converted_name, round((clip.start_us - start_us) / 1e6, 3)
        )

    screens = sorted(
        (placed(c) for c in within if c.track == "video" and c.kind == SCREEN_KIND),
        key=lambda p: p.clip.start_us,
    )
    cameras = sorted(
        (placed(c) for c in within if c.track == "video" and c.kind == CAMERA_KIND),
        key=lambda p: (p.clip.user_id not in mentor_ids, p.clip.user_id, p.clip.start_us),
    )
    # When a screen share is the picture: from its start to its end, the latest share winning.
    shared = []
    for screen in screens:
        begin, end = window(screen.clip)
        shared = _subtract(shared, [(begin, end)])
        shared.append((begin, end, screen))
    shared.sort(key=lambda entry: entry[0])
    screen_time = [(begin, end) for begin, end, _screen in shared]
    for begin, end, screen in shared:
        screen.main.append((round(begin, 3), round(end, 3)))
    # Strip slots: one per person, the mentor's first, in the order they are listed.
    slots = {}
    for camera in cameras:
        if camera.clip.user_id not in slots:
            slots[camera.clip.user_id] = len(slots)
    for camera in cameras:
        begin, end = window(camera.clip)
        is_mentor = camera.clip.user_id in mentor_ids
        camera.slot = slots[camera.clip.user_id]
        if is_mentor:
            camera.main = _round(_subtract([(begin, end)], screen_time))
            camera.strip = _round(_intersect([(begin, end)], screen_time))
        else:
            camera.strip = _round([(begin, end)])
    videos = [
        v for v in screens + cameras if (v.main or v.strip) and (v.slot is None or v.slot < STRIP_SLOTS)
    ]
    audios = [placed(c) for c in within if c.track == "audio"]

    timeline = []
    for video in videos:
        person = people[video.clip.user_id]
        who = {"user_id": person.user_id, "name": person.name, "kind": _kind_name(video.clip.kind)}
        for begin, end in video.main:
            timeline.append(
                {"start_ms": int(begin * 1000), "end_ms": int(end * 1000), "place": "main", **who}
            )
        for begin, end in video.strip:
            timeline.append(
                {
                    "start_ms": int(begin * 1000),
                    "end_ms": int(end * 1000),
                    "place": "strip",
                    "slot": video.slot,
                    **who,
                }
            )
    timeline.sort(key=lambda entry: (entry["start_ms"], entry["place"], entry["user_id"]))
    chapters = [
        {
            "start_ms": int(begin * 1000),
            "title": system_texts.fill(
                system_texts.CHAPTER_SCREEN_SHARE, name=people[screen.clip.user_id].name
            ),
        }
        for begin, _end, screen in shared
    ]
    return Plan(start_us, stop_us, videos, audios, timeline, chapters)


def _kind_name(kind):
    return "screen" if kind == SCREEN_KIND else "camera"


def _round(intervals):
    return [(round(a, 3), round(b, 3)) for a, b in intervals if b - a > 0.001]


def _subtract(intervals, cuts):
    """``intervals`` (pairs or triples whose first two are the bounds) without ``cuts``."""
    out = []
    for interval in intervals:
        pieces = [interval]
        for cut_begin, cut_end in cuts:
            next_pieces = []
            for piece in pieces:
                begin, end, *rest = piece
                if cut_end <= begin or cut_begin >= end:
                    next_pieces.append(piece)
                    continue
                if begin < cut_begin:
                    next_pieces.append((begin, cut_begin, *rest))
                if cut_end < end:
                    next_pieces.append((cut_end, end, *rest))
            pieces = next_pieces
        out.extend(pieces)
    return out


def _intersect(intervals, others):
    out = []
    for begin, end in intervals:
        for other_begin, other_end in others:
            low, high = max(begin, other_begin), min(end, other_end)
            if high > low:
                out.append((low, high))
    return out


def _enable(intervals):
    return "+".join(f"between(t,{begin:.3f},{end:.3f})" for begin, end in intervals)


def _timed(label, placed, video):
    """The filter putting an input on the span's clock: cut what came before the span, shift
    what starts later."""
    cut = f"{'trim' if video else 'atrim'}=start={-placed.offset:.3f}," if placed.offset < 0 else ""
    if video:
        return f"[{label}:v]{cut}setpts=PTS-STARTPTS+{max(placed.offset, 0):.3f}/TB"
    delay = round(max(placed.offset, 0) * 1000)
    return f"[{label}:a]{cut}asetpts=PTS-STARTPTS,aresample=48000,adelay={delay}:all=1"


def _render(plan, settings, out, report):
    inputs, graph = [], []
    duration = f"{plan.duration:.3f}"
    graph.append(f"color=c={BACKGROUND}:s={WIDTH}x{HEIGHT}:r={FPS}:d={duration},format=yuv420p[base0]")
    layer = 0
    for index, video in enumerate(plan.videos):
        inputs += ["-i", str(video.file)]
        chains = []
        if video.main:
            chains.append((video.main, MAIN_W, HEIGHT, 0, 0))
        if video.strip:
            chains.append((video.strip, STRIP_W, STRIP_H, MAIN_W, video.slot * STRIP_H))
        timed = _timed(index, video, video=True) + f",fps={FPS}"
        if len(chains) == 2:
            graph.append(f"{timed},split=2[v{index}a][v{index}b]")
            sources = [f"[v{index}a]", f"[v{index}b]"]
        else:
            graph.append(f"{timed}[v{index}a]")
            sources = [f"[v{index}a]"]
        for source, (intervals, width, height, x, y) in zip(sources, chains, strict=True):
            scaled = f"s{index}_{x}"
            graph.append(
                f"{source}scale={width}:{height}:force_original_aspect_ratio=decrease,"
                f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color={BACKGROUND}[{scaled}]"
            )
            graph.append(
                f"[base{layer}][{scaled}]overlay=x={x}:y={y}:eof_action=pass:"
                f"enable='{_enable(intervals)}'[base{layer + 1}]"
            )
            layer += 1
    graph.append(f"[base{layer}]null[vout]")
    mixed = []
    for index, audio in enumerate(plan.audios, len(plan.videos)):
        inputs += ["-i", str(audio.file)]
        graph.append(_timed(index, audio, video=False) + f"[a{index}]")
        mixed.append(f"[a{index}]")
    if mixed:
        graph.append(
            "".join(mixed) + f"amix=inputs={len(mixed)}:duration=longest:dropout_transition=0:normalize=0,"
            f"apad,atrim=0:{duration}[aout]"
        )
    else:
        graph.append(f"anullsrc=r=48000:cl=mono,atrim=0:{duration}[aout]")
    command = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *inputs,
        "-filter_complex", ";".join(graph), "-map", "[vout]", "-map", "[aout]",
        *settings["video"], "-r", str(FPS), *settings["audio"], "-ar", "48000",
        "-t", duration, *BITEXACT, "-progress", "pipe:1", "-nostats",
        "-f", "webm" if settings["suffix"] == ".webm" else "mp4", str(out),
    ]  # fmt: skip
    run(command, on_progress=lambda seconds: report(min(1.0, seconds / max(plan.duration, 0.001))))


def _chapters(chapters, total_ms):
    """Chapters at each screen share's start, with one for the start when the first comes later;
    each ends where the next begins."""
    chapters = sorted(chapters, key=lambda chapter: chapter["start_ms"])
    if (chapters and chapters[0]["start_ms"] > 0) or not chapters:
        chapters.insert(0, {"start_ms": 0, "title": system_texts.CHAPTER_START})
    merged = []
    for chapter in chapters:
        if merged and chapter["start_ms"] - merged[-1]["start_ms"] < 1000:
            merged[-1] = chapter if chapter["title"] != system_texts.CHAPTER_START else merged[-1]
            continue
        merged.append(dict(chapter))
    for this, following in zip(merged, [*merged[1:], None], strict=True):
        this["end_ms"] = following["start_ms"] if following else total_ms
    return merged


def _join(segments, chapters, container, out, work_dir):
    listing = work_dir / ".segments.txt"
    listing.write_text("".join(f"file '{path.resolve()}'\n" for path in segments))
    metadata = work_dir / ".chapters.txt"
    lines = [";FFMETADATA1"]
    for chapter in chapters:
        title = chapter["title"].replace("\\", "\\\\").replace("=", "\\=").replace(";", "\\;")
        title = title.replace("#", "\\#").replace("\n", " ")
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={chapter['start_ms']}", f"END={chapter['end_ms']}",
                  f"title={title}"]  # fmt: skip
    metadata.write_text("\n".join(lines) + "\n")
    command = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
        "-f", "concat", "-safe", "0", "-i", str(listing), "-i", str(metadata),
        "-map", "0", "-map_metadata", "1", "-map_chapters", "1", "-c", "copy", *BITEXACT,
    ]  # fmt: skip
    if container == "mp4":
        command += ["-movflags", "+faststart", "-f", "mp4"]
    else:
        command += ["-f", "webm"]
    run([*command, str(out)])


def _layout(participants, people, included, excluded, plans, timeline):
    tracks = {}
    for clip in included:
        tracks.setdefault(clip.user_id, set()).add(
            "audio" if clip.track == "audio" else _kind_name(clip.kind)
        )
    in_picture = {entry["user_id"] for entry in timeline}
    return {
        "canvas": {"width": WIDTH, "height": HEIGHT},
        "main": {"x": 0, "y": 0, "width": MAIN_W, "height": HEIGHT},
        "strip": [
            {"slot": slot, "x": MAIN_W, "y": slot * STRIP_H, "width": STRIP_W, "height": STRIP_H}
            for slot in range(STRIP_SLOTS)
        ],
        "timeline": timeline,
        "included": [
            {
                "user_id": person.user_id,
                "name": person.name,
                "role": person.role,
                "tracks": sorted(tracks[person.user_id]),
                "in_picture": person.user_id in in_picture,
            }
            for person in participants
            if person.user_id in tracks
        ],
        "excluded": [
            {
                "user_id": user_id,
                "name": people[user_id].name if user_id in people else "",
                "role": people[user_id].role if user_id in people else "",
                "reason": "did not agree to be recorded" if user_id in people else "not a participant",
            }
            for user_id in excluded
        ],
    }


# ----- tools --------------------------------------------------------------------------------


def run(command, on_progress=None):
    """Run a media tool; CompositionError with the end of its output when it fails. The process
    is killed when this is interrupted (the job's timeout, a worker's shutdown), not left to run."""
    process = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
        command,
        stdout=subprocess.PIPE if on_progress else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if on_progress:
            for line in process.stdout:
                key, _, value = line.strip().partition("=")
                if key == "out_time_us" and value.isdigit():
                    on_progress(int(value) / 1_000_000)
        _stdout, stderr = process.communicate()
    except BaseException:
        process.kill()
        process.wait()
        raise
    if process.returncode != 0:
        tail = " | ".join(stderr.strip().splitlines()[-5:])
        raise CompositionError(f"{Path(command[0]).name} failed ({process.returncode}): {tail}")
    return stderr


def probe(path):
    """ffprobe's account of ``path``: its format, streams and chapters."""
    command = [
        "ffprobe",
        "-v",
        "error",
        "-print_format",
        "json",
        "-show_format",
        "-show_streams",
        "-show_chapters",
    ]
    output = subprocess.run(  # noqa: S603 - our own arguments, no shell
        [*command, str(path)], capture_output=True, text=True, check=False
    )
    if output.returncode != 0:
        raise CompositionError(f"ffprobe cannot read {Path(path).name}: {output.stderr.strip()[-300:]}")
    return json.loads(output.stdout)


def probe_duration_ms(path):
    return int(float(probe(path)["format"]["duration"]) * 1000)


def tools_missing():
    """The media tools this needs that are not on PATH (for the doctor and tests)."""
    return [tool for tool in ("janus-pp-rec", "ffmpeg", "ffprobe") if shutil.which(tool) is None]
