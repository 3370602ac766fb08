"""Connection limits over raw sockets: idle connections close, headers and connections are bounded.

Each test serves with a short `keep_alive_seconds` and waits for the server to close a connection;
the only bound on time is a generous socket timeout, which fails the test if nothing happens.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import closing, contextmanager

import pytest

from eventschema_tools.sandbox import FaultConfig, RunningSandbox, run_sandbox

GENEROUS_SECONDS = 30.0
REQUEST = b"GET /_sandbox/stats HTTP/1.1\r\nHost: sandbox\r\n\r\n"


@pytest.fixture(scope="module")
def short_keep_alive() -> Iterator[RunningSandbox]:
    with run_sandbox(keep_alive_seconds=1, rate_limiting=False) as running:
        yield running


@contextmanager
def connect(running: RunningSandbox) -> Iterator[socket.socket]:
    host, port = running.url.removeprefix("http://").rsplit(":", 1)
    with closing(socket.create_connection((host, int(port)), timeout=GENEROUS_SECONDS)) as sock:
        yield sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response with a Content-Length: status, lower-cased headers, body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a full response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in header_lines)
    }
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed in the middle of a body"
        body += chunk
    return int(status_line.split()[1]), headers, body[:length]


def wait_for_close(sock: socket.socket) -> bytes:
    """Everything the server still sends until it closes the connection (a timeout fails)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_an_idle_keep_alive_connection_is_closed_after_the_timeout(
    short_keep_alive: RunningSandbox,
):
    with connect(short_keep_alive) as sock:
        sock.sendall(REQUEST)
        first, _, _ = read_response(sock)
        sock.sendall(REQUEST)
        second, _, _ = read_response(sock)

        assert (first, second) == (200, 200)
        assert wait_for_close(sock) == b""


def test_a_connection_that_never_sends_a_request_is_closed(short_keep_alive: RunningSandbox):
    with connect(short_keep_alive) as sock:
        assert wait_for_close(sock) == b""


def test_a_request_whose_headers_never_finish_is_closed(short_keep_alive: RunningSandbox):
    with connect(short_keep_alive) as sock:
        sock.sendall(b"GET /_sandbox/stats HTTP/1.1\r\nHost: sandbox\r\n")
        assert wait_for_close(sock) == b""


def test_trickled_headers_do_not_keep_a_connection_open(short_keep_alive: RunningSandbox):
    with connect(short_keep_alive) as sock:
        sock.sendall(b"GET /_sandbox/stats HTTP/1.1\r\n")
        # One header line at a time, each sooner than the timeout, never the blank line.
        sock.settimeout(0.5)
        closed = False
        for index in range(int(GENEROUS_SECONDS / 0.5)):
            try:
                sock.sendall(f"X-Trickle-{index}: x\r\n".encode())
                closed = sock.recv(65536) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
            if closed:
                break

        assert closed


def test_a_slow_request_is_not_cut_off_by_the_timeout():
    with (
        run_sandbox(keep_alive_seconds=1, faults=FaultConfig(latency=2.5)) as running,
        connect(running) as sock,
    ):
        sock.sendall(b"GET /api/projects/1/ HTTP/1.1\r\nHost: sandbox\r\n\r\n")
        status, _, _ = read_response(sock)

    assert status == 401


def test_headers_growing_past_the_limit_get_a_400_and_the_connection_closes():
    with run_sandbox(max_header_bytes=4096) as running, connect(running) as sock:
        # Never finished: the server has to hold what came so far, and stops at the limit.
        sock.sendall(b"GET /_sandbox/stats HTTP/1.1\r\nHost: sandbox\r\nX-Big: " + b"x" * 8192)
        status, _, _ = read_response(sock)

        assert status == 400
        assert wait_for_close(sock) == b""


def test_a_request_beyond_max_connections_gets_a_503():
    with (
        run_sandbox(max_connections=2, keep_alive_seconds=60) as running,
        connect(running) as first,
        connect(running) as second,
    ):
        served = []
        for sock in (first, second):
            sock.sendall(REQUEST)
            served.append(read_response(sock)[0])
        # Opened only now: the two above are idle but still open.
        with connect(running) as third:
            third.sendall(REQUEST)
            refused, _, _ = read_response(third)

    assert served == [200, 200]
    assert refused == 503
