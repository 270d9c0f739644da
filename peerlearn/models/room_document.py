"""A session's shared notes and whiteboard: one Yjs document, kept as its encoded state.

The browsers edit the document with Yjs and the server merges their updates with pycrdt
(``services/room_documents.py``). The row holds the whole merged state (``Doc.get_update()``), so
any server process can rebuild the document from it; ``version`` counts the merges, and a merge
writes only over the version it read, so two processes never overwrite each other's work.
"""

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, false
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, utcnow


class RoomDocument(db.Model):
    """One per session that has opened its notes or whiteboard."""

    __tablename__ = "room_documents"
    __table_args__ = (CheckConstraint("version >= 0", name="version_not_negative"),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("learning_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    # The document's full state as one Yjs update (version 1 encoding).
    state: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # The mentor's room toggle: learners may edit too (otherwise they only read).
    learners_may_edit: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
