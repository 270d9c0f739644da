"""A session's shared notes and whiteboard: one Yjs document per session, merged on the server.

The browsers edit with Yjs and send their changes as binary Yjs updates over the room's socket
(sockets/documents.py). Here each update is merged with pycrdt into the state kept in
``room_documents`` and the result written back in the same transaction, so the database always
holds the whole document and every server process reads the same one: no process keeps a
document in memory between events, so none can drift from the others. Two merges for one session
at the same moment are ordered by the row: on PostgreSQL the row is locked (``FOR UPDATE``) while
it is merged, and everywhere the write only lands over the ``version`` it read, so a merge that
lost a race reads again and merges once more instead of overwriting the other's work.

An update is all or nothing: Yjs cannot take part of one, so an update from someone who may
only read is refused whole, as is one that is not a Yjs update or would make the document larger
than ``MAX_DOCUMENT_BYTES``.

What the document holds (the browser's side is static/src/js/room/notes/):

- ``notes``: an XmlFragment edited by tiptap (ProseMirror): paragraphs, headings, lists, code
  blocks, quotes, with bold, italic, code, strike and links as text attributes.
- ``pages``: a Map of whiteboard pages, page id -> Array of shapes. Each shape is a JSON object
  ``{id, kind, points, colour, width, text}``: ``kind`` is pen, line, rect, ellipse, arrow or
  text; ``points`` a flat list ``[x1, y1, x2, y2, ...]`` on a board of ``BOARD_WIDTH`` ×
  ``BOARD_HEIGHT`` (a pen's whole stroke; two corners for the others; one point for text).
  Erasing deletes the shape. Pages are ordered by id: the first, ``FIRST_PAGE``, is in every
  document from the start (``_seed``), and the browser names new ones by time.
"""

import logging
import math
import random
import re
import time
from io import BytesIO

from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont
from pycrdt import Array, Doc, Map, XmlElement, XmlFragment, XmlText, get_update, merge_updates
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..exceptions import DomainError, NotFound, PermissionDenied
from ..extensions import db
from ..models import LearningSession, RoomDocument, utcnow
from . import room as room_service
from .transactions import use_case

log = logging.getLogger(__name__)

MAX_UPDATE_BYTES = 256 * 1024  # one change sent by a browser
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024  # the whole merged document
MAX_STATE_VECTOR_BYTES = 64 * 1024
MERGE_ATTEMPTS = 8  # tries when another process merged into the same row meanwhile
MERGE_BACKOFF_SECONDS = 0.005  # the first wait after a lost race; it doubles, with jitter

NOTES = "notes"
PAGES = "pages"
FIRST_PAGE = "0"
# The seed is written by this fixed client id, so every process makes the very same seed and
# Yjs takes it once however many copies arrive. Browsers draw random 32-bit ids; this one is
# above that range, so none can collide with it.
SEED_CLIENT_ID = 2**40 + 18

BOARD_WIDTH = 1600
BOARD_HEIGHT = 900
SHAPE_KINDS = frozenset({"pen", "line", "rect", "ellipse", "arrow", "text"})


class DocumentError(DomainError):
    status = 400
    code = "invalid_update"


class DocumentTooLarge(DomainError):
    status = 413
    code = "document_too_large"


def _seed():
    doc = Doc(client_id=SEED_CLIENT_ID)
    doc[NOTES] = XmlFragment()
    doc[PAGES] = Map()
    doc[PAGES][FIRST_PAGE] = Array()
    return doc.get_update()


SEED = _seed()


def _doc(state):
    doc = Doc()
    doc.apply_update(state)
    return doc


def _merged(old, change):
    """``old`` with ``change`` merged in, as one update.

    Compact (``Doc.get_update()``: deleted content dropped) when the document could take all of
    it. A change that depends on one not seen yet (one browser's two changes handled out of
    order) would be left out of that, so then the two are kept side by side (``merge_updates``)
    until the missing one arrives.
    """
    if not change:
        return old
    doc = _doc(old)
    try:
        doc.apply_update(change)
        kept = merge_updates(old, change)
    except Exception as exc:  # pycrdt raises plain exceptions for bytes it cannot decode
        raise DocumentError(_("That is not a Yjs update.")) from exc
    compact = doc.get_update()
    return compact if _all_integrated(get_update(kept, doc.get_state()), doc.get_state()) else kept


