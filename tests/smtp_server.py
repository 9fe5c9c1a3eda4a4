"""A real SMTP server on a loopback port for tests: aiosmtpd's, in a thread of its own.

Each message it accepts is parsed and kept in `messages`; `refuse` makes it answer 451 to
MAIL FROM, as a relay that is down for a while does; `connections` counts the sessions.
"""

import email
import email.policy
import socket
import threading

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, server: "SMTPServer"):
        self.server = server

    async def handle_EHLO(self, _server, session, _envelope, hostname, responses):
        with self.server.lock:
            self.server.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, _server, _session, envelope, address, mail_options):
        if self.server.refuse:
            return "451 try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message})
        return "250 Message accepted for delivery"


class SMTPServer:
    def __init__(self):
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        self.refuse = False
        self.connections = 0
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def to(self, address: str) -> list:
        with self.lock:
            return [m["message"] for m in self.messages if address in m["to"]]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
