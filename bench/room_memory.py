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
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import roomkit

SETTLE_SECONDS = 3  # for the server to finish the work a burst of connects or disconnects started


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=200, help="idle room connections to open")
    parser.add_argument("--idle", type=float, default=10, help="seconds they stay idle before measuring")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file, not PostgreSQL")
    parser.add_argument("--admin-database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
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
        print(
            f"{args.clients} participants in {rooms_needed} live rooms, "
            f"{'a SQLite file' if args.sqlite else 'a PostgreSQL scratch database'}; one server process: "
            f"gunicorn -k gevent -w 1 wsgi:app (production config)"
        )
        print(f"bench-only server settings: {roomkit.describe_settings()}\n")
        with roomkit.servers(env, 1, workdir, tag="memory") as (server,):
            jars = roomkit.sign_in_all(server.url, members)
            try:
                worker = server.worker_pid()
                first = roomkit.connect_all([(members[0], 0)], jars, [server.url])
                roomkit.disconnect_all(first)
                time.sleep(SETTLE_SECONDS)
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
            finally:
                for jar in jars.values():
                    jar.close()

    midway, during = readings
    rows = [
        ("before the connections", before),
        (f"with {half} idle room connections", midway),
        (f"with {args.clients} idle room connections", during),
        ("after they disconnected", after),
    ]
    for label, kib in rows:
        print(f"server worker RSS {label + ':':<38} {kib:>9,} KiB")
    print(f"connections open at the last reading: {still_open} of {args.clients}")
    print(
        f"per idle room connection: {(during - before) / args.clients:.1f} KiB "
        f"((with {args.clients} - before) / {args.clients}); "
        f"{(during - midway) / (args.clients - half):.1f} KiB for the second {args.clients - half} alone"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
