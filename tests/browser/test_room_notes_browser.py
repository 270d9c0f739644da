"""The room's shared notes and whiteboard in two real browsers: a mentor and a learner edit both at
once, the learner's socket goes away for a few seconds while both keep editing, and afterwards
both pages hold the same document; it is still there after a reload and after the server
restarts. The panel open passes axe's WCAG checks.

The server is this module's own (a mesh room; the notes need no Janus), so restarting it keeps
its instance folder and database and disturbs no other test.
"""

import re
import subprocess
import time
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from scripts.live_server import HOST, LiveServer, ServerError, flask_command, missing_assets
from tests.browser.conftest import launch_media_browser, open_media_context
from tests.browser.room_support import book, create_session_starting_soon, enter_room, log_in, start
from tests.conftest import unavailable

pytestmark = pytest.mark.browser

MENTOR = "mentor1@peerlearn.local"
LEARNER = "learner1@peerlearn.local"
CONVERGE_TIMEOUT_S = 30  # how long two pages may take to agree; nothing here measures speed
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
RUN_AXE = """async (tags) => {
  const results = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
  return results.violations.map(
    (v) => `${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5)}`);
}"""
SNAPSHOT = "() => window.peerlearn.roomNotes.snapshot()"
# As the suite's live server: one address stands for everyone, and a mesh room.
SETTINGS = {
    "ROOM_MEDIA": "mesh",
    **dict.fromkeys(("REGISTER_LIMIT_PER_IP", "LOGIN_LIMIT_PER_IP", "RESET_LIMIT_PER_IP"), "1000 per minute"),
}


@pytest.fixture(scope="module")
def notes_server(private_network):
    if missing_assets():
        unavailable("front-end assets not built: run `make peerlearn/static/dist/.built`")
    # Generous: on a busy machine migrating and seeding a fresh instance takes a while.
    server = LiveServer(startup_timeout=180, network=private_network, settings=SETTINGS)
    try:
        server.start()
    except ServerError as exc:
        pytest.fail(f"the live server did not start: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def notes_browser(browser, media_network):
    media = launch_media_browser(browser)
    yield media
    media.close()


@pytest.fixture
def pages(notes_browser, notes_server, page_guard):
    contexts = []

    def make(**options):
        context = open_media_context(notes_browser, notes_server, page_guard, **options)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def restart(server):
    """Stop the server process and start it again on the same port and instance folder."""
    server.process.terminate()
    server.process.wait(timeout=10)
    command = [*flask_command(), "serve", "--setup", "--host", HOST, "--port", str(server.port)]
    if server.network is not None:
        command = server.network.wrap(command)
    server.process = subprocess.Popen(  # noqa: S603 - a fixed argument list of our own, no shell
        command,
        cwd=Path(__file__).resolve().parents[2],
        env=server.environment(),
        stdin=subprocess.DEVNULL,
        stdout=server._log,
        stderr=subprocess.STDOUT,
    )
    server._wait_until_healthy()


def open_notes(page):
    button = page.get_by_role("toolbar", name="Call controls").get_by_role("button", name="Notes", exact=True)
    if button.get_attribute("aria-expanded") != "true":
        button.click()
    panel = page.get_by_role("region", name="Notes and whiteboard")
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("notes-status")).not_to_have_text(re.compile(r"^(Loading…)?$"))
    return panel


def editor(panel):
    return panel.get_by_role("textbox", name="Shared notes")


def type_line(page, panel, text):
    box = editor(panel)
    box.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(text)


def show(panel, tab):
    panel.get_by_role("tab", name=tab).click()


def draw(page, panel, tool, start, end):
    """Drag on the whiteboard from ``start`` to ``end`` (fractions of its size) with ``tool``."""
    show(panel, "Whiteboard")
    panel.get_by_role("toolbar", name="Whiteboard tools").get_by_role("button", name=tool, exact=True).click()
    box = panel.get_by_test_id("whiteboard").bounding_box()
    at = [(box["x"] + box["width"] * x, box["y"] + box["height"] * y) for x, y in (start, end)]
    page.mouse.move(*at[0])
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move(
            at[0][0] + (at[1][0] - at[0][0]) * step / 5, at[0][1] + (at[1][1] - at[0][1]) * step / 5
        )
    page.mouse.up()
    show(panel, "Notes")


def snapshot(page):
    return page.evaluate(SNAPSHOT)


