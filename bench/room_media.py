"""Room media: one mentor teaching N learners through Janus, and the same through the browser
mesh, side by side on this machine.

    .venv/bin/python bench/room_media.py [--learners 8] [--steps 1,2,4,8] [--seconds 15]
        [--settle 15] [--rejoins 2] [--modes janus,mesh]

Everything runs inside a private network namespace (scripts/netns.py: loopback plus
127.0.0.2), so no ICE candidate or packet uses the machine's own address: the embedded server
(`flask serve --setup`, as `make run`; for Janus its own supervised local Janus, pinned to
127.0.0.2), Playwright's driver and Debian's Chromium with a fake microphone and a fake camera
that plays a synthetic picture with a camera's detail and noise (see write_camera).

Setup per mode: a fresh server; a free session live now with ``--learners`` booked learners,
seeded into its database; every room is a stage (ROOM_STAGE_THRESHOLD=1 for Janus,
MESH_MAX_CAMERAS=2 for the mesh), so only the mentor publishes and every learner is a pure
subscriber. The mentor enters first; learners enter one at a time, and each one's time from
joining the room (the page's `room:joined` mark, set when the join is acknowledged) to the
first decoded frame of the mentor's video is recorded (requestVideoFrameCallback). At each step
of ``--steps`` learners, once all of them decode frames and ``--settle`` seconds have let the
encoders and congestion control ramp up, a ``--seconds`` window measures:

- the mentor's upload: bytes sent by all of the mentor's RTCPeerConnections (their transports:
  audio, video, headers, padding, RTCP, as on the wire), in kbit/s, and each video encoding's
  share (a simulcast layer, or one learner's stream in the mesh) with its size and frame rate;
- the frames each learner decoded from the mentor's video (fps, min over learners);
- CPU of the Janus process and of the app server process (from /proc), and load average.

After the last step each learner reloads the page ``--rejoins`` times for more join-to-frame
samples. Then: the mentor's upload per step for both modes (target: Janus flat, <= 1.2 x one
stream, where one stream is the mesh with one learner), Janus CPU per forwarded stream (target
<= 1 % of a core), join-to-first-frame p50/p95 (target p95 <= 2 s), app CPU against N, and an
extrapolation to 50 seats.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import roomkit
from playwright._impl._driver import compute_driver_executable
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from scripts import netns
from scripts.live_server import CHROMIUM, CHROMIUM_ARGS, LiveServer, browser_setup_problem

MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]
PASSWORD = roomkit.PASSWORD
TIMEOUT_MS = 60_000

# In every page: remember each RTCPeerConnection, and when each remote tile shows its first
# frame (relative to the page's time origin).
INSTRUMENT = """
(() => {
  const Native = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); window.__pcs.push(this); }
  };
  window.__firstFrame = {};
  const watched = new WeakSet();
  const watch = (video) => {
    if (watched.has(video) || !video.requestVideoFrameCallback) return;
    watched.add(video);
    const wait = () => video.requestVideoFrameCallback((now) => {
      const tile = video.closest('[data-peer-id]');
      const id = tile && tile.dataset.peerId;
      if (id && !(id in window.__firstFrame)) window.__firstFrame[id] = now;
      else wait();
    });
    wait();
  };
  setInterval(() => document.querySelectorAll('video').forEach(watch), 20);
})();
"""

OUTBOUND = """
async () => {
  // Bytes sent by every connection, and per video encoding (a simulcast layer, or one peer's
  // stream in the mesh): bytes, frame size and rate, and what limits its quality.
  // `bytes`: everything the connections sent (media, headers, padding, RTCP), as on the wire.
  const result = { bytes: 0, audio: 0, video: [] };
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed') continue;
    const report = await pc.getStats();
    report.forEach((s) => {
      if (s.type === 'transport') result.bytes += s.bytesSent || 0;
      if (s.type !== 'outbound-rtp') return;
      if (s.kind === 'audio') result.audio += s.bytesSent || 0;
      else result.video.push({
        id: s.id, rid: s.rid || '', bytes: s.bytesSent || 0, width: s.frameWidth || 0,
        height: s.frameHeight || 0, fps: s.framesPerSecond || 0, limit: s.qualityLimitationReason || '',
        target: s.targetBitrate || 0,
      });
    });
  }
  return result;
}
"""

DECODED = """
async (peer) => {
  let frames = 0;
  const tile = document.querySelector(`[data-peer-id="${peer}"] video`);
  const track = tile && tile.srcObject && tile.srcObject.getVideoTracks()[0];
  for (const pc of window.__pcs) {
    if (pc.connectionState === 'closed' || !track) continue;
    const report = await pc.getStats();
    report.forEach((s) => {
      const ours = s.type === 'inbound-rtp' && s.kind === 'video' && s.trackIdentifier === track.id;
      if (ours) frames += s.framesDecoded || 0;
    });
  }
  return frames;
}
"""


def write_camera(path, width=640, height=360, fps=20, seconds=4):
    """A synthetic camera picture for Chromium's fake capture (a Y4M file): a lit background, a
    head that moves and a mouth that opens, and sensor noise. Chromium's own fake picture (a
    rotating pie on flat green) compresses to a fraction of what a camera costs, which would make
    fixed costs (a simulcast layer, padding) look far bigger than they are."""
    import numpy as np

    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    background = 90 + 60 * np.sin(xx / 90.0) * np.cos(yy / 70.0)
    chroma_u = 118 + (10 * np.sin(xx[::2, ::2] / 50)).astype(np.int16)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(fps * seconds):
            t = index / fps
            cx = width / 2 + 60 * np.sin(2 * np.pi * t / 4)
            cy = height / 2 + 20 * np.sin(2 * np.pi * t / 2)
            head = np.exp(-(((xx - cx) / 70) ** 2 + ((yy - cy) / 90) ** 2))
            mouth = np.exp(-(((xx - cx) / 25) ** 2 + ((yy - cy - 40) / (4 + 6 * abs(np.sin(8 * t)))) ** 2))
            luma = background + 110 * head - 80 * mouth + rng.normal(0, 6, (height, width))
            out.write(b"FRAME\n")
            out.write(np.clip(luma, 16, 235).astype(np.uint8).tobytes())
            out.write(np.clip(chroma_u, 16, 240).astype(np.uint8).tobytes())
            out.write(np.full((height // 2, width // 2), 140, np.uint8).tobytes())


def seed(instance_dir, learners):
    """A mentor, ``learners`` learners and a free session live now, in the server's database."""
    from peerlearn import create_app
    from peerlearn.extensions import db

    url = f"sqlite:///{Path(instance_dir) / 'peerlearn.sqlite3'}"
    app = create_app(
        "testing", {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {}, "LOG_LEVEL": "WARNING"}
    )
    with app.app_context():
        make_user = roomkit.account_maker()
        mentor = make_user("mentor@bench.test", "Bench Mentor", "mentor")
        people = [
            make_user(f"learner{i}@bench.test", f"Learner {i}", "learner") for i in range(1, learners + 1)
        ]
        session = roomkit.live_session(mentor, people, "Room media bench")
        result = (session.id, mentor.id, [p.email for p in people])
        db.session.remove()
        db.engine.dispose()
    return result


