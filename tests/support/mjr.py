"""Janus recordings (.mjr) made without WebRTC, for the composing tests and the bench.

ffmpeg encodes a synthetic feed (a participant's colour with a moving test pattern, a tone of
their own) and sends it as RTP over loopback UDP; ``MjrWriter`` receives the packets and writes
them the way Janus's recorder does (``src/record.c``): the magic ``MJR00002``, a 2-byte length
and a JSON header (``t`` type, ``c`` codec, ``s`` created and ``u`` first-frame times in
microseconds of wall clock), then per packet ``MEET``, a 4-byte timestamp (milliseconds since
the first packet) and a 2-byte length before the RTP bytes.

The header's times are the ones given (``start``), not the moment the file was made, so a test
lays feeds out on a session's timeline as Janus would have, at encoding speed instead of in
real time. Files are named as the VideoRoom plugin names them:
``videoroom-<room>-user-<feed>-<time>-<audio|video>-<mindex>.mjr``.
"""

import json
import socket
import struct
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

FEED_BASE = 10
CAMERA, SCREEN = 1, 2
VIDEO_PT, AUDIO_PT = 96, 111
CLOCK = {"vp8": 90000, "opus": 48000}
# ffmpeg sends at this many times real time: loopback UDP drops nothing, yet far quicker than a talk.
READ_RATE = 8


class MjrWriter:
    """Receives RTP on a loopback UDP socket and writes one .mjr file."""

    def __init__(self, path, *, kind, codec, start_us, payload_type):
        self.path = Path(path)
        self.payload_type = payload_type
        self.kind, self.codec, self.start_us = kind, codec, start_us
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.packets = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self):
        while True:
            try:
                data = self.sock.recv(65535)
            except TimeoutError:
                if self.stopped.is_set():
                    return
                continue
            # RTP of this feed only (ffmpeg's RTCP reports go to the next port up).
            if len(data) >= 12 and data[1] & 0x7F == self.payload_type:
                self.packets.append(data)

    def close(self):
        """Stop receiving (the sender has finished) and write the file. Returns the packets written."""
        self.stopped.set()
        self.thread.join()
        self.sock.close()
        packets = self.packets
        if not packets:
            raise RuntimeError(f"no RTP reached {self.path.name}")
        first_ts = struct.unpack("!I", packets[0][4:8])[0]
        clock = CLOCK[self.codec]
        header = json.dumps(
            {"t": self.kind, "c": self.codec, "s": self.start_us, "u": self.start_us},
            separators=(",", ":"),
        ).encode()
        with open(self.path, "wb") as out:
            out.write(b"MJR00002")
            out.write(struct.pack("!H", len(header)))
            out.write(header)
            for packet in packets:
                rtp_ts = struct.unpack("!I", packet[4:8])[0]
                ms = ((rtp_ts - first_ts) & 0xFFFFFFFF) * 1000 // clock
                out.write(b"MEET")
                out.write(struct.pack("!IH", ms, len(packet)))
                out.write(packet)
        return len(packets)


@dataclass(frozen=True)
class Feed:
    """One participant's published feed: camera (video and audio) or screen (video only)."""

    user_id: int
    kind: int  # CAMERA or SCREEN
    start: datetime
    seconds: float
    colour: str  # the picture's colour, e.g. "0xC03030"
    tone: int = 440  # Hz of the microphone's sine; 0 for none
    size: str = "640x480"
    rate: int = 15
    noise: int = 0  # camera-like noise (0–100) for realistic bitrates in the bench

    @property
    def feed_id(self):
        return self.user_id * FEED_BASE + self.kind


def micros(moment):
    return int(moment.timestamp() * 1_000_000)


