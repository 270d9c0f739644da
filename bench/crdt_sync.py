"""Shared notes and whiteboard: how long one browser's edit takes to reach another's document.

    .venv/bin/python bench/crdt_sync.py [--edits 200] [--interval-ms 150] [--kind shape|text]

Starts `flask serve` (threading mode, SQLite, a mesh room) on a temporary instance with the demo
data, opens the room in two Chromium pages on loopback (the mentor, A, and a booked learner, B)
and the Notes and whiteboard panel in both. A makes N edits, one every `--interval-ms`: a
whiteboard shape each (`shape`), or a line of text typed into the notes (`text`). B's page
records when each edit appears in its own Yjs document. Both pages run on this machine's clock,
so each edit's latency is B's arrival time minus A's edit time: the page's gathering of edits
(up to 80 ms), the socket, the server's merge into the database, the relay and B's apply.

Prints p50/p95/max in ms, how many edits arrived, and the load average before and after (this
VM is shared; a busy neighbour shows there first).
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.live_server import CHROMIUM, CHROMIUM_ARGS, LiveServer, ServerError, browser_setup_problem

MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
PASSWORD = "peerlearn-demo"  # noqa: S105 - the demo accounts' published password
TIMEOUT_MS = 60_000

WATCH = """(count) => {
  const notes = window.peerlearn.roomNotes;
  window.benchArrivals = {};
  const seen = window.benchArrivals;
  const look = () => {
    const now = performance.timeOrigin + performance.now();
    for (const shapes of notes.doc.getMap('pages').values()) {
      for (const shape of shapes.toArray()) {
        if (shape.id && shape.id.startsWith('bench-') && !(shape.id in seen)) seen[shape.id] = now;
      }
    }
    const text = notes.doc.getXmlFragment('notes').toString();
    for (const match of text.matchAll(/bench-(\\d+)/g)) {
      const id = `bench-${match[1]}`;
      if (!(id in seen)) seen[id] = now;
    }
  };
  notes.doc.on('update', look);
}"""

EDIT_SHAPES = """async ([count, interval]) => {
  const board = window.peerlearn.roomNotes.board;
  const sent = {};
  for (let i = 0; i < count; i += 1) {
    const id = `bench-${i}`;
    sent[id] = performance.timeOrigin + performance.now();
    const x = 10 + (i % 50) * 30;
    board.add({ id, kind: 'rect', points: [x, 10, x + 20, 40], colour: '#2563eb', width: 2 });
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  return sent;
}"""

EDIT_TEXT = """async ([count, interval]) => {
  const editor = window.peerlearn.roomNotes.editor;
  const sent = {};
  for (let i = 0; i < count; i += 1) {
    const id = `bench-${i}`;
    sent[id] = performance.timeOrigin + performance.now();
    editor.chain().focus('end').insertContent(`<p>${id}</p>`).run();
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  return sent;
}"""


def log_in(page, email):
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def csrf(page):
    return {"X-CSRFToken": page.locator('meta[name="csrf-token"]').get_attribute("content")}


class BenchError(RuntimeError):
    pass


def answered(response, status=None):
    if (status is not None and response.status != status) or (status is None and not response.ok):
        raise BenchError(f"{response.url} answered {response.status}: {response.text()[:300]}")
    return response


def prepare_room(mentor, learner):
    from datetime import UTC, datetime, timedelta

    starts_at = (datetime.now(UTC) + timedelta(minutes=6)).replace(microsecond=0)
    made = mentor.request.post(
        "/api/sessions/create/",
        data={
            "title": "CRDT sync bench",
            "description": "Two browsers share notes.",
            "category": "Programming",
            "starts_at": starts_at.isoformat(),
            "duration_minutes": 60,
            "capacity": 4,
            "price_paise": 0,
            "publish": True,
        },
        headers=csrf(mentor),
    )
    answered(made, 201)
    session_id = made.json()["data"]["id"]
    booked = learner.request.post(f"/api/sessions/{session_id}/book/", headers=csrf(learner))
    answered(booked)
    started = mentor.request.post(f"/sessions/{session_id}/start", headers=csrf(mentor))
    answered(started)
    return session_id


def open_notes(page, session_id):
    page.goto(f"/sessions/{session_id}/room")
    page.wait_for_selector("body[data-room=joined]", timeout=TIMEOUT_MS)
    page.get_by_role("toolbar", name="Call controls").get_by_role("button", name="Notes", exact=True).click()
    page.wait_for_selector("[data-testid=notes-status][data-state=saved]", timeout=TIMEOUT_MS)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--interval-ms", type=int, default=150)
    parser.add_argument("--kind", choices=("shape", "text"), default="shape")
    args = parser.parse_args()
    problem = browser_setup_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    try:
        with (
            LiveServer(startup_timeout=180, settings={"ROOM_MEDIA": "mesh"}) as server,
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS + MEDIA_ARGS
            )
            try:
                pages = []
                for email in ("mentor1@peerlearn.local", "learner1@peerlearn.local"):
                    context = browser.new_context(base_url=server.url, permissions=["camera", "microphone"])
                    context.set_default_timeout(TIMEOUT_MS)
                    page = context.new_page()
                    log_in(page, email)
                    pages.append(page)
                editor_page, reader_page = pages
                session_id = prepare_room(editor_page, reader_page)
                for page in pages:
                    open_notes(page, session_id)
                reader_page.evaluate(WATCH, args.edits)
                script = EDIT_SHAPES if args.kind == "shape" else EDIT_TEXT
                sent = editor_page.evaluate(script, [args.edits, args.interval_ms])
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    arrived = reader_page.evaluate("() => window.benchArrivals")
                    if len(arrived) >= len(sent):
                        break
                    time.sleep(0.2)
            finally:
                browser.close()
    except (ServerError, PlaywrightError, BenchError) as exc:
        print(f"Benchmark failed: {exc}", file=sys.stderr)
        return 1
    load_after = os.getloadavg()

    latencies = [arrived[key] - sent[key] for key in sent if key in arrived]
    print(
        "CRDT sync between two Chromium pages on loopback",
        f"({args.kind} edits, one every {args.interval_ms} ms)",
    )
    print(f"  edits made by A: {len(sent)}, seen by B: {len(latencies)}")
    if latencies:
        print(
            f"  latency ms: p50 {statistics.median(latencies):.1f}  p95 {percentile(latencies, 0.95):.1f}"
            f"  max {max(latencies):.1f}"
        )
    print(f"  load average before: {' '.join(f'{x:.2f}' for x in load_before)}")
    print(f"  load average after:  {' '.join(f'{x:.2f}' for x in load_after)}  ({os.cpu_count()} CPUs)")
    return 0 if len(latencies) == len(sent) else 1


if __name__ == "__main__":
    sys.exit(main())