def janus_pid(server):
    marker = str(Path(server.instance_dir) / "janus" / "janus.jcfg")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if command.startswith(("janus ", "/usr/bin/janus ")) and marker in command:
            return int(entry.name)
    return None


class Room:
    def __init__(self, browser, server, session_id):
        self.browser = browser
        self.server = server
        self.session_id = session_id
        self.contexts = []

    def enter(self, email):
        context = self.browser.new_context(
            base_url=self.server.url,
            permissions=["camera", "microphone"],
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(INSTRUMENT)
        self.contexts.append(context)
        page = context.new_page()
        page.goto("/auth/login")
        page.locator("#email").fill(email)
        page.locator("#password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        page.wait_for_url(lambda url: "/auth/login" not in url)
        self.open(page)
        return page

    def open(self, page):
        page.goto(f"/sessions/{self.session_id}/room", timeout=TIMEOUT_MS)
        page.wait_for_function("() => document.body.dataset.room === 'joined'", timeout=TIMEOUT_MS)

    def close(self):
        for context in self.contexts:
            context.close()


def first_frame_seconds(page, peer):
    """Seconds from the room:joined mark to the first frame of ``peer``'s tile; None if none
    came within a minute (an overloaded room)."""
    try:
        page.wait_for_function(f"() => '{peer}' in window.__firstFrame", timeout=TIMEOUT_MS)
    except PlaywrightTimeout:
        return None
    return page.evaluate(
        f"""() => {{
          const mark = performance.getEntriesByName('room:joined')[0];
          return (window.__firstFrame['{peer}'] - (mark ? mark.startTime : 0)) / 1000;
        }}"""
    )


def measure(mentor, learners, mentor_id, server, janus, seconds):
    def cpu(pid):
        return roomkit.cpu_seconds(pid) if pid else 0.0

    sent0 = mentor.evaluate(OUTBOUND)
    frames0 = [page.evaluate(DECODED, mentor_id) for page in learners]
    janus0, app0, start = cpu(janus), cpu(server.pid), time.monotonic()
    time.sleep(seconds)
    sent1 = mentor.evaluate(OUTBOUND)
    frames1 = [page.evaluate(DECODED, mentor_id) for page in learners]
    elapsed = time.monotonic() - start

    def kbps(before, after):
        return (after - before) * 8 / elapsed / 1000

    before = {item["id"]: item["bytes"] for item in sent0["video"]}
    layers = [
        {**item, "kbps": kbps(before.get(item["id"], item["bytes"]), item["bytes"])}
        for item in sent1["video"]
    ]
    return {
        "upload_kbps": kbps(sent0["bytes"], sent1["bytes"]),
        "audio_kbps": kbps(sent0["audio"], sent1["audio"]),
        "layers": layers,
        "min_fps": min((b - a) / elapsed for a, b in zip(frames0, frames1, strict=True)) if learners else 0,
        "janus_cpu": (cpu(janus) - janus0) / elapsed * 100,
        "app_cpu": (cpu(server.pid) - app0) / elapsed * 100,
        "load": os.getloadavg()[0],
    }


def run_mode(playwright, network, mode, args, camera):
    settings = {"ROOM_MEDIA": mode, "ROOM_STAGE_THRESHOLD": "1", "MESH_MAX_CAMERAS": "2"}
    if mode == "janus":
        settings["JANUS_ICE_ENFORCE_LIST"] = netns.JANUS_ADDRESS
    server = LiveServer(startup_timeout=60, network=network, settings=settings)
    server.start()
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[*CHROMIUM_ARGS, *MEDIA_ARGS, f"--use-file-for-fake-video-capture={camera}"],
    )
    try:
        session_id, mentor_id, emails = seed(server.instance_dir, args.learners)
        janus = janus_pid(server) if mode == "janus" else None
        if mode == "janus" and janus is None:
            raise SystemExit("the server did not start a local Janus: is the Debian package janus installed?")
        room = Room(browser, server, session_id)
        mentor = room.enter("mentor@bench.test")
        mentor.wait_for_function("() => window.__pcs !== undefined")
        learners, joins, rows = [], [], []
        for count, email in enumerate(emails, start=1):
            page = room.enter(email)
            learners.append(page)
            joins.append(first_frame_seconds(page, mentor_id))
            if count in args.steps:
                time.sleep(args.settle)  # let the encoder and congestion control settle
                row = measure(mentor, learners, mentor_id, server, janus, args.seconds)
                row["learners"] = count
                rows.append(row)
                print(
                    f"  {mode:5} {count:2} learners: mentor upload {row['upload_kbps']:7.0f} kbit/s, "
                    f"min decoded {row['min_fps']:4.1f} fps, Janus CPU {row['janus_cpu']:5.1f} %, "
                    f"app CPU {row['app_cpu']:4.1f} %, load {row['load']:.2f}",
                    flush=True,
                )
                print(
                    f"        audio {row['audio_kbps']:.0f} kbit/s; video " + describe_layers(row["layers"])
                )
        for _ in range(args.rejoins):
            for page in learners:
                try:
                    room.open(page)  # a reload: a fresh page joins again
                except PlaywrightTimeout:
                    joins.append(None)
                    continue
                joins.append(first_frame_seconds(page, mentor_id))
        room.close()
        return rows, joins
    finally:
        browser.close()
        server.stop()


def describe_layers(layers):
    """Simulcast layers one by one; a mesh's identical per-peer streams summed up."""
    if any(layer["rid"] for layer in layers):
        return ", ".join(
            f"{layer['rid']} {layer['width']}x{layer['height']} {layer['fps']:.0f} fps "
            f"{layer['kbps']:.0f} kbit/s (limit {layer['limit'] or 'none'})"
            for layer in sorted(layers, key=lambda item: -item["width"])
        )
    if not layers:
        return "none"
    first = layers[0]
    each = sum(layer["kbps"] for layer in layers) / len(layers)
    return (
        f"{len(layers)} x {first['width']}x{first['height']} {first['fps']:.0f} fps, {each:.0f} kbit/s each "
        f"(limit {first['limit'] or 'none'})"
    )


def join_summary(joins):
    """p50 and p95 of the joins that got a picture, counting those that got none within a minute
    as slower than any (so they raise the p95)."""
    timed = [value for value in joins if value is not None]
    missing = len(joins) - len(timed)
    padded = timed + [float("inf")] * missing
    p50, p95 = percentile(padded, 0.5), percentile(padded, 0.95)

    def show(value):
        return "none within 60 s" if value == float("inf") else f"{value:.2f} s"

    text = f"p50 {show(p50)}, p95 {show(p95)} over {len(joins)} joins"
    if missing:
        text += f" ({missing} got no picture within 60 s)"
    return p95, text


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=8)
    parser.add_argument("--steps", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--settle", type=float, default=15, help="seconds to wait before each window")
    parser.add_argument("--rejoins", type=int, default=2)
    parser.add_argument("--modes", default="janus,mesh")
    args = parser.parse_args()
    args.steps = sorted(
        {int(step) for step in args.steps.split(",") if int(step) <= args.learners} | {args.learners}
    )
    problem = browser_setup_problem() or netns.problem()
    if problem:
        raise SystemExit(problem)

    print(
        f"Room media bench: 1 mentor + up to {args.learners} learners (subscribers), steps {args.steps}, "
        f"{args.seconds:.0f} s windows, synthetic camera 640x360 at 20 fps; {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()}"
    )
    results = {}
    folder = tempfile.TemporaryDirectory(prefix="peerlearn-room-media-")
    camera = Path(folder.name) / "camera.y4m"
    write_camera(camera)
    with netns.PrivateNetwork() as network:
        node, _cli = compute_driver_executable()
        os.environ["PLAYWRIGHT_NODEJS_PATH"] = network.node_wrapper(node)
        with sync_playwright() as playwright:
            for mode in args.modes.split(","):
                results[mode] = run_mode(playwright, network, mode, args, camera)
    folder.cleanup()

    print("\nMentor upload (kbit/s) by learners:")
    steps = {mode: {row["learners"]: row for row in rows} for mode, (rows, _joins) in results.items()}
    one_stream = steps.get("mesh", {}).get(1, {}).get("upload_kbps")
    for count in args.steps:
        cells = "  ".join(
            f"{mode} {steps[mode][count]['upload_kbps']:7.0f}" for mode in steps if count in steps[mode]
        )
        print(f"  {count:2}: {cells}")
    if "janus" in steps:
        rows = list(steps["janus"].values())
        worst = max(row["upload_kbps"] for row in rows)
        if one_stream:
            ratio = worst / one_stream
            verdict = "met" if ratio <= 1.2 else "NOT met"
            print(
                f"Janus: the mentor's upload is at most {worst:.0f} kbit/s = {ratio:.2f} x one stream "
                f"({one_stream:.0f} kbit/s, the mesh with one learner); target <= 1.2 x: {verdict}"
            )
        top = steps["janus"][max(steps["janus"])]
        streams = top["learners"] * 2  # audio and video to each learner
        per_stream = top["janus_cpu"] / streams
        per_video = top["janus_cpu"] / top["learners"]
        print(
            f"Janus CPU at {top['learners']} learners: {top['janus_cpu']:.1f} % of a core = "
            f"{per_stream:.2f} % per "
            f"forwarded stream ({per_video:.2f} % per learner, audio + video); target <= 1 %: "
            f"{'met' if per_stream <= 1 else 'NOT met'}"
        )
        p95, text = join_summary(results["janus"][1])
        print(f"Janus join to first frame: {text}; target p95 <= 2 s: {'met' if p95 <= 2 else 'NOT met'}")
        print(
            "App server CPU by learners (Janus): "
            + ", ".join(f"{row['learners']}: {row['app_cpu']:.1f} %" for row in rows)
        )
        cores = os.cpu_count() or 2
        seats = 50
        needed = per_stream * seats * 2
        print(
            f"Extrapolated at {per_stream:.2f} % per stream: 50 learners watching the mentor need "
            f"~{needed:.0f} % of a core in Janus ({needed / (100 * cores) * 100:.0f} % of this {cores}-core "
            "machine) while the mentor still uploads one stream; a full stage of 8 seen by the other 42 "
            f"(each receiving 8 microphones and 8 videos, the 7 on stage 7 of each) needs at most "
            f"~{per_stream * (8 * 7 * 2 + 42 * 8 * 2):.0f} % of a core if every video were a top layer "
            "(thumbnails at the low layer cost less)."
        )
    if "mesh" in results:
        print(f"Mesh join to first frame: {join_summary(results['mesh'][1])[1]}")


if __name__ == "__main__":
    main()
