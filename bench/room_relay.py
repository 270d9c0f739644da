"""Room relay: how fast the live room relays WebRTC signals and chat, on one server process and
on two that share a Redis message queue.

    .venv/bin/python bench/room_relay.py [--rooms 50] [--signals 1200] [--signal-rate 20]
        [--chats 600] [--chat-rate 5] [--warmup 0.1] [--nagle] [--sqlite]
        [--saturate-from 400] [--saturate-factor 1.5] [--saturate-max 3200] [--saturate-bisect 2]
        [--saturate-retries 1] [--saturate-seconds 5] [--saturate-warmup 2] [--client-processes 4]
        [--saturation-only | --streams-only]
        [--admin-database-url postgresql://postgres@127.0.0.1:5432/postgres]
        [--redis-url redis://127.0.0.1:6379/11]

Seeds a scratch database (PostgreSQL: created through the admin URL, dropped afterwards; or a
temporary SQLite file with --sqlite) with ``--rooms`` live rooms of a mentor and three learners
with confirmed bookings (see roomkit.py), signs every participant in through the login form and
connects them over WebSocket from this one process, so send and receive times come from one
clock (time.perf_counter). Every participant joins their room (`room:join`); then two streams
run one after the other:

- signal: `signal` (an ICE candidate, ~250 bytes) from a participant to a named peer, every
  ordered pair of every room in turn, in a seeded shuffled order, ``--signal-rate`` per second
  in all on a fixed schedule (open loop);
- chat: `chat:send` from each participant in turn, ``--chat-rate`` per second in all, likewise;
  the three others' `chat:message` is timed (the sender's own copy is not);

Then the saturation steps, against two bare baselines started by the bench (python-socketio and
Flask-SocketIO relaying the same `signal` to the addressee's room with an ack, nothing else, also
gunicorn -k gevent -w 1), PeerLearn on one process, and PeerLearn on one process with the Redis
message queue (shared roster, emits published). ``--client-processes`` processes (spawned) each
connect a slice of the sockets once per server; then, step by step, they send from a common start
time a fixed rate in all on a fixed schedule (each socket to the peers of its room in turn):
from ``--saturate-from`` signals/s up by ``--saturate-factor`` per step, to at most
``--saturate-max`` (by default 80% of the per-user signal limit over every socket), until a step
is not held, then ``--saturate-bisect`` bisections between the last step held and the first not
held. A step is held when its p99 delay is <= 50 ms with nothing refused and nothing missing; one
not held is run again ``--saturate-retries`` times (other work on the machine can spoil a window)
and counts as held if a retry is.
Each step sends ``--saturate-warmup`` seconds, then its measured ``--saturate-seconds`` window, and
ends once every send is acked (so the next starts on an idle server, not behind a queue). The
receiver times each signal as time.time() minus the send time the message carries: one system
clock for every process on this machine. The server worker's CPU time over the window divided
by the signals relayed in it is the CPU per signal. A server's figure is the highest rate it held
(its queue stays short; above its capacity a queue grows for the whole window and every rate
looks the same, seconds late). When the clients themselves run out of CPU (a note says so) the
delays include their own queues; run it where the clients have cores of their own for the
latency figures; when they fall behind their schedule the step says so and stepping ends.

Each message of the first streams carries its number and send time; the receiver records the
delay. The first
``--warmup`` fraction of each stream is not counted. The per-user rate limits of
peerlearn/sockets/validation.py stay on, as in production; no stream goes over 80% of them.

Scenarios: one server process; two server processes on one Redis message queue
(SOCKETIO_MESSAGE_QUEUE, on a pub/sub channel of its own, whose keys are deleted afterwards)
with each room split two and two (mentor and first learner on one); with --nagle also one
process whose listening socket has TCP_NODELAY turned off (a gunicorn hook), to show what the
option is worth.

Prints the setup and bench-only server settings, then one row per scenario, stream and route
(same: sender and receiver on one process; cross: on different ones; all): measured messages
sent, deliveries, refused sends, deliveries missing a minute after the last send, p50/p99/max
delay in ms, deliveries per second, CPU use of each server process and of this client process,
and the machine's load average (other work on the machine shows in the delays). Then the
verdicts: p99 <= 15 ms on one process (signal and chat), and crossing processes adds <= 5 ms at
p50. Then each saturation step as it ends, and one row per server: the highest rate held, the
signals/s relayed, server CPU per signal, the worker's CPU share, p50/p99 and the client
processes' CPU at that step, the load average, and the first step not held; then, for each
PeerLearn row, the verdicts: >= 1,000 signals/s held at p99 <= 50 ms with 200 sockets, and
<= 0.8 ms of server CPU per signal at that rate.
"""

import argparse
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests
import roomkit
import socketio
from limits import parse

from peerlearn.sockets.validation import RATE_LIMITS

