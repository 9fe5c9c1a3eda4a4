"""A fake Stripe balance API on a loopback port: `GET /v1/balance_transactions` as Stripe pages it."""

import itertools
import json
import threading
import time
from urllib.parse import parse_qsl

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

_seq = itertools.count(1)


class FakeStripeBalance:
    """Holds balance transactions; lists them newest first, `limit` per page, after `starting_after`,
    within `created[gte]`/`created[lt]`, or those of one `payout`, and keeps every request it saw."""

    def __init__(self):
        self.rows: list[dict] = []
        #: payout id → the balance transaction ids it paid out.
        self.payouts: dict[str, list[str]] = {}
        self.requests: list[dict] = []
        #: Idempotency key → the refund made for it.
        self.refunds: dict[str, dict] = {}
        self.fail = False
        #: When set, a listing page after the first waits until `release()`: a run seen mid-way.
        self.holding = False
        self._released = threading.Event()
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def wsgi(self, environ, start_response):
        request = Request(environ)
        query = parse_qsl(request.query_string.decode(), keep_blank_values=True)
        self.requests.append({"method": request.method, "path": request.path, "query": query})
        args = dict(query)
        if self.fail:
            body = {"error": {"type": "api_error", "message": "down"}}
            return Response(json.dumps(body), 500, content_type="application/json")(environ, start_response)
        if request.method == "POST" and request.path == "/v1/refunds":
            form = dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
            self.requests[-1]["form"] = form
            self.requests[-1]["idempotency_key"] = request.headers.get("Idempotency-Key")
            key = request.headers.get("Idempotency-Key") or f"none-{next(_seq)}"
            self.refunds.setdefault(
                key,
                {
                    "id": f"re_{next(_seq):06d}",
                    "object": "refund",
                    "amount": int(form["amount"]),
                    "payment_intent": form.get("payment_intent"),
                    "status": "succeeded",
                },
            )
            return Response(json.dumps(self.refunds[key]), 200, content_type="application/json")(
                environ, start_response
            )
        if self.holding and "starting_after" in args:
            self._released.wait(20)
        if request.method != "GET" or request.path != "/v1/balance_transactions":
            body = {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
            return Response(json.dumps(body), 404, content_type="application/json")(environ, start_response)
        rows = sorted(self.rows, key=lambda r: (r["created"], r["id"]), reverse=True)
        if "payout" in args:
            wanted = set(self.payouts.get(args["payout"], []))
            rows = [r for r in rows if r["id"] in wanted]
        if "created[gte]" in args:
            rows = [r for r in rows if r["created"] >= int(args["created[gte]"])]
        if "created[lt]" in args:
            rows = [r for r in rows if r["created"] < int(args["created[lt]"])]
        if "starting_after" in args:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(args["starting_after"]) + 1 :]
        limit = int(args.get("limit", 10))
        page = rows[:limit]
        if args.get("expand[]") != "data.source":
            page = [{**r, "source": r["source"]["id"]} if isinstance(r.get("source"), dict) else r for r in page]
        body = {"object": "list", "url": "/v1/balance_transactions", "has_more": len(rows) > limit, "data": page}
        return Response(json.dumps(body), 200, content_type="application/json")(environ, start_response)

    def release(self) -> None:
        self._released.set()

    def add(self, category: str, amount: int, fee: int = 0, *, source: dict | None = None, created=None, txn_id=None):
        n = next(_seq)
        row = {
            "id": txn_id or f"txn_{n:06d}",
            "object": "balance_transaction",
            "amount": amount,
            "fee": fee,
            "net": amount - fee,
            "currency": "cny",
            "created": created or int(time.time()),
            "reporting_category": category,
            "type": "payment" if category == "charge" else category,
            "source": source,
        }
        self.rows.append(row)
        return row

    def charge(self, donation, amount=None, fee=None, **kw):
        """The charge row of a donation paid through Checkout: its metadata names the donation."""
        amount = donation.amount_fen if amount is None else amount
        fee = round(amount * 0.034) if fee is None else fee
        source = {
            "id": f"ch_{donation.public_id}",
            "object": "charge",
            "payment_intent": f"pi_{donation.public_id}",
            "metadata": {"donation_id": donation.public_id},
        }
        return self.add("charge", amount, fee, source=source, **kw)

    def refund(self, donation, amount, **kw):
        source = {
            "id": f"re_{next(_seq)}",
            "object": "refund",
            "charge": f"ch_{donation.public_id}",
            "payment_intent": f"pi_{donation.public_id}",
            "metadata": {},
        }
        return self.add("refund", -amount, 0, source=source, **kw)

    def payout(self, rows, **kw):
        payout_id = f"po_{next(_seq)}"
        self.payouts[payout_id] = [r["id"] for r in rows]
        amount = -sum(r["net"] for r in rows)
        return self.add("payout", amount, 0, source={"id": payout_id, "object": "payout"}, **kw)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
