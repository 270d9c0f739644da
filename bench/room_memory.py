"""Room memory: what one idle live-room connection costs the server in resident memory.

    .venv/bin/python bench/room_memory.py [--clients 200] [--idle 10] [--sqlite]
        [--admin-database-url postgresql://postgres@127.0.0.1:5432/postgres]

Seeds a scratch database (PostgreSQL: created through the admin URL, dropped afterwards; or a
temporary SQLite file with --sqlite) with live rooms of a mentor and three learners with
confirmed bookings (see roomkit.py), enough for ``--clients`` participants, and starts one
production server process (gunicorn -k gevent -w 1 wsgi:app). Everyone signs in through the
login form first, and one participant connects, joins and leaves, so that what the first
connection loads once is not counted. Then the server worker's resident memory (VmRSS in
/proc/<pid>/status) is read, every participant connects over WebSocket and joins their room
(`room:join`) in two halves, and it is read again after each half has been idle for ``--idle``
seconds, and once more after everyone has disconnected.

Prints the worker's RSS at each reading in KiB, and the memory per idle room connection:
(RSS with all connections - RSS before) / clients, and the second half's growth divided by its
size, which leaves out what the first connections set up once (such as pooled database
connections).

What stays after everyone left: the worker answers a signal (a gunicorn hook of this bench) with
what it holds before the connections and after they closed: Python objects by type (gc), the C
allocator's own figures (glibc mallinfo2: bytes in use, and bytes free but still held in its
arenas), and, with --trace, the Python allocations still alive by the line that made them
(tracemalloc, started in the worker; it costs memory of its own, so RSS figures of a --trace run
are higher). Then it calls malloc_trim(0) and the RSS is read once more: what that gives back
was free memory the allocator had kept (its high-water mark), not anything still referenced.
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import roomkit

SETTLE_SECONDS = 3  # for the server to finish the work a burst of connects or disconnects started
INSPECT_SIGNAL = signal.SIGUSR2  # set in the worker after gunicorn's own handlers (post_worker_init)

# The bench's gunicorn hooks: in the worker, a signal handler that writes what the worker holds
# to the file named by PEERLEARN_BENCH_INSPECT (a label is read from <file>.label).
INSPECT_HOOKS = """
import collections
import ctypes
import gc
import json
import os
import signal
import tracemalloc

_libc = ctypes.CDLL("libc.so.6")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
        "keepcost")]


_libc.mallinfo2.restype = _MallInfo2
_snapshots = {}


def _rss_kib():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


def _inspect(*_args):
    path = os.environ["PEERLEARN_BENCH_INSPECT"]
    label = open(path + ".label").read().strip()
    gc.collect()
    types = collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())
    info = _libc.mallinfo2()
    report = {
        "label": label,
        "rss_kib": _rss_kib(),
        "types": dict(types.most_common(400)),
        "malloc_in_use": info.uordblks + info.hblkhd,
        "malloc_free_held": info.fordblks,
    }
    if tracemalloc.is_tracing():
        snapshot = tracemalloc.take_snapshot()
        _snapshots[label] = snapshot
        report["traced"] = tracemalloc.get_traced_memory()[0]
        first = _snapshots.get("before")
        if first is not None and label != "before":
            report["grown"] = [
                [str(stat.traceback[0]), stat.size_diff, stat.count_diff]
                for stat in snapshot.compare_to(first, "lineno")[:12]
            ]
    if label == "after":
        _libc.malloc_trim(0)
        report["rss_after_trim_kib"] = _rss_kib()
    with open(path + ".tmp", "w") as out:
        json.dump(report, out)
    os.replace(path + ".tmp", path)


def post_worker_init(worker):
    if os.environ.get("PEERLEARN_BENCH_TRACE"):
        tracemalloc.start(1)
    signal.signal(signal.SIGUSR2, _inspect)
