"""A real SMTP server on a loopback port, for tests: it speaks enough of RFC 5321 for smtplib.

Each message it accepts is parsed and kept in `messages`; `refuse` makes it answer 451 to
MAIL FROM, as a relay that is down for a while does.
"""

import email
import email.policy
import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def _send(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self):
        server = self.server
        with server.lock:
            server.connections += 1
        self._send("220 test-smtp ready")
        sender, recipients = None, []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._send("250-test-smtp")
                self._send("250 8BITMIME" if verb == "EHLO" else "250 ok")
            elif verb == "MAIL":
                if server.refuse:
                    self._send("451 try again later")
                    continue
                sender, recipients = line[10:].strip(), []
                self._send("250 ok")
            elif verb == "RCPT":
                recipients.append(line[8:].strip().strip("<>"))
                self._send("250 ok")
            elif verb == "DATA":
                self._send("354 end with .")
                data = []
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    data.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                message = email.message_from_bytes(b"".join(data), policy=email.policy.default)
                with server.lock:
                    server.messages.append({"from": sender, "to": recipients, "message": message})
                self._send("250 queued")
            elif verb == "RSET":
                sender, recipients = None, []
                self._send("250 ok")
            elif verb == "NOOP":
                self._send("250 ok")
            elif verb == "QUIT":
                self._send("221 bye")
                return
            else:
                self._send("502 not implemented")


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.messages: list[dict] = []
        self.lock = threading.Lock()
        self.refuse = False
        self.connections = 0
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

    def to(self, address: str) -> list:
        with self.lock:
            return [m["message"] for m in self.messages if address in m["to"]]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()