def _varuints(data):
    position = 0

    def read():
        nonlocal position
        value = shift = 0
        while True:
            byte = data[position]
            position += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    return read


def _state_vector(encoded):
    read = _varuints(encoded)
    return {read(): read() for _entry in range(read())}


def _all_integrated(extra, encoded_state):
    """Whether ``extra`` (what a kept update has beyond the document's state) holds nothing the
    document lacks: no structures, and deletions only of items the document has."""
    read = _varuints(extra)
    if read() != 0:
        return False
    state = _state_vector(encoded_state)
    for _client in range(read()):
        client, ranges = read(), read()
        for _range in range(ranges):
            clock, length = read(), read()
            if clock + length > state.get(client, 0):
                return False
    return True


def _row(session_id, *, lock=False):
    query = select(RoomDocument).where(RoomDocument.session_id == session_id)
    if lock and db.engine.dialect.name == "postgresql":
        query = query.with_for_update()
    return db.session.scalars(query).one_or_none()


def state(session_id):
    """The document's whole state as one Yjs update (the seed when nobody has edited yet)."""
    row = _row(session_id)
    return row.state if row is not None else SEED


def learners_may_edit(session_id):
    row = _row(session_id)
    return bool(row and row.learners_may_edit)


def may_edit(user, session, *, learners_allowed=None):
    """The mentor always; a learner with a seat when the mentor lets learners edit."""
    if user.id == session.mentor_id:
        return True
    if learners_allowed is None:
        learners_allowed = learners_may_edit(session.id)
    return learners_allowed and room_service.has_seat(user, session)


@use_case
def sync(user, session_id, state_vector):
    """The first step of a browser's sync: what the server has that the browser lacks (given its
    state vector), the server's own state vector (so the browser sends what the server lacks),
    and whether this person may edit."""
    session = room_service.session_for_entry(user, session_id)
    if not isinstance(state_vector, bytes | bytearray) or len(state_vector) > MAX_STATE_VECTOR_BYTES:
        raise DocumentError(
            _("The state vector must be binary and at most 64 KB."), code="invalid_state_vector"
        )
    row = _row(session_id)
    doc = _doc(row.state if row is not None else SEED)
    try:
        diff = doc.get_update(bytes(state_vector))
    except Exception as exc:  # pycrdt raises plain exceptions for bytes it cannot decode
        raise DocumentError(_("That is not a Yjs state vector."), code="invalid_state_vector") from exc
    allowed = bool(row and row.learners_may_edit)
    db.session.rollback()  # read only: end the transaction
    return {
        "update": diff,
        "state_vector": doc.get_state(),
        "can_edit": may_edit(user, session, learners_allowed=allowed),
        "learners_may_edit": allowed,
    }


@use_case
def apply_update(user, session_id, change):
    """Merge one browser's Yjs update into the session's document and store it; returns the new
    version. Refused whole when ``user`` may not edit, the update is too large or not a Yjs
    update, or the document would grow past MAX_DOCUMENT_BYTES."""
    if not isinstance(change, bytes | bytearray):
        raise DocumentError(_("The update must be binary."))
    if len(change) > MAX_UPDATE_BYTES:
        raise DocumentTooLarge(
            _(
                "That change is larger than %(size)s KB. Split it into smaller ones.",
                size=MAX_UPDATE_BYTES // 1024,
            ),
            code="update_too_large",
        )
    session = room_service.session_for_entry(user, session_id)
    if not may_edit(user, session):
        raise PermissionDenied(
            _("The mentor hasn't let learners edit the notes and whiteboard."), code="read_only"
        )
    db.session.rollback()  # the checks' reads end here; the merge has its own transaction
    return _merge(session_id, bytes(change))


