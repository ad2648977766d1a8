"""A lean HTTP/1.1 load client for the benchmarks: keep-alive connections sending bytes built once,
so the client's own work (JSON encoding, a full HTTP library) does not eat the 2 cores it shares
with the server."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import h11


@dataclass(frozen=True)
class Request:
    """One request, its body encoded once."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def post(cls, path: str, payload: object, *headers: tuple[str, str]) -> Request:
        return cls("POST", path, json.dumps(payload).encode(), headers)


@dataclass(frozen=True)
class Timing:
    """Milliseconds per request, and requests per second over the run."""

    latencies: list[float]
    rate: float

    def quantile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Connection:
    """One keep-alive connection to host:port."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self.reader, self.writer, self.host = reader, writer, host
        self.state = h11.Connection(h11.CLIENT)

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer, f"{host}:{port}")

    async def send(self, request: Request) -> tuple[int, bytes]:
        """The reply's status and body."""
        headers = [("host", self.host), ("content-length", str(len(request.body)))]
        headers += [("content-type", "application/json"), *request.headers]
        wire = self.state.send(h11.Request(method=request.method, target=request.path,
                                           headers=headers))  # fmt: skip
        wire += self.state.send(h11.Data(data=request.body)) or b""
        wire += self.state.send(h11.EndOfMessage()) or b""
        self.writer.write(wire)
        status, body = 0, bytearray()
        while True:
            event = self.state.next_event()
            if event is h11.NEED_DATA:
                self.state.receive_data(await self.reader.read(1 << 16))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                self.state.start_next_cycle()
                return status, bytes(body)
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionError("the server closed the connection")

    def close(self) -> None:
        self.writer.close()


async def _run(host: str, port: int, request: Request, clients: int, each: int) -> Timing:
    connections = [await Connection.open(host, port) for _ in range(clients)]
    latencies: list[float] = []

    async def client(connection: Connection) -> None:
        for _ in range(each):
            started = time.perf_counter()
            status, body = await connection.send(request)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise SystemExit(f"{request.method} {request.path}: {status} {body[:200]!r}")

    started = time.perf_counter()
    await asyncio.gather(*(client(connection) for connection in connections))
    elapsed = time.perf_counter() - started
    for connection in connections:
        connection.close()
    return Timing(latencies, clients * each / elapsed)


def load(host: str, port: int, request: Request, clients: int = 1, total: int = 200) -> Timing:
    """`total` requests from `clients` concurrent keep-alive connections (after a warm-up)."""
    asyncio.run(_run(host, port, request, clients, max(1, 20 // clients)))
    return asyncio.run(_run(host, port, request, clients, max(1, total // clients)))


def reply(host: str, port: int, request: Request) -> object:
    """One reply, parsed."""

    async def once() -> bytes:
        connection = await Connection.open(host, port)
        try:
            return (await connection.send(request))[1]
        finally:
            connection.close()

    return json.loads(asyncio.run(once()))
