"""The live room's media server: Janus VideoRoom.

``tokens`` signs the HMAC tokens Janus checks, ``janus`` talks to its HTTP and admin APIs, and
``embedded`` runs a loopback-only Janus next to `make run`. The rules (who gets a token, which
instance a room lives on, stage and moderation) are in ``services/media.py``.
"""