"""


def inspect(worker, path, label):
    """Ask the worker what it holds now (see INSPECT_HOOKS)."""
    Path(str(path) + ".label").write_text(label)
    path.unlink(missing_ok=True)
    os.kill(worker, INSPECT_SIGNAL)
    deadline = time.monotonic() + 120
    while not path.exists():
        if time.monotonic() > deadline:
            raise SystemExit("the server worker did not answer the inspection signal")
        time.sleep(0.1)
    return json.loads(path.read_text())


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=200, help="idle room connections to open")
    parser.add_argument("--idle", type=float, default=10, help="seconds they stay idle before measuring")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file, not PostgreSQL")
    parser.add_argument("--admin-database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--trace", action="store_true", help="also trace Python allocations (tracemalloc)")
    parser.add_argument(
        "--linger", type=float, default=45, help="seconds after the disconnects for the last reading"
    )
    args = parser.parse_args()
    rooms_needed = -(-args.clients // roomkit.ROOM_SIZE)

    secret_key = roomkit.new_secret_key()
    with (
        tempfile.TemporaryDirectory(prefix="peerlearn-memory-") as folder,
        roomkit.scratch_database(None if args.sqlite else args.admin_database_url) as database_url,
    ):
        workdir = Path(folder)
        rooms = roomkit.seed_rooms(database_url, secret_key, rooms_needed)
        members = [member for room in rooms for member in room][: args.clients]
        env = roomkit.server_environment(database_url, secret_key, workdir)
        report_path = workdir / "inspect.json"
        env["PEERLEARN_BENCH_INSPECT"] = str(report_path)
        if args.trace:
            env["PEERLEARN_BENCH_TRACE"] = "1"
        print(
            f"{args.clients} participants in {rooms_needed} live rooms, "
            f"{'a SQLite file' if args.sqlite else 'a PostgreSQL scratch database'}; one server process: "
            f"gunicorn -k gevent -w 1 wsgi:app (production config)"
        )
        print(f"bench-only server settings: {roomkit.describe_settings()}\n")
        with roomkit.servers(env, 1, workdir, tag="memory", hooks=INSPECT_HOOKS) as (server,):
            jars = roomkit.sign_in_all(server.url, members)
            try:
                worker = server.worker_pid()
                first = roomkit.connect_all([(members[0], 0)], jars, [server.url])
                roomkit.disconnect_all(first)
                time.sleep(SETTLE_SECONDS)
                held_before = inspect(worker, report_path, "before")
                before = roomkit.rss_kib(worker)

                # In two halves: the second half's growth is the cost of a connection alone,
                # without anything the first burst of connections set up once (such as database
                # connections in the pool).
                half = args.clients // 2
                participants = []
                readings = []
                try:
                    for wave in (members[:half], members[half:]):
                        participants += roomkit.connect_all([(m, 0) for m in wave], jars, [server.url])
                        time.sleep(args.idle)
                        readings.append(roomkit.rss_kib(worker))
                    still_open = sum(participant.sio.connected for participant in participants)
                finally:
                    roomkit.disconnect_all(participants)
                time.sleep(SETTLE_SECONDS)
                after = roomkit.rss_kib(worker)
                held_left = inspect(worker, report_path, "left")
                # Engine.IO frees a closed WebSocket's session only when its service task, which
                # walks the sessions once per ping timeout, comes by: read again after that.
                time.sleep(args.linger)
                held_after = inspect(worker, report_path, "after")
                # Everyone again: memory kept but free is used again, memory leaked is not.
                again = roomkit.connect_all([(m, 0) for m in members], jars, [server.url])
                time.sleep(args.idle)
                second_peak = roomkit.rss_kib(worker)
                roomkit.disconnect_all(again)
            finally:
                for jar in jars.values():
                    jar.close()

    midway, during = readings
    rows = [
        ("before the connections", before),
        (f"with {half} idle room connections", midway),
        (f"with {args.clients} idle room connections", during),
        ("after they disconnected", after),
        (f"{args.linger:g} s later", held_after["rss_kib"]),
        ("after malloc_trim(0)", held_after["rss_after_trim_kib"]),
        (f"with all {args.clients} connected again", second_peak),
    ]
    for label, kib in rows:
        print(f"server worker RSS {label + ':':<38} {kib:>9,} KiB")
    print(f"connections open at the last reading: {still_open} of {args.clients}")
    print(
        f"per idle room connection: {(during - before) / args.clients:.1f} KiB "
        f"((with {args.clients} - before) / {args.clients}); "
        f"{(during - midway) / (args.clients - half):.1f} KiB for the second {args.clients - half} alone"
    )
    print_kept(held_before, held_left, f"{SETTLE_SECONDS} s after everyone left")
    print_kept(held_before, held_after, f"{SETTLE_SECONDS + args.linger:g} s after everyone left")
    return 0


def print_kept(before, after, when):
    """What the worker holds ``when``, against before the connections."""
    mib = 1024 * 1024
    print(f"\n{when}, against before ({after['rss_kib'] - before['rss_kib']:+,} KiB of RSS):")
    print(
        f"  C allocator: in use {before['malloc_in_use'] / mib:.1f} -> "
        f"{after['malloc_in_use'] / mib:.1f} MiB, free but held in its arenas "
        f"{before['malloc_free_held'] / mib:.1f} -> "
        f"{after['malloc_free_held'] / mib:.1f} MiB"
    )
    if "rss_after_trim_kib" in after:
        print(
            f"  malloc_trim(0) then gave back {after['rss_kib'] - after['rss_after_trim_kib']:,} KiB "
            f"(RSS {after['rss_kib']:,} -> {after['rss_after_trim_kib']:,} KiB)"
        )
    grown = {name: after["types"].get(name, 0) - count for name, count in before["types"].items()}
    grown.update({name: count for name, count in after["types"].items() if name not in before["types"]})
    top = sorted(((n, name) for name, n in grown.items() if n), reverse=True)[:8]
    total = sum(after["types"].values()) - sum(before["types"].values())
    print(f"  Python objects: {total:+,} in all; most grown:")
    for n, name in top:
        print(f"    {n:+8,}  {name}")
    if "traced" in after:
        print(
            f"  traced Python allocations: {before['traced'] / mib:.1f} -> {after['traced'] / mib:.1f} MiB; "
            "grown most at:"
        )
        for where, size, count in after.get("grown", []):
            print(f"    {size / 1024:+10,.1f} KiB {count:+8,} blocks  {where}")


if __name__ == "__main__":
    sys.exit(main())