TARGET_P99_MS = 15.0
TARGET_CROSS_P50_MS = 5.0
PACE_MARGIN = 0.8  # send at most this fraction of a per-user rate limit
SETTLE_SECONDS = 60  # how long to wait for the last acks and deliveries of a stream
# What a browser's ICE candidate looks like; the timing fields ride along in the same object.
CANDIDATE = {
    "candidate": "candidate:842163049 1 udp 1677729535 192.0.2.10 54321 typ srflx raddr 10.0.0.5 "
    "rport 54321 generation 0 ufrag EsAw network-cost 999",
    "sdpMid": "0",
    "sdpMLineIndex": 0,
}
ONE, TWO, NAGLE = "1 process", "2 processes + Redis", "1 process, Nagle on"


class Stream:
    """One stream of one scenario: its measured sends (numbered from 0), their acks and the
    timed deliveries."""

    def __init__(self, name, fanout):
        self.name = name
        self.fanout = fanout  # deliveries per accepted send
        self.sent = 0
        self.accepted = set()
        self.refusals = Counter()  # error code -> sends
        self.received = Counter()  # number -> deliveries
        self.delays = defaultdict(list)  # route -> seconds
        self.first_send = self.last_delivery = 0.0
        self.lock = threading.Lock()

    def sending(self, sent_at):
        with self.lock:
            number, self.sent = self.sent, self.sent + 1
            if number == 0:
                self.first_send = sent_at
        return number

    def acked(self, number, reply):
        with self.lock:
            if isinstance(reply, dict) and reply.get("ok"):
                self.accepted.add(number)
            else:
                self.refusals[reply["error"]["code"] if isinstance(reply, dict) else "no_ack"] += 1

    def delivered(self, number, route, sent_at):
        now = time.perf_counter()
        with self.lock:
            self.received[number] += 1
            self.delays[route].append(now - sent_at)
            self.last_delivery = max(self.last_delivery, now)

    def missing(self):
        with self.lock:
            return sum(max(0, self.fanout - self.received[number]) for number in self.accepted)

    def settled(self):
        with self.lock:
            acked = len(self.accepted) + sum(self.refusals.values())
        return acked == self.sent and self.missing() == 0


class Scenario:
    """Participants spread over server processes, and handlers that time what they receive."""

    def __init__(self, name, rooms, process_of_seat):
        self.name = name
        self.rooms = rooms
        self.server_of = {m.user_id: process_of_seat(seat) for room in rooms for seat, m in enumerate(room)}
        self.processes = len(set(self.server_of.values()))
        self.streams = {
            "signal": Stream("signal", 1),
            "chat": Stream("chat", roomkit.ROOM_SIZE - 1),
        }
        self.dropped = 0  # clients that lost their connection before the bench closed it
        self.lock = threading.Lock()

    def route(self, sender_id, receiver_id):
        return "same" if self.server_of[sender_id] == self.server_of[receiver_id] else "cross"

    def handlers(self, member, _server_index):
        def on_signal(payload):
            data = payload["data"]
            if data["number"] is not None:
                stream = self.streams[data["stream"]]
                stream.delivered(data["number"], self.route(payload["from"], member.user_id), data["sent_at"])

        def on_chat(payload):
            if payload["user_id"] == member.user_id:
                return  # the sender's own copy
            number, sent_at = payload["body"].rsplit(" ", 2)[1:]
            if number != "-":
                route = self.route(payload["user_id"], member.user_id)
                self.streams["chat"].delivered(int(number), route, float(sent_at))

        def on_disconnect(*_reason):
            with self.lock:
                self.dropped += 1

        return {"signal": on_signal, "chat:message": on_chat, "disconnect": on_disconnect}


def signal_payload(stream_name, sender, receiver):
    def payload(number, sent_at):
        data = {**CANDIDATE, "stream": stream_name, "number": number, "sent_at": sent_at}
        return {"session_id": sender.session_id, "to": receiver.user_id, "kind": "candidate", "data": data}

    return payload


def chat_payload(member):
    def payload(number, sent_at):
        body = f"Could you go over that step once more? {'-' if number is None else number} {sent_at!r}"
        return {"session_id": member.session_id, "body": body}

    return payload


def signal_sends(rooms, by_user, total, rng):
    """Rounds of every ordered pair of every room, each round shuffled."""
    pairs = [(a, b) for room in rooms for a in room for b in room if a is not b]
    order = []
    while len(order) < total:
        rng.shuffle(pairs)
        order.extend(pairs)
    return [(by_user[a.user_id], "signal", signal_payload("signal", a, b)) for a, b in order[:total]]


def chat_sends(rooms, by_user, total, rng):
    """Rounds of every participant, each round shuffled."""
    members = [member for room in rooms for member in room]
    order = []
    while len(order) < total:
        rng.shuffle(members)
        order.extend(members)
    return [(by_user[member.user_id], "chat:send", chat_payload(member)) for member in order[:total]]