def shape_kinds(state):
    return sorted(shape["kind"] for shapes in state["pages"].values() for shape in shapes)


def converged(first, second, *, words, kinds):
    """Wait until both pages hold the same document, with ``words`` in the notes and shapes of
    ``kinds`` on the board; return it."""
    deadline = time.monotonic() + CONVERGE_TIMEOUT_S
    while True:
        a, b = snapshot(first), snapshot(second)
        if a == b and all(word in a["notes"] for word in words) and shape_kinds(a) == sorted(kinds):
            return a
        if time.monotonic() > deadline:
            pytest.fail(f"the two pages did not converge:\n{a}\n{b}")
        first.wait_for_timeout(200)


def wait_saved(page, panel):
    expect(panel.get_by_test_id("notes-status")).to_have_attribute(
        "data-state", "saved", timeout=CONVERGE_TIMEOUT_S * 1000
    )


def test_two_browsers_edit_notes_and_whiteboard_offline_reload_and_restart(pages, notes_server, page_guard):
    mentor, learner = pages(), pages()
    log_in(mentor, MENTOR)
    log_in(learner, LEARNER)
    session_id = create_session_starting_soon(mentor)
    book(learner, session_id)
    start(mentor, session_id)
    enter_room(mentor, session_id)
    enter_room(learner, session_id)

    mentor_panel = open_notes(mentor)
    learner_panel = open_notes(learner)
    # Read only until the mentor allows: the learner's editor can't be typed into.
    expect(learner_panel.get_by_test_id("notes-status")).to_have_text(re.compile("Read only"))
    expect(editor(learner_panel)).to_have_attribute("contenteditable", "false")
    mentor_panel.get_by_label("Let learners edit notes and whiteboard").check()
    expect(editor(learner_panel)).to_have_attribute("contenteditable", "true")

    # Both at once: text in the notes and shapes on the board.
    type_line(mentor, mentor_panel, "Mentor agenda")
    type_line(learner, learner_panel, "Learner question")
    draw(mentor, mentor_panel, "Rectangle", (0.1, 0.1), (0.4, 0.4))
    draw(learner, learner_panel, "Pen", (0.5, 0.5), (0.9, 0.7))
    converged(mentor, learner, words=["Mentor agenda", "Learner question"], kinds=["pen", "rect"])

    # The learner's socket goes away for a few seconds; both keep editing meanwhile.
    learner.evaluate("window.peerlearn.socket.disconnect()")
    expect(learner_panel.get_by_test_id("notes-status")).to_have_attribute("data-state", "offline")
    type_line(learner, learner_panel, "Written offline")
    draw(learner, learner_panel, "Line", (0.2, 0.8), (0.6, 0.9))
    type_line(mentor, mentor_panel, "Mentor meanwhile")
    draw(mentor, mentor_panel, "Ellipse", (0.6, 0.1), (0.9, 0.3))
    learner.wait_for_timeout(3000)
    assert "Written offline" not in snapshot(mentor)["notes"]
    learner.evaluate("window.peerlearn.socket.connect()")
    words = ["Mentor agenda", "Learner question", "Written offline", "Mentor meanwhile"]
    kinds = ["ellipse", "line", "pen", "rect"]
    both = converged(mentor, learner, words=words, kinds=kinds)
    wait_saved(learner, learner_panel)

    # A reload restores it from the server.
    learner.reload()
    expect(learner.locator("body")).to_have_attribute("data-room", "joined")
    learner_panel = open_notes(learner)
    assert converged(mentor, learner, words=words, kinds=kinds) == both

    # So does a restart of the server: the pages reconnect, and a fresh page loads the same.
    wait_saved(mentor, mentor_panel)
    errors_before = len(page_guard.console_errors)
    restart(notes_server)
    mentor.reload()
    expect(mentor.locator("body")).to_have_attribute("data-room", "joined")
    mentor_panel = open_notes(mentor)
    assert converged(mentor, learner, words=words, kinds=kinds) == both
    # While the server was down the learner's socket failed to reconnect, as it should have.
    page_guard.console_errors[errors_before:] = [
        error
        for error in page_guard.console_errors[errors_before:]
        if "ERR_CONNECTION_REFUSED" not in error[0]
    ]

    # The learner's page kept working across the restart: a new line reaches the mentor.
    type_line(learner, learner_panel, "After the restart")
    converged(mentor, learner, words=[*words, "After the restart"], kinds=kinds)

    # The downloads have what the room wrote.
    notes = mentor.request.get(f"/sessions/{session_id}/notes.md")
    assert notes.ok and "Written offline" in notes.text()
    png = mentor.request.get(f"/sessions/{session_id}/whiteboard/1.png")
    assert png.ok and png.headers["content-type"] == "image/png"


