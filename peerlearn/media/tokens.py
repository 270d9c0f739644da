"""Janus's signed tokens: ``"<expiry>,<realm>,<desc>,...:<base64 HMAC-SHA1>"``.

Janus (``token_auth = true`` with ``token_auth_secret``) checks the signature, the expiry and
the realm. A *core* token (realm ``janus``) lets its holder use the API and attach the plugins it
names; Janus checks it on every request, keepalives included, so it must last as long as the
participant may stay. A *room* token (realm ``janus.plugin.videoroom``, ``room=<id>``) lets them
join that VideoRoom room once; Janus checks it at the join only, so it lives a minute.
"""

import base64
import hashlib
import hmac

CORE_REALM = "janus"
VIDEOROOM = "janus.plugin.videoroom"

# Room tokens expire on these boundaries, so one person asking twice within a window gets the
# same token, and every token someone may still hold can be listed again (to revoke them).
ROOM_TOKEN_STEP_SECONDS = 15


def sign(secret, expiry, realm, *descriptors):
    data = ",".join([str(int(expiry)), realm, *descriptors])
    digest = hmac.new(secret.encode(), data.encode(), hashlib.sha1).digest()
    return f"{data}:{base64.b64encode(digest).decode()}"


def core_token(secret, expiry):
    """A token for the Janus API that may attach the VideoRoom plugin, valid until ``expiry``."""
    return sign(secret, expiry, CORE_REALM, VIDEOROOM)


def room_token_expiry(now, lifetime):
    """The expiry of a room token issued at ``now``: at least ``lifetime`` seconds ahead."""
    step = ROOM_TOKEN_STEP_SECONDS
    return (int(now) + lifetime + step - 1) // step * step


def room_token(secret, room, user_id, expiry):
    """A token to join VideoRoom room ``room`` as ``user_id`` (named, so it can be revoked)."""
    return sign(secret, expiry, VIDEOROOM, f"room={room}", f"user={user_id}")


def live_room_tokens(secret, room, user_id, now, lifetime):
    """Every room token for ``user_id`` that may still be valid at ``now``."""
    step = ROOM_TOKEN_STEP_SECONDS
    first = (int(now) + step - 1) // step * step
    last = room_token_expiry(now, lifetime)
    return [room_token(secret, room, user_id, expiry) for expiry in range(first, last + 1, step)]
