"""An SMTP inbox for aiosmtpd: what a real mail server on loopback received, with an event that
fires at the first message."""

import email
import threading
from email import policy


class Inbox:
    def __init__(self):
        self.messages = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd calls it by this name
        self.messages.append(
            (envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default))
        )
        self.arrived.set()
        return "250 Message accepted for delivery"
