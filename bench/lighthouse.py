"""Lighthouse scores of the main pages, on a production-like server, for a phone and a desktop.

    .venv/bin/python bench/lighthouse.py [--runs 1] [--only mobile|desktop]

Installs Lighthouse on first use (`npm ci` in bench/lighthouse/, kept out of the app's own
install because it is large), seeds a scratch SQLite database with the demo data, starts
gunicorn -k gevent -w 1 wsgi:app under the production config, and runs the `lighthouse` CLI
with Debian's Chromium (CHROME_PATH, default /usr/bin/chromium) on the landing page, the catalog,
a session, log-in, /learn and /teach, the last two signed in through a Cookie header. Mobile is
Lighthouse's default (a throttled mid-range phone); desktop its desktop preset.

Prints per page and form factor the four category scores, the cumulative layout shift, the share
of app.js the page loaded but never ran (Lighthouse's script treemap, from Chromium's coverage),
and which of the targets each misses: Performance >= 95, Accessibility, Best Practices and SEO
100, CLS <= 0.02. With --runs N, each figure is the median of N runs. Exits 1 when a target is
missed. Nothing is fetched from outside 127.0.0.1 while it measures.
"""

import argparse
import http.cookiejar
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.roomkit import SERVE_SETTINGS, new_secret_key, server_environment, servers
from peerlearn.demo import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parent.parent
TOOL_DIR = ROOT / "bench" / "lighthouse"
LIGHTHOUSE = TOOL_DIR / "node_modules" / ".bin" / "lighthouse"
BIN = Path(sys.executable).parent
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 100, "seo": 100}
CLS_TARGET = 0.02
# The entry script, whose name carries its content hash (app-XXXXXXXX.js).
APP_JS = re.compile(r"/static/dist/app-[A-Za-z0-9]+\.js")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')


def ensure_lighthouse():
    if not LIGHTHOUSE.exists():
        print("installing Lighthouse (npm ci in bench/lighthouse/) ...", file=sys.stderr)
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S607 - npm from PATH
            cwd=TOOL_DIR,
            check=True,
        )


@contextmanager
def demo_server(workdir):
    """gunicorn with a gevent worker, production config, on a scratch database with the demo data."""
    database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    env = server_environment(database_url, new_secret_key(), workdir, settings=SERVE_SETTINGS)
    env.update(FLASK_APP="peerlearn:create_app", ROOM_MEDIA="mesh")  # no local Janus for a bench
    # The demo data is refused under the production config: seed it as development first.
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
            [BIN / "flask", *command],
            cwd=ROOT,
            env={**env, "PEERLEARN_ENV": "development"},
            check=True,
            capture_output=True,
        )
    with servers(env, 1, workdir) as (server,):
        yield server


