"""Webhook jobs: one delivery attempt, and the sweep of retries that are due."""

from ..services import webhooks


def deliver(delivery_id):
    """Attempt a delivery; safe to run twice (a delivery not due is left alone)."""
    return webhooks.attempt(delivery_id)


def retry_due_webhooks():
    return webhooks.retry_due()