def write_feed(raw_dir, feed, *, room=1234):
    """Write ``feed``'s .mjr files (video, and audio when it has a tone) into ``raw_dir``."""
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    start_us = micros(feed.start)
    stem = f"videoroom-{room}-user-{feed.feed_id}-{start_us}"
    written = []
    video = MjrWriter(raw_dir / f"{stem}-video-{0 if feed.kind == SCREEN else 1}.mjr", kind="v", codec="vp8",
                      start_us=start_us, payload_type=VIDEO_PT)  # fmt: skip
    audio = None
    if feed.tone:
        audio = MjrWriter(raw_dir / f"{stem}-audio-0.mjr", kind="a", codec="opus", start_us=start_us,
                          payload_type=AUDIO_PT)  # fmt: skip
    picture = (
        f"color=c={feed.colour}:s={feed.size}:r={feed.rate}:d={feed.seconds}[bg];"
        f"testsrc2=s=160x120:r={feed.rate}:d={feed.seconds}[patch];"
        "[bg][patch]overlay=x='mod(t*40,W-w)':y=H-h-8"
    )
    if feed.noise:
        picture += f",noise=alls={feed.noise}:allf=t"
    picture += ",format=yuv420p"
    command = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-readrate", str(READ_RATE), "-f", "lavfi", "-i", picture,
    ]  # fmt: skip
    if audio:
        command += [
            "-readrate",
            str(READ_RATE),
            "-f",
            "lavfi",
            "-i",
            f"sine=f={feed.tone}:r=48000:d={feed.seconds}",
        ]
    command += [
        "-map",
        "0:v",
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "600k",
        "-g",
        str(feed.rate * 2),
        "-payload_type",
        str(VIDEO_PT),
        "-ssrc",
        str(feed.feed_id * 2),
        "-f",
        "rtp",
        f"rtp://127.0.0.1:{video.port}?pkt_size=1200",
    ]
    if audio:
        command += [
            "-map", "1:a", "-c:a", "libopus", "-b:a", "32k", "-ac", "1",
            "-payload_type", str(AUDIO_PT), "-ssrc", str(feed.feed_id * 2 + 1),
            "-f", "rtp", f"rtp://127.0.0.1:{audio.port}?pkt_size=1200",
        ]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 - our own arguments
    video.close()
    written.append(video.path)
    if audio:
        audio.close()
        written.append(audio.path)
    return written


def at(base, seconds):
    """``base`` plus ``seconds``, a point on a session's timeline."""
    from datetime import timedelta

    return base + timedelta(seconds=seconds)


BASE = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


# A synthetic class: the mentor (user 1) and learners 2, 3, …, each with a colour and a tone.
COLOURS = ("0xC03030", "0x30C030", "0x3030C0", "0xC0C030", "0x30C0C0")
TONES = (440, 660, 880, 1100, 1320)
SCREEN_COLOUR = "0xE0E0E0"
MENTOR_ID = 1


def classroom(seconds, *, people=2, screen=None, start=BASE, noise=0, stagger=0.5):
    """The feeds of a class of ``people`` (the mentor first) over ``seconds`` from ``start``:
    each learner's camera from ``stagger`` × their place later, and the mentor's screen share over
    ``screen`` = (from, to) seconds when given."""
    feeds = []
    for place in range(people):
        late = stagger * place
        feeds.append(
            Feed(
                MENTOR_ID + place,
                CAMERA,
                at(start, late),
                seconds - late,
                COLOURS[place],
                TONES[place],
                noise=noise,
            )
        )
    if screen:
        begin, end = screen
        feeds.append(
            Feed(MENTOR_ID, SCREEN, at(start, begin), end - begin, SCREEN_COLOUR, 0, size="1280x720", rate=5,
                 noise=noise)
        )  # fmt: skip
    return feeds


def write_feeds(raw_dir, feeds):
    """Write every feed's files, two at a time (one per core)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [path for paths in pool.map(lambda feed: write_feed(raw_dir, feed), feeds) for path in paths]


def copy_feeds(source, target, user_ids):
    """Copy the .mjr files of ``source`` into ``target``, renamed for other people: ``user_ids``
    maps the user ids they were written for to the ids to give them (the feed id is only in the
    name), so feeds made once serve tests whose users get other ids."""
    import re
    import shutil

    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(source).glob("*.mjr")):
        match = re.search(r"-user-(\d+)-", path.name)
        feed = int(match[1])
        user, kind = divmod(feed, FEED_BASE)
        name = path.name.replace(match[0], f"-user-{user_ids[user] * FEED_BASE + kind}-")
        shutil.copyfile(path, target / name)
    return target
