"""Mixed load through nginx, stepping up the users until p95 passes 300 ms, for one and for two
web processes in the same run.

    .venv/bin/python bench/load.py                            # steps 20, 40, 80, 120 ... 320, 400
    .venv/bin/python bench/load.py --steps 10,40 --step-seconds 10 --processes 1   # a smoke run
    .venv/bin/python bench/load.py --steps 160 --processes 2 --pages --profile     # where it goes

The deployment is production's on one VM: nginx (Debian's /usr/sbin/nginx, run by the bench as a
child with its own configuration, pid and logs in a temporary folder, on a free loopback port) in
front of N servers ``gunicorn -k gevent -w 1 wsgi:app`` (bench/roomkit.py's Server, with its
bench-only settings), a scratch PostgreSQL database (created beside --database-url and dropped at
the end) and Redis (--redis-url: the Socket.IO message queue and the shared caches). nginx spreads
page requests and new WebSockets over the servers by least connections, and Socket.IO's polling
fallback by a hash of the browser's peerlearn_lb cookie, as docs/operations.md configures it (no
ip_hash, which pinned every client of one /24 to one process).

The data is the demo catalog (``flask seed-demo``) plus the bench's accounts: 400 learners and
the mentors of --rooms live rooms (bench/roomkit.py), and one large free session to book.

Each user is a thread in one of --clients client processes (so the client is not the
bottleneck), with a think time of 0.5-1.5 s between requests, and its own keep-alive connection
and cookie jar (``Browser``: http.client, not the requests library, whose own CPU per request
was taken from the servers on a 2-core machine):

- 70% browse anonymously: the landing page, the catalog (with filters and sorts), session pages,
  the mentor directory and mentor profiles;
- 25% are learners: they sign in through the login form once (and again now and then), then read
  /learn, their notifications (the API's list and unread count), session pages, and book a seat
  in the large free session through the booking API;
- 5% are mentors reading /teach and their public profile;
- beside them, the rooms' members stay connected over Socket.IO (WebSocket transport) and chat.

Prints per step: users, sustained requests/s over the step (its first seconds left out), p50,
p95 and p99 latency, errors, the load average, the web processes' CPU milliseconds per request
(the figure a shared machine distorts least), the client processes' own, and PostgreSQL's,
nginx's and Redis's (every process of theirs on the machine, so run it where nothing else uses
them), and the RQ worker's (``python worker.py`` beside the web processes, as in production:
a booking's emails and notifications are its jobs; ``--jobs inline`` runs them in the request
instead): their sum is what one request costs the VM, and 2 cores divided by it the most it could
answer with the client elsewhere. Last, how often the kept pages' version was raised in the step
("redraws": every cached page drawn again) and the seats version ("seat moves": the cards' seats
read again), from Redis (peerlearn/services/fragments.py). Then, for each
process count, the highest rate sustained at p95 <= 300 ms against the target (>= 200
requests/s) and whether two processes beat one. The figures are only as good as the machine is
quiet: the client, nginx, PostgreSQL and Redis share its cores with the servers.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from bench.roomkit import (
    BIN,
    PASSWORD,
    ROOT,
    TIMEOUT,
    account_maker,
    connect_all,
    cpu_seconds,
    disconnect_all,
    free_port,
    new_secret_key,
    open_session,
    scratch_database,
    seed_rooms,
    server_environment,
    servers,
    sign_in_all,
    stop_process_group,
)

TARGET_RPS = 200
TARGET_P95_MS = 300
LEARNERS = 400
WARM_UP_SECONDS = 3
THINK = (0.5, 1.5)
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
SESSION_LINK = re.compile(r'href="/sessions/(\d+)"')
MENTOR_LINK = re.compile(r'href="/mentors/(\d+)"')
CATALOG_FILTERS = (
    "?category=Programming",
    "?sort=price_asc",
    "?sort=rating",
    "?level=beginner&sort=popular",
    "?q=python",
    "?free=1",
    "?page=2",
)
DIRECTORY_FILTERS = ("", "?sort=rating", "?q=design", "?available=1")
PROFILE_FILE = re.compile(r"\((?:.*/site-packages/)?([^():]+)(?::\d+)?\)$")
PROFILE_LINE = re.compile(r":\d+\)$")
# py-spy takes gevent's thread-pool workers blocked on their queue for busy; they are not.
IDLE_FRAME = "acquire_with_timeout (gevent/_threading.py"
NGINX = "/usr/sbin/nginx"
JOBS_WHERE = {"worker": "on an RQ worker", "inline": "inline"}
NGINX_CONF = """\
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream web {{
        least_conn;
        {servers}
        keepalive 64;
    }}
    # As docs/operations.md: a WebSocket opened as such goes to the least busy process and stays
    # there; the polling fallback (and its upgrade, which carries the sid) follows the browser's
    # peerlearn_lb cookie, which nginx sets itself.
    upstream polling {{
        hash $cookie_peerlearn_lb consistent;
        {servers}
    }}
    map "$arg_transport:$arg_sid" $sockets {{
        "websocket:" web;
        default      polling;
    }}
    server {{
        listen 127.0.0.1:{port};
        userid         on;
        userid_name    peerlearn_lb;
        userid_path    /;
        userid_expires 365d;
        location /socket.io/ {{
            proxy_pass http://$sockets;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 3600s;
        }}
        location / {{
            proxy_pass http://web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


class Nginx:
    """nginx in front of ``upstreams`` (base URLs), as a child process on a free port."""

    def __init__(self, upstreams, folder, port):
        folder.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        servers_lines = "\n        ".join(f"server {url.removeprefix('http://')};" for url in upstreams)
        conf = folder / "nginx.conf"
        conf.write_text(NGINX_CONF.format(folder=folder, servers=servers_lines, port=self.port))
        self._log = open(folder / "nginx.out", "w+b")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
            [NGINX, "-c", str(conf), "-p", str(folder)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._log.seek(0)
                raise RuntimeError(f"nginx did not come up:\n{self._log.read().decode(errors='replace')}")
            time.sleep(0.2)

    def stop(self):
        stop_process_group(self.process)
        self._log.close()


# ----------------------------------------------------------------------------------- seeding


def seed(database_url, secret_key, env, rooms):
    """The demo catalog, the bench's learners, a large free session and the live rooms; returns
    what the users need: learner emails, mentor emails, the session to book, the room members."""
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
            [BIN / "flask", *command],
            cwd=ROOT,
            env={**env, "FLASK_APP": "peerlearn:create_app", "PEERLEARN_ENV": "development"},
            check=True,
            capture_output=True,
        )
    members = seed_rooms(database_url, secret_key, rooms)
    from datetime import timedelta

    from peerlearn import create_app
    from peerlearn.extensions import db
    from peerlearn.models import MAX_CAPACITY, User, utcnow

    app = create_app(
        "testing",
        {"SQLALCHEMY_DATABASE_URI": database_url, "SQLALCHEMY_ENGINE_OPTIONS": {}, "LOG_LEVEL": "WARNING"},
    )
    with app.app_context():
        make_user = account_maker()
        learners = [make_user(f"load{n}@bench.test", f"Load Learner {n}", "learner") for n in range(LEARNERS)]
        db.session.flush()
        mentor = db.session.scalar(db.select(User).where(User.email == "mentor1@peerlearn.local"))
        # Free sessions of MAX_CAPACITY seats, enough for every learner to hold one.
        open_sessions = [
            open_session(
                mentor,
                f"Open office hours {number}",
                starts_at=utcnow() + timedelta(days=5, hours=number),
                capacity=MAX_CAPACITY,
                description="Bring any question.",
            )
            for number in range(-(-LEARNERS // MAX_CAPACITY))
        ]
        db.session.add_all(open_sessions)
        db.session.commit()
        learner_emails = [learner.email for learner in learners]
        book_ids = [session.id for session in open_sessions]
        from sqlalchemy import text

        db.session.execute(text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    mentor_emails = [room[0].email for room in members]
    return {"learners": learner_emails, "mentors": mentor_emails, "book": book_ids, "members": members}


def discover(base):
    """Session and mentor ids to visit, read from the pages as a visitor would find them."""
    catalog = requests.get(f"{base}/sessions", timeout=TIMEOUT).text
    directory = requests.get(f"{base}/mentors", timeout=TIMEOUT).text
    sessions = sorted({int(i) for i in SESSION_LINK.findall(catalog)})
    mentors = sorted({int(i) for i in MENTOR_LINK.findall(directory)})
    if not sessions or not mentors:
        raise SystemExit("the catalog or the directory shows nothing to visit")
    return sessions, mentors


# ------------------------------------------------------------------------------------- users


class Response:
    """What a user reads of an answer: its status and, when asked, its text."""

    __slots__ = ("body", "status_code")

    def __init__(self, status_code, body):
        self.status_code, self.body = status_code, body

    @property
    def text(self):
        return self.body.decode("utf-8", errors="replace")


class Browser:
    """One keep-alive HTTP/1.1 connection and a cookie jar: what a browser sends, for a fraction
    of the requests library's CPU. The clients share the two cores with the servers, so every
    millisecond they spend per request is taken from what is measured."""

    REDIRECTS = frozenset((301, 302, 303, 307, 308))

    def __init__(self, base):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.cookies = {}
        self.connection = None

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def request(self, method, path, *, data=None, json_body=None, headers=None, follow=True):
        for _ in range(5):
            status, location, body = self._exchange(method, path, data, json_body, headers)
            if not (follow and status in self.REDIRECTS and location):
                return Response(status, body)
            target = urlsplit(location)
            path = target.path + (f"?{target.query}" if target.query else "")
            method, data, json_body = "GET", None, None
        return Response(status, body)

    def _exchange(self, method, path, data, json_body, headers):
        sent = {"Host": f"{self.host}:{self.port}", "User-Agent": "peerlearn-load"}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        payload = None
        if data is not None:
            payload = urlencode(data).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            payload = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        # A kept connection the server has closed meanwhile fails at once: open a new one, once.
        for attempt in (0, 1):
            reused = self.connection is not None
            if not reused:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT)
            try:
                self.connection.request(method, path, body=payload, headers=sent)
                answer = self.connection.getresponse()
                body = answer.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if reused and attempt == 0:
                    continue
                raise
            break
        for cookie in answer.msg.get_all("Set-Cookie") or ():
            name, _, rest = cookie.partition("=")
            value, _, attributes = rest.partition(";")
            if "max-age=0" in attributes.lower() or "expires=thu, 01 jan 1970" in attributes.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()
        if answer.will_close:
            self.close()
        return answer.status, answer.getheader("Location"), body


class User:
    """One person's browser: a cookie jar and what they do next."""

    def __init__(self, base, kind, plan, record, rng):
        self.base, self.kind, self.plan, self.record, self.rng = base, kind, plan, record, rng
        self.http = Browser(base)
        self.email = None
        self.csrf = None

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def request(self, method, path, **kwargs):
        started = time.monotonic()
        try:
            response = self.http.request(method, path, **kwargs)
            status = response.status_code
        except (OSError, http.client.HTTPException):
            response, status = None, 0
        self.record(time.time(), time.monotonic() - started, status, f"{method} {page_name(path)}")
        return response

    def sign_in(self):
        self.http.cookies.clear()
        self.csrf = None  # the token belongs to the session cookie just dropped
        page = self.get("/auth/login")
        if page is None or page.status_code != 200:
            return
        token = CSRF_META.search(page.text).group(1)
        form = {"email": self.email, "password": PASSWORD, "csrf_token": token}
        self.request("POST", "/auth/login", data=form, follow=False)

    def step(self):
        plan, rng = self.plan, self.rng
        if self.kind == "visitor":
            choice = rng.random()
            if choice < 0.2:
                self.get("/")
            elif choice < 0.45:
                self.get("/sessions" + (rng.choice(CATALOG_FILTERS) if rng.random() < 0.6 else ""))
            elif choice < 0.7:
                self.get(f"/sessions/{rng.choice(plan['sessions'])}")
            elif choice < 0.85:
                self.get("/mentors" + rng.choice(DIRECTORY_FILTERS))
            else:
                self.get(f"/mentors/{rng.choice(plan['mentor_ids'])}")
            return
        if self.email is None or rng.random() < 0.02:
            self.email = self.email or rng.choice(plan["mentors" if self.kind == "mentor" else "learners"])
            self.sign_in()
            return
        if self.kind == "mentor":
            self.get("/teach" if rng.random() < 0.7 else "/mentors")
            return
        choice = rng.random()
        if choice < 0.3:
            page = self.get("/learn")
            if page is not None and page.status_code == 200:
                match = CSRF_META.search(page.text)
                self.csrf = match.group(1) if match else self.csrf
        elif choice < 0.55:
            self.get("/api/notifications/?unread=1")
        elif choice < 0.7:
            self.get("/api/notifications/")
        elif choice < 0.9:
            self.get(f"/sessions/{rng.choice(plan['sessions'])}")
        elif self.csrf:
            number = int(self.email.removeprefix("load").split("@")[0])
            target = plan["book"][number % len(plan["book"])]
            headers = {"X-CSRFToken": self.csrf}
            self.request("POST", f"/api/sessions/{target}/book/", json_body={}, headers=headers)
        else:
            self.get("/learn")


def page_name(path):
    """The page a request asked for, its ids and filters left out ("/sessions/<id>")."""
    return re.sub(r"/\d+", "/<id>", path.split("?")[0]) + ("?…" if "?" in path else "")


def kind_of(index):
    slot = index % 20
    return "mentor" if slot == 0 else ("learner" if slot <= 5 else "visitor")


def client_process(base, plan, indexes, seconds, queue, seed_value):
    """Run the users ``indexes`` for ``seconds``; put their (time, latency, status, page) samples
    on ``queue``."""
    samples, lock = [], threading.Lock()

    def record(at, latency, status, page):
        with lock:
            samples.append((at, latency, status, page))

    deadline = time.monotonic() + seconds

    def run(index):
        rng = random.Random(seed_value * 100_000 + index)  # noqa: S311 - a repeatable mix, no secret
        user = User(base, kind_of(index), plan, record, rng)
        time.sleep(rng.uniform(0, THINK[1]))  # not all at once
        while time.monotonic() < deadline:
            user.step()
            time.sleep(rng.uniform(*THINK))
        user.http.close()

    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in indexes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + TIMEOUT)
    queue.put(samples)


SERVICES = {"postgres": "pg", "redis-server": "redis", "nginx": "nginx"}


def services_cpu():
    """CPU seconds so far of the machine's PostgreSQL, Redis and nginx processes, by service (a
    backend that exits during a step takes its time with it; the pools keep theirs open)."""
    totals = dict.fromkeys(SERVICES.values(), 0.0)
    ticks = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # gone meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        service = next((SERVICES[key] for key in SERVICES if name.startswith(key)), None)
        if service is not None:
            fields = text.rsplit(")", 1)[1].split()
            totals[service] += (int(fields[11]) + int(fields[12])) / ticks
    return totals


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # client processes once joined
    return usage.ru_utime + usage.ru_stime


class Profile:
    """py-spy sampling the web processes over a step (``--profile``): where their CPU went, by
    PeerLearn function (including what it calls) and by package (the frame doing the work).
    py-spy samples from outside the process; at 100 samples/s it costs the machine about 1 %."""

    def __init__(self, workers, seconds, folder):
        self.files = [folder / f"profile-{pid}.txt" for pid in workers]
        py_spy = BIN / "py-spy"
        if not py_spy.exists():
            raise SystemExit("--profile needs py-spy (make test installs it: requirements-test.txt)")
        every = ["-r", "100", "-f", "raw", "--nonblocking", "-d", str(max(1, int(seconds)))]
        self.processes = [
            subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
                [py_spy, "record", *every, "-p", str(pid), "-o", str(path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for pid, path in zip(workers, self.files, strict=True)
        ]

    def report(self, top=15):
        for process in self.processes:
            process.wait(timeout=TIMEOUT)
        functions, packages, total = {}, {}, 0
        for path in self.files:
            if not path.exists():
                continue
            for line in path.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                count, frames = int(count), stack.split(";")
                if IDLE_FRAME in frames[-1]:  # a thread-pool worker waiting for work
                    continue
                total += count
                where = PROFILE_FILE.search(frames[-1])
                package = where.group(1).split("/")[0] if where else "(native)"
                if package == "peerlearn" and where:
                    package = "/".join(where.group(1).split("/")[:2])
                packages[package] = packages.get(package, 0) + count
                seen = set()
                for frame in frames:
                    if "peerlearn/" not in frame:
                        continue
                    name = PROFILE_LINE.sub(")", frame)
                    if name not in seen:
                        seen.add(name)
                        functions[name] = functions.get(name, 0) + count
        if not total:
            print("         profile: no samples")
            return
        print(f"         profile: {total} samples of the web processes' CPU")
        for name, count in sorted(functions.items(), key=lambda kv: -kv[1])[:top]:
            print(f"         {100 * count / total:5.1f}%  {name}")
        print("         by package (the frame doing the work):")
        for name, count in sorted(packages.items(), key=lambda kv: -kv[1])[:10]:
            print(f"         {100 * count / total:5.1f}%  {name}")


# The kept pages' versions in Redis (peerlearn/services/fragments.py): how often the web processes
# had to draw every cached page again (catalog) and re-read the cards' seats (seats) in a step.
CACHE_VERSION_KEYS = ("peerlearn:fragments:version", "peerlearn:fragments:seats-version")
cache_redis = None  # set by main()


def cache_versions():
    if cache_redis is None:
        return (0, 0)
    return tuple(int(value or 0) for value in cache_redis.mget(*CACHE_VERSION_KEYS))


def run_step(base, plan, users, seconds, clients, step_number, workers, profile_folder=None, job_worker=None):
    queue = multiprocessing.Queue()
    versions_before = cache_versions()
    cpu_before = sum(cpu_seconds(pid) for pid in workers)
    job_before = cpu_seconds(job_worker) if job_worker else 0.0
    client_before = _children_cpu()
    services_before = services_cpu()
    groups = [list(range(c, users, clients)) for c in range(clients)]
    processes = [
        multiprocessing.Process(
            target=client_process, args=(base, plan, group, seconds, queue, step_number * 100 + n)
        )
        for n, group in enumerate(groups)
        if group
    ]
    started = time.time()
    for process in processes:
        process.start()
    profile = None
    if profile_folder is not None:
        profile = Profile(workers, seconds - WARM_UP_SECONDS, profile_folder)
    samples = []
    for _ in processes:
        samples.extend(queue.get())
    for process in processes:
        process.join()
    load = os.getloadavg()[0]
    redraws, seat_moves = (
        after - before for after, before in zip(cache_versions(), versions_before, strict=True)
    )
    # The web processes' CPU per request answered: what a quiet VM's cores would have to give.
    cpu_ms = (sum(cpu_seconds(pid) for pid in workers) - cpu_before) * 1000 / max(len(samples), 1)
    # The client processes' own CPU per request: on a 2-core box it is taken from the servers.
    client_ms = (_children_cpu() - client_before) * 1000 / max(len(samples), 1)
    services_after = services_cpu()
    job_ms = ((cpu_seconds(job_worker) - job_before) if job_worker else 0.0) * 1000 / max(len(samples), 1)
    services_ms = {
        name: (services_after[name] - services_before[name]) * 1000 / max(len(samples), 1)
        for name in services_after
    }
    window_start, window_end = started + WARM_UP_SECONDS, started + seconds
    kept = [s for s in samples if window_start <= s[0] <= window_end]
    latencies = sorted(s[1] * 1000 for s in kept)
    errors = sum(1 for s in kept if not 200 <= s[2] < 400)
    if not latencies:
        return {
            "users": users,
            "rps": 0.0,
            "p50": 0,
            "p95": 0,
            "p99": 0,
            "errors": errors,
            "load": load,
            "cpu": cpu_ms,
            "client": client_ms,
            "services": services_ms,
            "jobs": job_ms,
            "profile": profile,
            "redraws": redraws,
            "seat_moves": seat_moves,
        }
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive")
    by_page = {}
    for sample in kept:
        by_page.setdefault(sample[3], []).append(sample)
    pages = []
    for page, page_samples in by_page.items():
        times = sorted(s[1] * 1000 for s in page_samples)
        failed = {}
        for s in page_samples:
            if not 200 <= s[2] < 400:
                failed[s[2]] = failed.get(s[2], 0) + 1
        pages.append((times[int(0.95 * (len(times) - 1))], page, len(times), failed))
    return {
        "pages": sorted(pages, reverse=True),
        "users": users,
        "rps": len(kept) / (window_end - window_start),
        "p50": quantiles[49],
        "p95": quantiles[94],
        "p99": quantiles[98],
        "errors": errors,
        "requests": len(kept),
        "load": load,
        "cpu": cpu_ms,
        "client": client_ms,
        "services": services_ms,
        "jobs": job_ms,
        "profile": profile,
        "redraws": redraws,
        "seat_moves": seat_moves,
    }


# -------------------------------------------------------------------------------------- rooms


class Rooms:
    """The rooms' members connected through nginx, each sending a chat message every 2 s."""

    def __init__(self, base, members):
        flat = [member for room in members for member in room]
        jars = sign_in_all(base, flat)
        self.participants = connect_all([(member, 0) for member in flat], jars, [base])
        self.failures = 0
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._chat, daemon=True)
        self._thread.start()

    def _chat(self):
        while not self._stop.wait(2):
            for participant in self.participants:
                try:
                    ack = participant.call(
                        "chat:send",
                        {"session_id": participant.member.session_id, "body": "hello from the bench"},
                    )
                    self.sent += 1
                    if not ack or "message" not in ack:
                        self.failures += 1
                except Exception:  # a failed chat is counted, the bench goes on
                    self.failures += 1

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=TIMEOUT)
        disconnect_all(self.participants)


# --------------------------------------------------------------------------------------- main


def measure(count, env, workdir, plan_base, args):
    print(f"\n== {count} web process{'es' if count > 1 else ''} ==", flush=True)
    print(
        f"{'users':>6} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'load':>6}"
        f" {'cpu ms/req':>11} {'client ms/req':>14} {'pg':>5} {'nginx':>6} {'redis':>6} {'jobs':>5}"
        f" {'redraws':>8} {'seat moves':>11}",
        flush=True,
    )
    results = []
    port = free_port()
    # Browsers open their sockets from nginx's origin.
    env = {**env, "SOCKETIO_CORS_ORIGINS": f"http://127.0.0.1:{port}"}
    with (
        servers(env, count, workdir, tag=f"web{count}") as started,
        job_worker(env, workdir, enabled=args.jobs == "worker") as jobs_pid,
    ):
        proxy = Nginx([server.url for server in started], workdir / f"nginx{count}", port)
        rooms = None
        try:
            sessions, mentor_ids = discover(proxy.url)
            plan = {**plan_base, "sessions": sessions, "mentor_ids": mentor_ids}
            plan.pop("members")
            warm_up(proxy.url, plan, count)
            if args.rooms:
                rooms = Rooms(proxy.url, plan_base["members"])
            for number, users in enumerate(args.steps):
                workers = [server.worker_pid() for server in started]
                profile_folder = workdir / f"profile{count}-{users}" if args.profile else None
                if profile_folder is not None:
                    profile_folder.mkdir()
                row = run_step(
                    proxy.url,
                    plan,
                    users,
                    args.step_seconds,
                    args.clients,
                    number,
                    workers,
                    profile_folder,
                    jobs_pid,
                )
                results.append(row)
                print(
                    f"{row['users']:>6} {row['rps']:>8.1f} {row['p50']:>8.0f} {row['p95']:>8.0f} "
                    f"{row['p99']:>8.0f} {row['errors']:>7} {row['load']:>6.2f} {row['cpu']:>11.1f}"
                    f" {row['client']:>14.1f} {row['services']['pg']:>5.1f}"
                    f" {row['services']['nginx']:>6.1f} {row['services']['redis']:>6.1f} {row['jobs']:>5.1f}"
                    f" {row['redraws']:>8} {row['seat_moves']:>11}",
                    flush=True,
                )
                if args.pages:
                    for p95, page, count_, failed in row.get("pages", []):
                        errors = f"  errors {failed}" if failed else ""
                        print(f"         {page:<32} {count_:>6} requests  p95 {p95:>6.0f} ms{errors}")
                if row.get("profile") is not None:
                    row.pop("profile").report()
                if row["p95"] > TARGET_P95_MS:
                    break
            if rooms is not None:
                sockets = len(rooms.participants)
                print(f"room chat: {rooms.sent} messages sent by {sockets} sockets, {rooms.failures} failed")
        finally:
            if rooms is not None:
                rooms.stop()
            proxy.stop()
    return results


@contextmanager
def job_worker(env, workdir, *, enabled):
    """Production's RQ worker (``python worker.py``, jobs in its own process) beside the web
    processes, as deploy/systemd runs it; yields its pid, or None with jobs inline."""
    if not enabled:
        yield None
        return
    log = open(workdir / "worker.out", "w+b")  # noqa: SIM115 - closed below
    process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
        [BIN / "python", "worker.py"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(1)
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the job worker did not start:\n{log.read().decode(errors='replace')}")
        yield process.pid
    finally:
        stop_process_group(process)
        log.close()


def warm_up(base, plan, count):
    """Each page a few times on every process (templates compiled, pools filled), unmeasured."""
    paths = ["/", "/sessions", "/mentors", "/auth/login"]
    paths += [f"/sessions/{i}" for i in plan["sessions"][:4]] + [
        f"/mentors/{i}" for i in plan["mentor_ids"][:4]
    ]
    http = requests.Session()
    for _ in range(3 * count):
        for path in paths:
            http.get(f"{base}{path}", timeout=TIMEOUT)


def best(results):
    within = [row for row in results if row["p95"] <= TARGET_P95_MS]
    return max(within, key=lambda row: row["rps"]) if within else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", default="20,40,80,120,160,200,240,280,320,400", help="users per step")
    parser.add_argument("--step-seconds", type=float, default=30)
    parser.add_argument("--processes", default="1,2", help="web process counts to measure")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--rooms", type=int, default=2, help="live rooms (4 sockets each) chatting")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--pages", action="store_true", help="print each page's p95 and errors per step")
    parser.add_argument(
        "--jobs",
        choices=("worker", "inline"),
        default="worker",
        help="run jobs (emails, notifications) on an RQ worker as production does, or in the web process",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the web processes with py-spy in each step and print where their CPU went",
    )
    args = parser.parse_args()
    args.steps = [int(n) for n in args.steps.split(",")]
    counts = [int(n) for n in args.processes.split(",")]
    if not shutil.which(NGINX):
        raise SystemExit(f"{NGINX} is needed (Debian's nginx package)")

    global cache_redis
    from redis import Redis

    cache_redis = Redis.from_url(args.redis_url)
    secret_key = new_secret_key()
    with (
        scratch_database(args.database_url) as database_url,
        tempfile.TemporaryDirectory(prefix="peerlearn-load-") as folder,
    ):
        workdir = Path(folder)
        env = server_environment(database_url, secret_key, workdir, message_queue=args.redis_url)
        env.update(REDIS_URL=args.redis_url, ROOM_MEDIA="mesh", PROXY_COUNT="1")
        print("seeding ...", flush=True)
        plan = seed(database_url, secret_key, env, args.rooms)
        print(
            f"deployment: nginx -> N x gunicorn -k gevent -w 1 (production config), PostgreSQL, Redis;"
            f" {args.clients} client processes, think time {THINK[0]}-{THINK[1]} s, steps of"
            f" {args.step_seconds:g} s (the first {WARM_UP_SECONDS} s of each left out),"
            f" {args.rooms * 4} room sockets, jobs {JOBS_WHERE[args.jobs]}",
            flush=True,
        )
        if args.jobs == "worker":  # after seeding, whose own jobs ran inline
            env["JOBS_INLINE"] = "false"
        summary = {count: measure(count, env, workdir, plan, args) for count in counts}

    print(f"\n== verdict (target: >= {TARGET_RPS} requests/s at p95 <= {TARGET_P95_MS} ms) ==")
    rates = {}
    for count, results in summary.items():
        row = best(results)
        rates[count] = row["rps"] if row else 0.0
        if row is None:
            print(f"{count} process(es): no step kept p95 <= {TARGET_P95_MS} ms: NOT met")
            continue
        met = "met" if row["rps"] >= TARGET_RPS else "NOT met"
        rate, users, p95 = row["rps"], row["users"], row["p95"]
        print(f"{count} process(es): {rate:.1f} requests/s with {users} users at p95 {p95:.0f} ms: {met}")
    if 1 in rates and 2 in rates:
        verdict = "two processes beat one" if rates[2] > rates[1] else "two processes do NOT beat one"
        print(f"{verdict} ({rates[2]:.1f} against {rates[1]:.1f} requests/s)")


if __name__ == "__main__":
    main()