def emit(stream, participant, event, payload, measured):
    """Send one message, numbered and acked if it is measured."""
    sent_at = time.perf_counter()
    number = stream.sending(sent_at) if measured else None
    callback = (lambda reply=None: stream.acked(number, reply)) if measured else None
    try:
        participant.sio.emit(event, payload(number, sent_at), callback=callback)
    except socketio.exceptions.BadNamespaceError:  # this client lost its connection
        if measured:
            stream.acked(number, {"ok": False, "error": {"code": "client_disconnected"}})


def open_loop(stream, sends, rate, warmup):
    """Send on a fixed schedule, whatever the server does; return how far behind it fell."""
    measured_from = int(len(sends) * warmup)
    started = time.perf_counter() + 0.2
    behind = 0.0
    for index, (participant, event, payload) in enumerate(sends):
        wait = started + index / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        else:
            behind = max(behind, -wait)
        emit(stream, participant, event, payload, index >= measured_from)
    return behind


def run_stream(stream, servers, send):
    """Run ``send`` (which returns how far behind schedule it fell), wait until everything has
    been acked and delivered or SETTLE_SECONDS pass; return the phase's own figures."""
    pids = [server.worker_pid() for server in servers]
    cpu_before = [roomkit.cpu_seconds(pid) for pid in pids]
    client_before = time.process_time()
    started = time.perf_counter()
    behind = send()
    deadline = time.monotonic() + SETTLE_SECONDS
    while not stream.settled() and time.monotonic() < deadline:
        time.sleep(0.05)
    wall = time.perf_counter() - started
    return {
        "behind_ms": behind * 1000,
        "server_cpu": [
            (roomkit.cpu_seconds(pid) - cpu) / wall for pid, cpu in zip(pids, cpu_before, strict=True)
        ],
        "client_cpu": (time.process_time() - client_before) / wall,
        "load": os.getloadavg()[0],
    }


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summarise(scenario, stream, phase):
    """Rows: one per route when the scenario spans processes, then all routes together; refused
    and missing messages are counted once, on the last row."""
    routes = sorted(stream.delays) if scenario.processes > 1 else []
    if len(routes) != 1:
        routes.append("all")
    span = stream.last_delivery - stream.first_send
    rows = []
    for route in routes:
        values = [v for vs in stream.delays.values() for v in vs] if route == "all" else stream.delays[route]
        rows.append(
            {
                "scenario": scenario.name,
                "stream": stream.name,
                "route": route,
                "sent": stream.sent,
                "delivered": len(values),
                "refused": "",
                "missing": "",
                "p50": percentile(values, 0.50) * 1000 if values else float("nan"),
                "p99": percentile(values, 0.99) * 1000 if values else float("nan"),
                "max": max(values) * 1000 if values else float("nan"),
                "rate": len(values) / span if values and span > 0 else 0.0,
                "cpu": " + ".join(f"{share:.0%}" for share in phase["server_cpu"]),
                "client": f"{phase['client_cpu']:.0%}",
                "load": phase["load"],
            }
        )
    unacked = stream.sent - len(stream.accepted) - sum(stream.refusals.values())
    refusals = {**stream.refusals, **({"no ack": unacked} if unacked else {})}
    rows[-1].update(
        refused=sum(refusals.values()), missing=stream.missing(), refusals=refusals, behind=phase["behind_ms"]
    )
    return rows


def run_scenario(scenario, env, server_count, workdir, jars, args, *, nodelay=True):
    rng = random.Random(args.seed)  # noqa: S311 - random for load shape, not a secret
    tag = scenario.name.replace(" ", "-").replace(",", "")
    with roomkit.servers(env, server_count, workdir, nodelay=nodelay, tag=tag) as procs:
        members = [member for room in scenario.rooms for member in room]
        assignments = [(member, scenario.server_of[member.user_id]) for member in members]
        participants = roomkit.connect_all(assignments, jars, [p.url for p in procs], scenario.handlers)
        try:
            by_user = {p.member.user_id: p for p in participants}
            signals = signal_sends(scenario.rooms, by_user, args.signals, rng)
            chats = chat_sends(scenario.rooms, by_user, args.chats, rng)
            streams = scenario.streams
            plan = [
                (
                    streams["signal"],
                    lambda: open_loop(streams["signal"], signals, args.signal_rate, args.warmup),
                ),
                (streams["chat"], lambda: open_loop(streams["chat"], chats, args.chat_rate, args.warmup)),
            ]
            rows = []
            for stream, send in plan:
                rows += summarise(scenario, stream, run_stream(stream, procs, send))
            rows[-1]["dropped"] = scenario.dropped
        finally:
            roomkit.disconnect_all(participants)
    return rows


# ----- saturation: several client processes against PeerLearn and two bare baselines

