"""Landing-page weight and idle server memory, measured on the real embedded server.

    .venv/bin/python bench/page_weight.py

Starts `flask serve` on a temporary instance with the demo data, loads / once in Debian's Chromium
with an empty cache, and prints the uncompressed HTML, CSS and JS bytes it received and how many
requests tried to leave 127.0.0.1 (must be 0). Then, after 2 s of idleness, the server's resident
memory (VmRSS). Exits non-zero when a request left loopback or anything failed.
"""

import sys
import time
from pathlib import Path

# Run as a file, not a module: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.live_server import (
    LiveServer,
    ServerError,
    browser_setup_problem,
    launch_chromium,
    measure_page_weight,
)

IDLE_SECONDS = 2.0


def main():
    problem = browser_setup_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    try:
        with LiveServer(settings={"ROOM_MEDIA": "mesh"}) as server, sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                weight = measure_page_weight(
                    browser, f"{server.url}/", viewport={"width": 1280, "height": 800}
                )
            finally:
                browser.close()
            time.sleep(IDLE_SECONDS)
            rss_kib = server.rss_kib()
    except (ServerError, PlaywrightError) as exc:
        print(f"Benchmark failed: {exc}", file=sys.stderr)
        return 1

    leaked = weight.external_requests
    print("Landing page, first load, uncompressed bytes")
    print(f"  HTML   {weight['html']:>9,}")
    print(f"  CSS    {weight['css']:>9,}")
    print(f"  JS     {weight['js']:>9,}")
    if weight["other"]:
        print(f"  other  {weight['other']:>9,}")
    print(f"  total  {weight.total:>9,}")
    print(f"  content-encoding: {', '.join(sorted(weight.content_encodings)) or 'none'}")
    print(f"Requests to hosts other than 127.0.0.1: {len(leaked)}")
    for url in leaked:
        print(f"  {url}")
    print(
        f"Server idle RSS after one landing-page load + {IDLE_SECONDS:.0f} s: "
        f"{rss_kib:,} KiB ({rss_kib / 1024:.1f} MiB)"
    )
    return 1 if leaked else 0


if __name__ == "__main__":
    sys.exit(main())