def _merge(session_id, change, *, learners_may_edit=None):
    for attempt in range(MERGE_ATTEMPTS):
        if attempt:
            # Two writers that lost to each other would otherwise read and merge again in step
            # and keep colliding (SQLite has no row lock to queue them): wait a random while.
            time.sleep(random.uniform(0, MERGE_BACKOFF_SECONDS * 2**attempt))  # noqa: S311 - jitter
        row = _row(session_id, lock=True)
        merged = _merged(row.state if row is not None else SEED, change)
        if len(merged) > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge(
                _(
                    "The notes and whiteboard are full: remove something (or start a new page's "
                    "drawing smaller) before adding more."
                ),
            )
        now = utcnow()
        if row is None:
            db.session.add(
                RoomDocument(
                    session_id=session_id,
                    state=merged,
                    version=1,
                    learners_may_edit=bool(learners_may_edit),
                    updated_at=now,
                )
            )
            try:
                db.session.commit()
            except IntegrityError:
                db.session.rollback()  # another process made the row first: merge into theirs
                continue
            return 1
        values = {"state": merged, "version": row.version + 1, "updated_at": now}
        if learners_may_edit is not None:
            values["learners_may_edit"] = learners_may_edit
        written = db.session.execute(
            update(RoomDocument)
            .where(RoomDocument.session_id == session_id, RoomDocument.version == row.version)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        if written:
            db.session.commit()
            return row.version + 1
        db.session.rollback()  # merged meanwhile by another process: read it again
    raise DocumentError(_("The document is busy. Try again."), code="document_busy")


@use_case
def set_learners_may_edit(user, session_id, allowed):
    """The mentor's toggle: let the learners in the room edit the notes and whiteboard, or not."""
    session = room_service.session_for_entry(user, session_id)
    if session.mentor_id != user.id:
        raise PermissionDenied(_("Only the mentor can do that."), code="mentor_only")
    db.session.rollback()
    _merge(session_id, b"", learners_may_edit=bool(allowed))
    return bool(allowed)


def readable_session(user, session_id):
    """The session whose notes and whiteboard ``user`` may download: the mentor's, a booked
    learner's, or any for an admin. Everyone else is told there is no such session."""
    session = db.session.get(LearningSession, session_id)
    if session is None or user is None or not getattr(user, "is_authenticated", False):
        raise NotFound(_("No such session."))
    if user.is_admin or room_service.has_seat(user, session):
        return session
    raise NotFound(_("No such session."))


# Exports: the notes as Markdown, the whiteboard's pages as PNG.

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]])")
_LINE_START = re.compile(r"^(\s*)([#>+-]|\d+[.)])", re.MULTILINE)


