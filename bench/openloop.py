"""An open-loop load generator for POST /api/v1/wishes/<id>/claim: one process of several.

Attempts go out at fixed times, start + slot / rate, whatever the answers before them took:
slot k of a plan belongs to process k % procs. A latency runs from the slot's scheduled time
to the end of its answer, so time spent queued behind a slow answer, or waiting for a free
connection, is counted rather than omitted (no coordinated omission).

Each process runs one asyncio loop: a dispatcher that wakes at every scheduled time and puts
the attempt on a queue, and keep-alive connections that take attempts off it. A connection
is added whenever an attempt finds none idle, up to --max-connections.

    python bench/openloop.py --port P --plan PLAN --rate R --duration S --start T --proc K --procs N

PLAN has one attempt a line, in slot order: the wish's public id and the attempt's kind
(win, race or taken). T is a time.monotonic() reading (one clock for every process on
Linux). The process prints one JSON object: per-attempt latencies in ms by kind, answers by
status, the wishes that answered 201, how late the dispatcher was, and its own CPU time.
"""

import argparse
import asyncio
import contextlib
import json
import os
import time

HOST = "127.0.0.1"


class Result:
    def __init__(self):
        self.latency_ms: dict[str, list[float]] = {}
        self.statuses: dict[str, dict[str, int]] = {}
        self.won: dict[str, int] = {}
        self.errors: dict[str, int] = {"connect": 0, "read": 0, "timeout": 0, "reconnect": 0}
        self.dispatch_lag_ms: list[float] = []
        self.sent = 0
        self.answered = 0
        self.last_answer = 0.0

    def record(self, kind: str, status: int, wish: str, started: float, ended: float) -> None:
        self.latency_ms.setdefault(kind, []).append(round((ended - started) * 1000, 3))
        by_status = self.statuses.setdefault(kind, {})
        by_status[str(status)] = by_status.get(str(status), 0) + 1
        if status == 201:
            self.won[wish] = self.won.get(wish, 0) + 1
        self.answered += 1
        self.last_answer = max(self.last_answer, ended)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status of one HTTP/1.1 answer, and whether the server closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection":
            close = value.strip().lower() == "close"
    if length:
        await reader.readexactly(length)
    return status, close


def request_bytes(port: int, wish: str, slot: int) -> bytes:
    body = json.dumps({"name": f"bench-{slot}", "contact": "13800001234"}).encode()
    head = (
        f"POST /api/v1/wishes/{wish}/claim HTTP/1.1\r\n"
        f"Host: {HOST}:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


class Connection:
    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None
        #: answers read on the connection now open
        self.answers = 0

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        self.answers = 0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, data: bytes) -> int:
        """Send one request and read its answer. Raises Reopen when the server had closed a
        kept-alive connection while it sat idle: nothing came back, so the request was not taken."""
        if self.writer is None:
            try:
                await self.open()
            except OSError as exc:
                raise ConnectError() from exc
        reused = self.answers > 0
        try:
            self.writer.write(data)
            await self.writer.drain()
            status, close = await read_response(self.reader)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            self.close()
            if reused and not getattr(exc, "partial", b""):
                raise Reopen() from None
            raise
        self.answers += 1
        if close:
            self.close()
        return status


class Reopen(Exception):
    pass


class ConnectError(Exception):
    pass


async def worker(conn: Connection, queue: asyncio.Queue, result: Result, timeout: float, idle: list) -> None:
    if conn.writer is None:
        # Opened before the first attempt is due, where there is time for it.
        with contextlib.suppress(OSError):
            await conn.open()
    while True:
        item = await queue.get()
        if item is None:
            conn.close()
            return
        idle[0] -= 1
        slot, wish, kind, scheduled, data = item
        try:
            try:
                status = await asyncio.wait_for(conn.exchange(data), timeout)
            except Reopen:
                result.errors["reconnect"] += 1
                status = await asyncio.wait_for(conn.exchange(data), timeout)
            result.record(kind, status, wish, scheduled, time.monotonic())
        except TimeoutError:
            result.errors["timeout"] += 1
            conn.close()
        except ConnectError:
            result.errors["connect"] += 1
        except (OSError, asyncio.IncompleteReadError, Reopen, ValueError, IndexError):
            result.errors["read"] += 1
            conn.close()
        idle[0] += 1


async def run(args) -> dict:
    plan = []
    with open(args.plan) as f:
        for slot, line in enumerate(f):
            if slot % args.procs == args.proc:
                wish, kind = line.split()
                plan.append((slot, wish, kind))
    result = Result()
    queue: asyncio.Queue = asyncio.Queue()
    workers: list[asyncio.Task] = []
    idle = [0]

    def add_connection() -> None:
        idle[0] += 1
        workers.append(asyncio.create_task(worker(Connection(args.port), queue, result, args.timeout, idle)))

    for _ in range(args.connections):
        add_connection()
    cpu_start = os.times()
    interval = 1.0 / args.rate
    deadline = args.start + args.duration
    for slot, wish, kind in plan:
        scheduled = args.start + slot * interval
        if scheduled >= deadline:
            break
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        result.dispatch_lag_ms.append(round((time.monotonic() - scheduled) * 1000, 3))
        if idle[0] - queue.qsize() <= 0 and len(workers) < args.max_connections:
            add_connection()
        queue.put_nowait((slot, wish, kind, scheduled, request_bytes(args.port, wish, slot)))
        result.sent += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.wait(workers, timeout=args.timeout + 5)
    cpu_end = os.times()
    return {
        "proc": args.proc,
        "sent": result.sent,
        "answered": result.answered,
        "last_answer": result.last_answer,
        "connections": len(workers),
        "latency_ms": result.latency_ms,
        "statuses": result.statuses,
        "won": result.won,
        "errors": result.errors,
        "dispatch_lag_ms": result.dispatch_lag_ms,
        "cpu_s": round(
            (cpu_end.user - cpu_start.user) + (cpu_end.system - cpu_start.system),
            3,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--rate", type=float, required=True, help="attempts per second, all processes together")
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--start", type=float, required=True, help="time.monotonic() of slot 0")
    parser.add_argument("--proc", type=int, default=0)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--connections", type=int, default=8, help="connections opened before the start")
    parser.add_argument("--max-connections", type=int, default=256)
    parser.add_argument("--timeout", type=float, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