def signed_in_cookie(base, email):
    """The Cookie header of a browser that logged in as ``email``."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/auth/login", timeout=10) as response:
        token = next(group for group in CSRF.search(response.read().decode()).groups() if group)
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": DEMO_PASSWORD}).encode()
    with opener.open(f"{base}/auth/login", data=form, timeout=10) as response:
        if "/auth/login" in response.url:
            raise RuntimeError(f"could not log in as {email}")
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def first_session_path(base):
    with urllib.request.urlopen(f"{base}/sessions", timeout=10) as response:  # noqa: S310 - loopback
        match = re.search(r'href="(/sessions/\d+)"', response.read().decode())
    if match is None:
        raise RuntimeError("the catalog lists no session")
    return match.group(1)


def lighthouse(url, form_factor, cookie=None):
    command = [
        str(LIGHTHOUSE),
        url,
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--only-categories={','.join(CATEGORIES)}",
        "--only-audits=script-treemap-data",  # not in a category: asked for by name
        "--chrome-flags=--headless --no-sandbox --disable-gpu",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"lighthouse failed on {url}:\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    scores = {name: round(report["categories"][name]["score"] * 100) for name in CATEGORIES}
    scores["cls"] = report["audits"]["cumulative-layout-shift"]["numericValue"]
    scores["unused"] = unused_share(report["audits"]["script-treemap-data"], APP_JS)
    failing = {
        describe(audit_id, report["audits"][audit_id])
        for name in CATEGORIES
        if name != "performance"
        for ref in report["categories"][name]["auditRefs"]
        if ref["weight"] and (audit_id := ref["id"]) and report["audits"][audit_id]["score"] not in (None, 1)
    }
    return scores, failing


def unused_share(treemap, path):
    """The share of the bytes of the script whose path matches ``path`` (a compiled pattern) that
    the page never ran, or None."""
    for node in (treemap.get("details") or {}).get("nodes", []):
        if path.fullmatch(urllib.parse.urlsplit(node["name"]).path) and node.get("unusedBytes") is not None:
            return node["unusedBytes"] / node["resourceBytes"]
    return None


def describe(audit_id, audit):
    """A failing audit's id and what its first finding says, e.g. which API is deprecated."""
    items = (audit.get("details") or {}).get("items") or []
    first = items[0] if items else {}
    text = next(
        (first[key] for key in ("value", "description", "node") if isinstance(first.get(key), str)), ""
    )
    source = first.get("source") or {}
    where = (
        f" at {source['url']}:{source.get('line', 0) + 1}"
        if isinstance(source, dict) and source.get("url")
        else ""
    )
    return f"{audit_id}: {text[:120]}{where}" if text else audit_id


def misses(scores):
    found = [f"{name} {scores[name]} < {target}" for name, target in TARGETS.items() if scores[name] < target]
    if scores["cls"] > CLS_TARGET:
        found.append(f"CLS {scores['cls']:.3f} > {CLS_TARGET}")
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per page and form factor (median)")
    parser.add_argument("--only", choices=("mobile", "desktop"), help="one form factor")
    args = parser.parse_args()
    if not Path(os.environ.get("CHROME_PATH", "/usr/bin/chromium")).exists():
        print("Chromium not found (apt-get install chromium, or set CHROME_PATH)", file=sys.stderr)
        return 2
    if shutil.which("npm") is None and not LIGHTHOUSE.exists():
        print("npm is needed to install Lighthouse", file=sys.stderr)
        return 2
    ensure_lighthouse()

    missed = 0
    with (
        tempfile.TemporaryDirectory(prefix="peerlearn-lighthouse-") as scratch,
        demo_server(Path(scratch)) as server,
    ):
        base = server.url
        learner = signed_in_cookie(base, "learner1@peerlearn.local")
        mentor = signed_in_cookie(base, "mentor1@peerlearn.local")
        pages = [
            ("landing", "/", None),
            ("catalog", "/sessions", None),
            ("session", first_session_path(base), None),
            ("login", "/auth/login", None),
            ("/learn", "/learn", learner),
            ("/teach", "/teach", mentor),
        ]
        form_factors = [args.only] if args.only else ["mobile", "desktop"]
        print(
            f"{'page':<10} {'form':<8} {'perf':>5} {'a11y':>5} {'bp':>5} {'seo':>5} {'CLS':>7} "
            f"{'unused app.js':>13}  misses"
        )
        for form_factor in form_factors:
            for label, path, cookie in pages:
                runs = [lighthouse(base + path, form_factor, cookie) for _ in range(args.runs)]
                scores = {key: statistics.median(run[0][key] for run in runs) for key in (*CATEGORIES, "cls")}
                unused = [run[0]["unused"] for run in runs if run[0]["unused"] is not None]
                unused_text = f"{statistics.median(unused):.0%}" if unused else "?"
                failing = sorted(set().union(*(run[1] for run in runs)))
                missing = misses(scores)
                missed += bool(missing)
                print(
                    f"{label:<10} {form_factor:<8} {scores['performance']:>5.0f} "
                    f"{scores['accessibility']:>5.0f} {scores['best-practices']:>5.0f} "
                    f"{scores['seo']:>5.0f} {scores['cls']:>7.3f} {unused_text:>13}  "
                    + ("; ".join(missing) + (f" (audits: {', '.join(failing)})" if failing else "") or "-"),
                    flush=True,
                )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