def _escape(text):
    return _LINE_START.sub(r"\1\\\2", _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def _marks(attributes):
    """Mark names from y-prosemirror's text attributes (``link--<hash>`` when overlapping)."""
    return {key.split("--")[0]: value for key, value in (attributes or {}).items()}


def _inline(element, *, code=False):
    parts = []
    for child in element.children:
        if isinstance(child, XmlText):
            for text, attributes in child.diff():
                if not isinstance(text, str):
                    continue
                if code:
                    parts.append(text)
                    continue
                marks = _marks(attributes)
                if "code" in marks:
                    piece = f"`{text}`"
                else:
                    piece = _escape(text)
                    if "bold" in marks and piece.strip():
                        piece = f"**{piece}**"
                    if "italic" in marks and piece.strip():
                        piece = f"*{piece}*"
                    if "strike" in marks and piece.strip():
                        piece = f"~~{piece}~~"
                link = marks.get("link")
                if isinstance(link, dict) and link.get("href"):
                    piece = f"[{piece}]({link['href']})"
                parts.append(piece)
        elif isinstance(child, XmlElement) and child.tag == "hardBreak":
            parts.append("\n" if code else "  \n")
        elif isinstance(child, XmlElement):
            parts.append(_inline(child, code=code))
    return "".join(parts)


def _indent(text, prefix, first=None):
    lines = text.split("\n")
    first = prefix if first is None else first
    return "\n".join((first if i == 0 else prefix) + line if line else line for i, line in enumerate(lines))


def _blocks(parent):
    out = []
    for child in parent.children:
        if isinstance(child, XmlText):
            text = _escape(str(child))
            if text.strip():
                out.append(text)
            continue
        block = _block(child)
        if block is not None:
            out.append(block)
    return "\n\n".join(out)


def _block(element):
    tag = element.tag
    attributes = dict(element.attributes)
    if tag == "paragraph":
        return _inline(element)
    if tag == "heading":
        try:
            level = min(max(int(attributes.get("level", 1)), 1), 6)
        except (TypeError, ValueError):
            level = 1
        return "#" * level + " " + _inline(element)
    if tag == "codeBlock":
        language = attributes.get("language") or ""
        body = _inline(element, code=True)
        fence = "````" if "```" in body else "```"
        return f"{fence}{language if isinstance(language, str) else ''}\n{body}\n{fence}"
    if tag == "blockquote":
        return _indent(_blocks(element), "> ").replace("\n\n", "\n>\n")
    if tag == "horizontalRule":
        return "---"
    if tag in ("bulletList", "orderedList"):
        items = []
        try:
            number = int(attributes.get("start", 1))
        except (TypeError, ValueError):
            number = 1
        for item in element.children:
            if not isinstance(item, XmlElement):
                continue
            marker = f"{number}. " if tag == "orderedList" else "- "
            number += 1
            body = _blocks(item).replace("\n\n", "\n")
            items.append(_indent(body, " " * len(marker), first=marker) if body else marker.rstrip())
        return "\n".join(items)
    return _blocks(element) or None


def notes_markdown(session_id):
    """The session's notes as Markdown: headings, lists, code blocks, quotes and paragraphs,
    with bold, italic, code, strike and links."""
    doc = _doc(state(session_id))
    notes = doc.get(NOTES, type=XmlFragment)
    text = _blocks(notes).strip("\n")
    return text + "\n" if text else ""


def _page_ids(doc):
    pages = doc.get(PAGES, type=Map)
    return sorted(key for key, shapes in pages.items() if isinstance(shapes, Array))


def whiteboard_page_count(session_id):
    return len(_page_ids(_doc(state(session_id))))


def whiteboard_shapes(session_id, page):
    """The shapes on page ``page`` (counted from 1), or NotFound."""
    doc = _doc(state(session_id))
    ids = _page_ids(doc)
    if not 1 <= page <= len(ids):
        raise NotFound(_("No such whiteboard page."))
    return [shape for shape in doc.get(PAGES, type=Map)[ids[page - 1]] if isinstance(shape, dict)]


_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _points(shape):
    raw = shape.get("points")
    if not isinstance(raw, list):
        return []
    numbers = [float(n) for n in raw if isinstance(n, int | float) and not isinstance(n, bool)]
    return [(numbers[i], numbers[i + 1]) for i in range(0, len(numbers) - 1, 2)]


def _box(points):
    (x1, y1), (x2, y2) = points[0], points[-1]
    return [min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)]


def _draw(draw, shape):
    kind = shape.get("kind")
    points = _points(shape)
    if kind not in SHAPE_KINDS or not points:
        return
    colour = shape.get("colour")
    colour = colour if isinstance(colour, str) and _COLOUR.match(colour) else "#000000"
    width = shape.get("width")
    width = (
        int(min(max(width, 1), 64)) if isinstance(width, int | float) and not isinstance(width, bool) else 3
    )
    if kind == "text":
        text = shape.get("text")
        if isinstance(text, str) and text:
            font = ImageFont.load_default(size=max(12, width * 6))
            draw.text(points[0], text[:500], fill=colour, font=font)
        return
    if kind == "pen":
        if len(points) == 1:
            x, y = points[0]
            r = width / 2
            draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)
        else:
            draw.line(points, fill=colour, width=width, joint="curve")
        return
    if len(points) < 2:
        return
    if kind == "rect":
        draw.rectangle(_box(points), outline=colour, width=width)
    elif kind == "ellipse":
        draw.ellipse(_box(points), outline=colour, width=width)
    else:  # line, arrow
        start, end = points[0], points[-1]
        draw.line([start, end], fill=colour, width=width)
        if kind == "arrow":
            _arrow_head(draw, start, end, colour, width)


def _arrow_head(draw, start, end, colour, width):
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    size = 10 + width * 3
    left = (end[0] - size * math.cos(angle - math.pi / 7), end[1] - size * math.sin(angle - math.pi / 7))
    right = (end[0] - size * math.cos(angle + math.pi / 7), end[1] - size * math.sin(angle + math.pi / 7))
    draw.polygon([end, left, right], fill=colour)


def whiteboard_png(session_id, page):
    """Page ``page`` (counted from 1) of the session's whiteboard drawn as a PNG, white
    background, ``BOARD_WIDTH`` × ``BOARD_HEIGHT``."""
    shapes = whiteboard_shapes(session_id, page)
    image = Image.new("RGB", (BOARD_WIDTH, BOARD_HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    for shape in shapes:
        _draw(draw, shape)
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