def test_the_room_with_the_notes_panel_open_meets_wcag_22_aa(pages):
    if not AXE.exists():
        unavailable(f"axe-core is not installed ({AXE} missing): run `npm ci`")
    mentor = pages(bypass_csp=True)  # for axe's own script, added to the page
    log_in(mentor, "mentor2@peerlearn.local")
    session_id = create_session_starting_soon(mentor)
    start(mentor, session_id)
    enter_room(mentor, session_id)
    violations = []
    panel = open_notes(mentor)
    mentor.add_script_tag(content=AXE.read_text())
    violations += ["notes: " + line for line in mentor.evaluate(RUN_AXE, WCAG_TAGS)]
    show(panel, "Whiteboard")
    violations += ["whiteboard: " + line for line in mentor.evaluate(RUN_AXE, WCAG_TAGS)]
    assert violations == []


def test_whiteboard_tools_text_eraser_undo_and_pages(pages):
    mentor = pages()
    log_in(mentor, "mentor3@peerlearn.local")
    session_id = create_session_starting_soon(mentor)
    start(mentor, session_id)
    enter_room(mentor, session_id)
    panel = open_notes(mentor)
    draw(mentor, panel, "Pen", (0.1, 0.5), (0.5, 0.5))
    show(panel, "Whiteboard")
    tools = panel.get_by_role("toolbar", name="Whiteboard tools")

    # Text from the keyboard: the Text tool, the words, Enter.
    tools.get_by_role("button", name="Text", exact=True).click()
    text_box = tools.get_by_role("textbox", name="Text to place")
    expect(text_box).to_be_focused()
    text_box.fill("Key idea")
    text_box.press("Enter")

    def expect_kinds(kinds):
        mentor.wait_for_function(
            "(kinds) => JSON.stringify(Object.values(window.peerlearn.roomNotes.snapshot().pages)"
            ".flat().map((s) => s.kind).sort()) === JSON.stringify(kinds)",
            arg=sorted(kinds),
        )

    expect_kinds(["pen", "text"])
    assert [s["text"] for s in snapshot(mentor)["pages"]["0"] if s["kind"] == "text"] == ["Key idea"]
    board = panel.get_by_test_id("whiteboard")
    expect(board).to_have_attribute("aria-label", "Whiteboard, page 1 of 1, 2 shapes")

    # The eraser takes the stroke it touches; Undo brings it back, Redo takes it again.
    tools.get_by_role("button", name="Eraser", exact=True).click()
    box = panel.get_by_test_id("whiteboard").bounding_box()
    mentor.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    expect_kinds(["text"])
    expect(board).to_have_attribute("aria-label", "Whiteboard, page 1 of 1, 1 shape")  # one, not "1 shapes"
    tools.get_by_role("button", name="Undo", exact=True).click()
    expect_kinds(["pen", "text"])
    tools.get_by_role("button", name="Redo", exact=True).click()
    expect_kinds(["text"])

    # A second page, drawn on; its PNG has the drawing, the first page's text is not on it.
    pages_bar = panel.get_by_role("toolbar", name="Whiteboard pages")
    pages_bar.get_by_role("button", name="Add page").click()
    expect(panel.get_by_test_id("board-page")).to_have_text("Page 2 of 2")
    draw(mentor, panel, "Rectangle", (0.25, 0.25), (0.75, 0.75))
    expect_kinds(["rect", "text"])
    wait_saved(mentor, panel)
    png = mentor.request.get(f"/sessions/{session_id}/whiteboard/2.png")
    assert png.ok
    image = Image.open(BytesIO(png.body())).convert("RGB")
    assert image.getpixel((400, 450)) != (255, 255, 255)  # the rectangle's left edge
    assert image.getpixel((800, 450)) == (255, 255, 255)  # inside it: not filled
    show(panel, "Whiteboard")
    pages_bar.get_by_role("button", name="Previous page").click()
    expect(panel.get_by_test_id("board-page")).to_have_text("Page 1 of 2")
