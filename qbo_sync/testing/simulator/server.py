"""The simulator over real HTTP: a ``ThreadingHTTPServer`` in front of ``sim.handle``.

Injected network faults behave as on the wire: a dropped response closes the socket
without a byte of answer; a timeout holds the socket for the rule's ``hang`` seconds
and then closes it (a client with a shorter read timeout sees a read timeout).
State persistence (``Simulator(state_file=...)``) happens inside the simulator.
"""

from __future__ import annotations

import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .faults import SimulatedDrop, SimulatedTimeout
from .wire import SimRequest

logger = logging.getLogger("qbo_sync.simulator.server")


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Any) -> None:
        self.sim = sim
        super().__init__(address, SimulatorHandler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class SimulatorHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real API gateway offers
    # Headers and body go out in two writes; without TCP_NODELAY a kept-alive connection
    # waits ~40 ms per response for the client's delayed ACK.
    disable_nagle_algorithm = True
    server: SimulatorServer
    server_version = "qbo-simulator"

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        req = SimRequest.build(self.command, parts.path or "/", parts.query,
                               dict(self.headers.items()), self._read_body())
        try:
            answer = self.server.sim.handle(req)
        except SimulatedTimeout as exc:
            time.sleep(max(exc.rule.hang, 0))
            self.close_connection = True
            return
        except SimulatedDrop:
            self.close_connection = True
            return
        self.send_response(answer.status)
        headers = {k.lower(): (k, v) for k, v in answer.headers.items()}
        for name, value in headers.values():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()  # the blank line after the last chunk
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


def make_server(sim: Any, host: str = "127.0.0.1", port: int = 8765) -> SimulatorServer:
    """A server bound to (host, port); ``port=0`` picks a free one. Sets ``sim.base_url``."""
    server = SimulatorServer((host, port), sim)
    sim.base_url = server.base_url
    return server


def serve_in_thread(sim: Any, host: str = "127.0.0.1",
                    port: int = 0) -> tuple[SimulatorServer, str]:
    """Start serving ``sim`` in a daemon thread; returns (server, base_url).
    Stop it with ``server.shutdown(); server.server_close()``."""
    server = make_server(sim, host, port)
    thread = threading.Thread(target=server.serve_forever, name="qbo-simulator",
                              kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    return server, server.base_url
