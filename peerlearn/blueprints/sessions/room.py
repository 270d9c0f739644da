"""The live room page, and the mentor's start and end buttons."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ...exceptions import DomainError, NotFound
from ...models import utcnow
from ...payments import get_gateway
from ...services import gifts as gift_service
from ...services import room as room_service
from ...services import sessions as session_service
from ...services import settlement
from . import bp


@bp.get("/sessions/<int:session_id>/room")
@login_required
def room(session_id):
    session = session_service.find_session(session_id)
    refusal = room_service.entry_refusal(current_user, session)
    if isinstance(refusal, NotFound):
        abort(404)
    if refusal is not None:
        return render_template("sessions/room_closed.html", session=session, message=refusal.message), 403
    gateway = get_gateway()
    low, high = gift_service.limits()
    return render_template(
        "sessions/room.html",
        session=session,
        is_mentor=current_user.id == session.mentor_id,
        razorpay_script=current_app.config["RAZORPAY_CHECKOUT_URL"] if gateway.name == "razorpay" else None,
        room_config={
            "sessionId": session.id,
            "userId": current_user.id,
            "isMentor": current_user.id == session.mentor_id,
            "title": session.title,
            "startsAt": session.starts_at.isoformat(),
            "endsAt": session.ends_at.isoformat(),
            "status": session.status,
            # Minutes of the mentor's presence that make the session held (its End warns of it).
            "heldMinutes": settlement.held_minutes_needed(session),
            # The page keeps its clock on the server's time, whatever the device's clock says.
            "serverNow": utcnow().isoformat(),
            # Chat times are shown in the viewer's own timezone (an IANA name).
            "timezone": current_user.timezone,
            "iceServers": room_service.ice_servers(current_user),
            "detailUrl": url_for("sessions.detail", session_id=session.id),
            "gifts": {
                "gateway": gateway.name,
                "presets": gift_service.presets(),
                "min": low,
                "max": high,
                "createUrl": url_for("api.create_gift"),
                "verifyUrl": url_for("api.verify_gift"),
            },
        },
    )


@bp.post("/sessions/<int:session_id>/start")
@login_required
def start(session_id):
    try:
        room_service.start(current_user, session_id)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("sessions.detail", session_id=session_id))
    return redirect(url_for("sessions.room", session_id=session_id))


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end(session_id):
    try:
        session = room_service.end(current_user, session_id)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("sessions.room", session_id=session_id))
    # This form is the room's fallback when its socket can't end the session: the others in
    # the room are still told, and its media room closes.
    session_service.announce_completed(session)
    flash(settlement.ended_message(session), "info" if settlement.was_not_held(session) else "success")
    return redirect(url_for("sessions.detail", session_id=session_id))
