"""Web Push jobs: one message to every browser of one user."""

from ..services import push


def send_push(user_id, payload):
    """Send ``payload`` ({title, body, url, tag, ttl}) to each of the user's subscriptions.
    Nothing is retried by raising: a subscription the push service dropped is deleted and other
    failures are counted on it (services.push.deliver)."""
    return push.deliver(user_id, payload)
