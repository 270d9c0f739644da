"""Composing recordings: post-processing time per recorded minute and storage per recorded hour.

    .venv/bin/python bench/recordings.py [--seconds 60] [--people 2,4] [--container mp4|webm]

For each class size in ``--people`` (the mentor and learners), without and with a screen share
(the mentor's, over the middle third), it writes synthetic Janus recordings of ``--seconds``
(tests/support/mjr.py: each camera a colour with a moving test pattern and camera-like noise at
640×480, 15 fps, ~600 kbit/s VP8 and a tone in Opus; the screen 1280×720 at 5 fps) and composes
them with services/composer.py exactly as the ``recordings`` job does (janus-pp-rec per feed,
then one ffmpeg pass). It prints, per case: wall seconds, CPU seconds of the tools (user + system
of the child processes), × real time (wall / recorded; target ≤ 0.5 for two people), the file's
MB per recorded hour, and the load average before and after (the VM is shared: a busy neighbour
slows the wall time, not the CPU time).
"""

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from peerlearn.services import composer
from tests.support.mjr import BASE, at, classroom, write_feeds

NOISE = 8  # camera-like noise: a picture that is not a flat colour compresses like a camera's


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_case(folder, seconds, people, screen, container):
    raw = folder / "raw"
    share = (seconds / 3, 2 * seconds / 3) if screen else None
    write_feeds(raw, classroom(seconds, people=people, screen=share, noise=NOISE, stagger=0.5))
    participants = [
        composer.Participant(1 + place, f"Person {place + 1}", "mentor" if place == 0 else "learner", True)
        for place in range(people)
    ]
    spans = [{"start": BASE.isoformat(), "stop": at(BASE, seconds).isoformat()}]
    load_before = os.getloadavg()[0]
    cpu_before = children_cpu()
    started = time.perf_counter()
    result = composer.compose(raw, participants, spans, folder / "work", container=container)
    wall = time.perf_counter() - started
    cpu = children_cpu() - cpu_before
    size = result.path.stat().st_size
    return {
        "people": people,
        "screen": "yes" if screen else "no",
        "recorded_s": result.duration_ms / 1000,
        "wall_s": wall,
        "cpu_s": cpu,
        "x_real_time": wall / seconds,
        "cpu_x_real_time": cpu / seconds,
        "mb_per_hour": size / 1e6 * 3600 / seconds,
        "load": f"{load_before:.1f}→{os.getloadavg()[0]:.1f}",
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--people", default="2,4")
    parser.add_argument("--container", choices=sorted(composer.CONTAINERS), default="mp4")
    args = parser.parse_args()
    missing = composer.tools_missing()
    if missing:
        sys.exit(f"needs {', '.join(missing)} (apt-get install janus-tools ffmpeg)")
    print(f"{args.seconds:.0f} s recorded per case, {args.container}, {os.cpu_count()} CPUs")
    columns = ("people", "screen", "wall s", "CPU s", "×real", "CPU×real", "MB/h")
    print(
        " ".join(f"{name:>{width}}" for name, width in zip(columns, (6, 6, 7, 6, 6, 8, 6), strict=True)),
        " load",
    )
    for people in (int(value) for value in args.people.split(",")):
        for screen in (False, True):
            with tempfile.TemporaryDirectory(prefix="bench-recordings-") as folder:
                row = run_case(Path(folder), args.seconds, people, screen, args.container)
            print(
                f"{row['people']:>6} {row['screen']:>6} {row['wall_s']:>7.1f} {row['cpu_s']:>6.1f} "
                f"{row['x_real_time']:>6.2f} {row['cpu_x_real_time']:>8.2f} {row['mb_per_hour']:>6.0f}  "
                f"{row['load']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