# The baselines relay the same `signal` event the same way (to the addressee's own room, acked,
# one client's events in order), with nothing else: no sign-in, limits or checks. Same server
# as PeerLearn's: gunicorn -k gevent -w 1.
BARE_SOCKETIO = """
import socketio

sio = socketio.Server(async_mode="gevent", cors_allowed_origins="*", async_handlers=False)
app = socketio.WSGIApp(sio)


@sio.event
def connect(sid, environ, auth):
    sio.enter_room(sid, f"user:{auth['user']}")


@sio.on("signal")
def signal(sid, p):
    body = {"session_id": p["session_id"], "from": p["from"], "kind": p["kind"], "data": p["data"]}
    sio.emit("signal", body, to=f"user:{p['to']}")
    return {"ok": True}
"""
BARE_FLASK_SOCKETIO = """
from flask import Flask
from flask_socketio import SocketIO, emit, join_room

app = Flask(__name__)
app.config["SECRET_KEY"] = "bench"
socketio = SocketIO(app, async_mode="gevent", cors_allowed_origins="*", async_handlers=False)


@socketio.on("connect")
def connect(auth):
    join_room(f"user:{auth['user']}")


@socketio.on("signal")
def signal(p):
    body = {"session_id": p["session_id"], "from": p["from"], "kind": p["kind"], "data": p["data"]}
    emit("signal", body, to=f"user:{p['to']}")
    return {"ok": True}
"""
TARGET_CPU_MS = 0.8
TARGET_RATE = 1000
TARGET_SATURATED_P99_MS = 50.0
MISSING_ALLOWED = 0.001  # of a step's signals not delivered by the time every send is acked
DRAIN_SECONDS = 30  # the longest a step waits for its acks before the next one


@contextmanager
def bare_server(workdir, module, source):
    """A baseline server process; yields (url, worker pid)."""
    (workdir / f"{module}.py").write_text(source)
    port = roomkit.free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(roomkit.FOREIGN)}
    command = [roomkit.BIN / "gunicorn", "-k", "gevent", "-w", "1", "--chdir", str(workdir)]
    command += ["--bind", f"127.0.0.1:{port}", f"{module}:app"]
    with open(workdir / f"{module}.log", "w+b") as log:
        process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + roomkit.TIMEOUT
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        raise RuntimeError(
                            f"{module} did not start:\n{log.read().decode(errors='replace')}"
                        ) from None
                    time.sleep(0.2)
            time.sleep(1)  # the worker forks after the master listens
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
            yield url, int(children[0])
        finally:
            roomkit.stop_process_group(process)


def drive(job, ready, steps, results):
    """One client process: connect its sockets and say so; then, for each step it is given
    (a start time and a rate for all sockets together), send signals on a fixed schedule from the
    start until the step's window ends (each socket to the peers of its room in turn), wait for
    their acks, and report the step. The receiver measures each delay as time.time() minus the
    send time the message carries: every client process reads the same system clock of this one
    machine. A None step ends it."""
    from requests.cookies import cookiejar_from_dict

    lock = threading.Lock()
    state = {"window": (0.0, 0.0), "delays": [], "acks": Counter()}

    def on_signal(payload):
        sent_at = payload["data"].get("t")
        window = state["window"]
        if sent_at is not None and window[0] <= sent_at < window[1]:
            delay = time.time() - sent_at
            with lock:
                state["delays"].append(delay)

    def acked(reply=None):
        ok = isinstance(reply, dict) and reply.get("ok")
        code = "ok" if ok else (reply or {}).get("error", {}).get("code", "other")
        with lock:
            state["acks"][code] += 1

    try:
        clients = []
        for user_id, session_id, peers, cookies in job["sockets"]:
            http = requests.Session()
            if cookies is not None:
                http.cookies = cookiejar_from_dict(cookies)
            sio = socketio.Client(http_session=http, reconnection=False)
            sio.on("signal", on_signal)
            sio.connect(job["url"], transports=["websocket"], auth={"user": user_id}, wait_timeout=60)
            if cookies is not None and not sio.call("room:join", {"session_id": session_id}, timeout=60).get(
                "ok"
            ):
                raise RuntimeError(f"user {user_id} could not join room {session_id}")
            clients.append((sio, user_id, session_id, peers))
    except Exception as exc:
        ready.put(repr(exc))
        return
    ready.put("ready")
    share = len(clients) / job["all_sockets"]
    sent = 0  # over every step, so each socket keeps its turn through the peers
    while (step := steps.get()) is not None:
        start, rate = step
        window = (start + job["warmup"], start + job["warmup"] + job["seconds"])
        with lock:
            state.update(window=window, delays=[], acks=Counter())
        cpu = [0.0, 0.0]  # this process's CPU time at the window's start and end

        def sample_cpu(window=window, cpu=cpu):
            for index, moment in enumerate(window):
                time.sleep(max(0.0, moment - time.time()))
                cpu[index] = time.process_time()

        sampler = threading.Thread(target=sample_cpu, daemon=True)
        sampler.start()
        mine = rate * share
        sends = in_window = 0
        late = 0.0
        while (at := start + sends / mine) < window[1]:
            wait = at - time.time()
            if wait > 0:
                time.sleep(wait)
            elif at >= window[0]:
                late = max(late, -wait)
            sio, user_id, session_id, peers = clients[sent % len(clients)]
            peer = peers[(sent // len(clients)) % len(peers)]
            now = time.time()
            data = {**CANDIDATE, "t": now}
            payload = {
                "session_id": session_id,
                "to": peer,
                "kind": "candidate",
                "data": data,
                "from": user_id,
            }
            try:
                sio.emit("signal", payload, callback=acked)
            except socketio.exceptions.BadNamespaceError:
                acked({"error": {"code": "client_disconnected"}})
            sent += 1
            sends += 1
            in_window += window[0] <= now < window[1]
        # The step ends when every send is acked (the server has worked through its queue), so
        # the next step starts on an idle server; its deliveries come with the acks.
        deadline = time.monotonic() + job["drain"]
        while time.monotonic() < deadline:
            with lock:
                if sum(state["acks"].values()) >= sends:
                    break
            time.sleep(0.05)
        time.sleep(0.2)
        sampler.join()
        with lock:
            results.put(
                {
                    "delays": list(state["delays"]),
                    "acks": dict(state["acks"]),
                    "sent": in_window,
                    "late": late,
                    "cpu": cpu[1] - cpu[0],
                }
            )
    for sio, *_ in clients:
        sio.disconnect()


class Clients:
    """``--client-processes`` spawned processes holding every socket of the rooms, connected
    once to one server and then driven step by step."""

    def __init__(self, name, url, rooms, jars, args):
        self.name = name
        self.args = args
        members = [member for room in rooms for member in room]
        peers_of = {m.user_id: [p.user_id for p in room if p is not m] for room in rooms for m in room}
        sockets = [
            (
                m.user_id,
                m.session_id,
                peers_of[m.user_id],
                jars[m.user_id].cookies.get_dict() if jars else None,
            )
            for m in members
        ]
        context = multiprocessing.get_context("spawn")
        ready, self.results = context.Queue(), context.Queue()
        count = args.client_processes
        self.steps = [context.Queue() for _ in range(count)]
        job = {"url": url, "all_sockets": len(sockets), "warmup": args.saturate_warmup}
        job.update(seconds=args.saturate_seconds, drain=DRAIN_SECONDS)
        self.workers = [
            context.Process(
                target=drive, args=({**job, "sockets": sockets[i::count]}, ready, self.steps[i], self.results)
            )
            for i in range(count)
        ]
        for worker in self.workers:
            worker.start()
        try:
            for _ in self.workers:
                answer = ready.get(timeout=300)
                if answer != "ready":
                    raise RuntimeError(f"{name}: a client process failed: {answer}")
        except BaseException:
            self.close()
            raise

    def step(self, rate, pid):
        """Offer ``rate`` signals/s for one warm-up and window; the window's figures."""
        args = self.args
        start = time.time() + 0.5
        for queue in self.steps:
            queue.put((start, rate))
        window_from = start + args.saturate_warmup
        window_to = window_from + args.saturate_seconds
        time.sleep(max(0.0, window_from - time.time()))
        cpu_before = roomkit.cpu_seconds(pid)
        time.sleep(max(0.0, window_to - time.time()))
        cpu = roomkit.cpu_seconds(pid) - cpu_before
        load = os.getloadavg()[0]
        outcomes = [self.results.get(timeout=300) for _ in self.workers]
        delays = [d for outcome in outcomes for d in outcome["delays"]]
        acks = Counter()
        for outcome in outcomes:
            acks.update(outcome["acks"])
        sent = sum(outcome["sent"] for outcome in outcomes)
        relayed = len(delays)
        row = {
            "offered": rate,
            "sent": sent,
            "rate": relayed / args.saturate_seconds,
            "missing": max(0, sent - relayed),
            "cpu_ms": cpu * 1000 / relayed if relayed else float("nan"),
            "cpu_share": cpu / args.saturate_seconds,
            "p50": percentile(delays, 0.5) * 1000 if delays else float("nan"),
            "p99": percentile(delays, 0.99) * 1000 if delays else float("nan"),
            "refused": {code: n for code, n in acks.items() if code != "ok"},
            "late_ms": max(outcome["late"] for outcome in outcomes) * 1000,
            "client_cpu": sum(outcome["cpu"] for outcome in outcomes) / args.saturate_seconds,
            "busiest_client": max(outcome["cpu"] for outcome in outcomes) / args.saturate_seconds,
            "load": load,
        }
        row["held"] = (
            row["p99"] <= TARGET_SATURATED_P99_MS
            and not row["refused"]
            and row["missing"] <= MISSING_ALLOWED * sent
        )
        # The clients fell behind their own schedule: they did not offer the rate.
        row["offered_short"] = row["late_ms"] > TARGET_SATURATED_P99_MS
        return row

    def close(self):
        for queue in self.steps:
            queue.put(None)
        for worker in self.workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()


def step_rates(args):
    """The rates to offer: from --saturate-from up by --saturate-factor, at most --saturate-max."""
    rate, rates = args.saturate_from, []
    while rate < args.saturate_max:
        rates.append(round(rate))
        rate *= args.saturate_factor
    return [*rates, round(args.saturate_max)]


def held_rate(name, url, pid, rooms, jars, args):
    """Step the offered rate up until a step is not held (p99 over TARGET_SATURATED_P99_MS, a
    refusal, or signals missing), then bisect between the last held and the first not held
    --saturate-bisect times. A step not held is run again --saturate-retries times (a stall of
    the machine's own can spoil one window) and held if a retry is. Returns the server's
    figures: the highest held step, the first not held, every step run."""
    clients = Clients(name, url, rooms, jars, args)
    steps = []

    def attempt(rate):
        for _ in range(1 + args.saturate_retries):
            row = clients.step(rate, pid)
            steps.append(row)
            print_step(name, row)
            if row["offered_short"]:
                return row  # the clients could not offer it: running it again would not either
            if row["held"]:
                break
        return row

    try:
        held = failed = None
        for rate in step_rates(args):
            row = attempt(rate)
            if not row["held"] or row["offered_short"]:
                failed = row
                break
            held = row
        for _ in range(args.saturate_bisect if failed is not None and not failed["offered_short"] else 0):
            low = held["offered"] if held is not None else 0
            rate = round((low + failed["offered"]) / 2)
            if rate in (low, failed["offered"]):
                break
            row = attempt(rate)
            if row["held"] and not row["offered_short"]:
                held = row
            else:
                failed = row
    finally:
        clients.close()
    return {"target": name, "held": held, "failed": failed, "steps": steps}


def print_step(name, row):
    refused = f" refused {row['refused']}" if row["refused"] else ""
    short = f" (the clients fell {row['late_ms']:.0f} ms behind)" if row["offered_short"] else ""
    print(
        f"  {name}: offered {row['offered']:>5}/s, relayed {row['rate']:>6.0f}/s, "
        f"p50 {row['p50']:>8.2f} ms, p99 {row['p99']:>8.2f} ms, CPU {row['cpu_ms']:.3f} ms/signal, "
        f"missing {row['missing']}, load {row['load']:.1f}: {'held' if row['held'] else 'not held'}"
        f"{refused}{short}",
        flush=True,
    )


def run_saturation(rooms, jars, env, workdir, args, queued_env=None):
    """The two baselines, then PeerLearn on one process, then (``queued_env``) the same process
    on a Redis message queue as in production: shared roster, limits in Redis, emits published."""
    print(
        f"\nsaturation steps: {args.rooms * roomkit.ROOM_SIZE} sockets over {args.client_processes} client "
        f"processes; each step {args.saturate_warmup:g} s of warm-up, then {args.saturate_seconds:g} s "
        "measured",
        flush=True,
    )
    rows = []
    with bare_server(workdir, "bare_socketio", BARE_SOCKETIO) as (url, pid):
        rows.append(held_rate("bare python-socketio", url, pid, rooms, None, args))
    with bare_server(workdir, "bare_flask_socketio", BARE_FLASK_SOCKETIO) as (url, pid):
        rows.append(held_rate("bare Flask-SocketIO", url, pid, rooms, None, args))
    with roomkit.servers(env, 1, workdir, tag="saturate") as (server,):
        rows.append(held_rate("PeerLearn, 1 process", server.url, server.worker_pid(), rooms, jars, args))
    if queued_env is not None:
        try:
            with roomkit.servers(queued_env, 1, workdir, tag="saturate-queued") as (server,):
                rows.append(
                    held_rate("PeerLearn + Redis queue", server.url, server.worker_pid(), rooms, jars, args)
                )
        finally:
            roomkit.clear_channel_keys(args.redis_url, queued_env["SOCKETIO_CHANNEL"])
    return rows


def print_saturation(rows, args):
    print(
        f"\nsaturation: the highest offered rate held at p99 <= {TARGET_SATURATED_P99_MS:g} ms with "
        f"{args.rooms * roomkit.ROOM_SIZE} sockets (nothing refused or missing), steps from "
        f"{args.saturate_from:g}/s x{args.saturate_factor:g} up to {args.saturate_max:g}/s, then "
        f"{args.saturate_bisect} bisections, a step not held run {args.saturate_retries} more time(s); "
        "figures of the step held"
    )
    header = (
        f"{'server':<24} {'held /s':>7} {'relayed/s':>9} {'CPU ms/signal':>13} {'server CPU':>10} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'clients CPU':>11} {'load':>5}  {'first not held':<28}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        held, failed = row["held"], row["failed"]
        if failed is None:
            beyond = f"none up to {args.saturate_max:g}/s"
        else:
            beyond = f"{failed['offered']}/s: p99 {failed['p99']:.0f} ms"
        if held is None:
            print(f"{row['target']:<24} {'none':>7} {'':>71}  {beyond}")
            continue
        print(
            f"{row['target']:<24} {held['offered']:>7} {held['rate']:>9.0f} {held['cpu_ms']:>13.3f} "
            f"{held['cpu_share']:>10.0%} {held['p50']:>8.2f} {held['p99']:>8.2f} {held['client_cpu']:>11.0%} "
            f"{held['load']:>5.1f}  {beyond}"
        )
    for row in rows:
        busy = [
            step["offered"]
            for step in row["steps"]
            if step["busiest_client"] > 0.8
            or step["client_cpu"] + step["cpu_share"] > 0.9 * (os.cpu_count() or 1)
        ]
        if busy:
            print(
                f"  {row['target']}: the clients were busy at {', '.join(f'{s}/s' for s in busy)} "
                "(the busiest near a core, or clients and server together near every core): those delays "
                "include the clients' own queues"
            )
        short = [step for step in row["steps"] if step["offered_short"]]
        if short:
            print(
                f"  {row['target']}: at {short[0]['offered']}/s the senders fell "
                f"{short[0]['late_ms']:.0f} ms behind their schedule: the clients could not offer more"
            )

    def verdict(ok):
        return "met" if ok else "NOT met"

    for ours in rows[2:]:
        print(f"{ours['target']}:")
        print_verdicts_of(ours, verdict)


def print_verdicts_of(ours, verdict):
    held = ours["held"]
    if held is None:
        print(f"  no step held p99 <= {TARGET_SATURATED_P99_MS:g} ms: NOT met")
        return
    print(
        f"  signals/s held by one process at p99 <= {TARGET_SATURATED_P99_MS:g} ms: {held['offered']} "
        f"(p99 {held['p99']:.2f} ms; target >= {TARGET_RATE}): {verdict(held['offered'] >= TARGET_RATE)}"
    )
    print(
        f"  per-signal server CPU at that rate {held['cpu_ms']:.3f} ms (target <= {TARGET_CPU_MS} ms): "
        f"{verdict(held['cpu_ms'] <= TARGET_CPU_MS)}"
    )


def max_rate(group, rooms):
    """The highest rate, all users together, that stays within PACE_MARGIN of a group's limit."""
    limit = parse(RATE_LIMITS[group])
    return limit.amount / limit.get_expiry() * PACE_MARGIN * rooms * roomkit.ROOM_SIZE


def check_pacing(args):
    """Refuse rates that would run into the per-user limits; describe the pacing."""
    users = args.rooms * roomkit.ROOM_SIZE
    for group, rate in (("signal", args.signal_rate), ("chat", args.chat_rate)):
        if rate > max_rate(group, args.rooms):
            raise SystemExit(
                f"--{group}-rate {rate:g} is {rate / users:.2f}/s per user, over {PACE_MARGIN:.0%} of the "
                f"limit ({RATE_LIMITS[group]}): stay at or under {max_rate(group, args.rooms):.0f}/s in all"
            )
    return (
        f"signal {args.signal_rate:g}/s ({args.signal_rate / users:.2f}/s per user), "
        f"chat {args.chat_rate:g}/s ({args.chat_rate / users:.3f}/s per user); "
        f"limits per user: signal {RATE_LIMITS['signal']}, chat {RATE_LIMITS['chat']}"
    )


def print_table(rows):
    header = (
        f"{'scenario':<20} {'stream':<8} {'route':<5} {'sent':>5} {'deliv.':>6} {'refus.':>6} "
        f"{'miss.':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'msg/s':>6}  {'server CPU':<10} "
        f"{'client':>6} {'load':>5}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['scenario']:<20} {row['stream']:<8} {row['route']:<5} {row['sent']:>5} "
            f"{row['delivered']:>6} {row['refused']!s:>6} {row['missing']!s:>5} "
            f"{row['p50']:>8.2f} {row['p99']:>8.2f} {row['max']:>8.1f} {row['rate']:>6.0f}  "
            f"{row['cpu']:<10} {row['client']:>6} {row['load']:>5.1f}"
        )
    for row in rows:
        where = f"  {row['scenario']}, {row['stream']}:"
        if row.get("refusals"):
            print(f"{where} refused {row['refusals']}")
        if row.get("behind", 0) > 50:
            print(f"{where} the sender fell up to {row['behind']:.0f} ms behind its schedule")
        if row.get("dropped"):
            print(
                f"  {row['scenario']}: {row['dropped']} clients lost their connection (a client gives up "
                "when the server's pings stop for 30 s: the server was overloaded)"
            )


def print_verdicts(rows):
    def find(scenario, stream, route):
        keys = (scenario, stream, route)
        return next((r for r in rows if (r["scenario"], r["stream"], r["route"]) == keys), None)

    print()
    for stream in ("signal", "chat"):
        one = find(ONE, stream, "all")
        if one is None:
            continue
        verdict = "met" if one["p99"] <= TARGET_P99_MS else "NOT met"
        print(f"{stream}: one process p99 {one['p99']:.2f} ms (target <= {TARGET_P99_MS:g} ms): {verdict}")
        cross = find(TWO, stream, "cross")
        if cross is not None:
            added = cross["p50"] - one["p50"]
            verdict = "met" if added <= TARGET_CROSS_P50_MS else "NOT met"
            print(
                f"{stream}: across processes p50 {cross['p50']:.2f} ms vs {one['p50']:.2f} ms on one "
                f"process, {added:+.2f} ms (target <= +{TARGET_CROSS_P50_MS:g} ms): {verdict}"
            )
        else:
            print(f"{stream}: no message crossed processes (see the refusals above)")
        nagle = find(NAGLE, stream, "all")
        if nagle is not None:
            print(
                f"{stream}: Nagle on (no TCP_NODELAY): p50 {nagle['p50']:.2f} ms, p99 {nagle['p99']:.2f} ms"
            )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--signals", type=int, default=1200, help="signals per scenario, warm-up included")
    parser.add_argument("--signal-rate", type=float, default=20, help="signals per second, all rooms")
    parser.add_argument(
        "--chats",
        type=int,
        default=600,
        help="chat messages per scenario, with warm-up (enough that p99 is not one slow delivery)",
    )
    parser.add_argument("--chat-rate", type=float, default=5, help="chat messages per second, all rooms")
    parser.add_argument("--saturate-from", type=float, default=400, help="the first step's signals/s")
    parser.add_argument("--saturate-factor", type=float, default=1.5, help="each step offers this much more")
    parser.add_argument(
        "--saturate-max", type=float, default=None, help="the last step (default: 80%% of the signal limit)"
    )
    parser.add_argument(
        "--saturate-bisect", type=int, default=2, help="bisections after the first failed step"
    )
    parser.add_argument("--saturate-retries", type=int, default=1, help="runs again of a step not held")
    parser.add_argument("--saturate-seconds", type=float, default=5, help="each step's measured window")
    parser.add_argument("--saturate-warmup", type=float, default=2, help="seconds sent before the window")
    parser.add_argument("--client-processes", type=int, default=4, help="client processes sending")
    parser.add_argument("--saturation-only", action="store_true", help="skip the signal and chat streams")
    parser.add_argument("--streams-only", action="store_true", help="skip the saturation windows")
    parser.add_argument("--warmup", type=float, default=0.1, help="fraction of each stream not counted")
    parser.add_argument("--nagle", action="store_true", help="also run one process with TCP_NODELAY off")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file, not PostgreSQL")
    parser.add_argument("--admin-database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the send order")
    args = parser.parse_args()
    pacing = check_pacing(args)
    if args.saturate_max is None:
        args.saturate_max = max_rate("signal", args.rooms)

    secret_key = roomkit.new_secret_key()
    with (
        tempfile.TemporaryDirectory(prefix="peerlearn-relay-") as folder,
        roomkit.scratch_database(None if args.sqlite else args.admin_database_url) as database_url,
    ):
        workdir = Path(folder)
        rooms = roomkit.seed_rooms(database_url, secret_key, args.rooms)
        members = [member for room in rooms for member in room]
        print(
            f"{args.rooms} rooms x {roomkit.ROOM_SIZE} participants = {len(members)} sockets on "
            f"{'a SQLite file' if args.sqlite else 'a PostgreSQL scratch database'}; each server process is "
            f"gunicorn -k gevent -w 1 wsgi:app (production config); {os.cpu_count()} CPUs"
        )
        print(f"bench-only server settings: {roomkit.describe_settings()}")
        print(f"pacing: {pacing}; rate limits on")
        print(
            f"per scenario: {args.signals} signals, {args.chats} chats; "
            f"the first {args.warmup:.0%} of each not counted\n"
        )

        plain = roomkit.server_environment(database_url, secret_key, workdir)
        queued = roomkit.server_environment(database_url, secret_key, workdir, message_queue=args.redis_url)
        with roomkit.servers(plain, 1, workdir, tag="sign-in") as (server,):
            jars = roomkit.sign_in_all(server.url, members)
        try:
            if args.saturation_only:
                print_saturation(run_saturation(rooms, jars, plain, workdir, args, queued), args)
                return 0
            rows = run_scenario(Scenario(ONE, rooms, lambda seat: 0), plain, 1, workdir, jars, args)
            split = Scenario(TWO, rooms, lambda seat: seat * 2 // roomkit.ROOM_SIZE)
            try:
                rows += run_scenario(split, queued, 2, workdir, jars, args)
            finally:
                roomkit.clear_channel_keys(args.redis_url, queued["SOCKETIO_CHANNEL"])
            if args.nagle:
                nagle = Scenario(NAGLE, rooms, lambda seat: 0)
                rows += run_scenario(nagle, plain, 1, workdir, jars, args, nodelay=False)
            saturation = None
            if not args.streams_only:
                saturation = run_saturation(rooms, jars, plain, workdir, args, queued)
        finally:
            for jar in jars.values():
                jar.close()
        print_table(rows)
        print_verdicts(rows)
        if saturation is not None:
            print_saturation(saturation, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
