"""``hubstead serve``'s HTTP server: uvicorn, with the limits it lacks at the connection level.

uvicorn trusts whoever connects: a connection that sends nothing, or sends its headers a byte at a time, stays
open for good; llhttp buffers a header line of any length; and one client may open as many connections as the
process has file descriptors, after which nobody else gets in. ``LimitedHttpProtocol``, uvicorn's httptools
protocol (one instance per connection) with a few more checks, adds:

- a deadline for a request's line and headers, counted from the connection's opening or the request's first byte;
- a deadline for a request body that stops arriving (not counted while the app is not reading it, nor while the
  client waits for our ``100 Continue``);
- caps on the size and the number of header fields (414 for a URL alone past the size, 431 otherwise);
- caps on the connections open from one client address and in all, checked as a connection opens: one past a
  cap is answered 503 and closed at once, and the other clients are served as before.

The keep-alive timeout between requests is uvicorn's own. Bodies are capped by the routes that read them
(``api/limits.py``, ``api/bodies.py``). A request that arrives in one read (nearly all do) costs the checks a few
attribute updates; timers are set only for a new connection's first headers, and for headers or a body that take
more than one read.
"""

from __future__ import annotations

import asyncio
import functools
import http
import ipaddress
import logging
import resource
import time
from typing import Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from hubstead.config import ConnectionSettings

log = logging.getLogger("hubstead.connections")

WARN_EVERY_SECONDS = 60.0
OPEN_FILES_TRIES = (1 << 20, 65536, 10240)  # when the hard limit is "unlimited", which no kernel grants as a soft one


class ConnectionGate:
    """The connections open in one server process, per client and in all; whether one more may open.

    A client is its IP address, an IPv6 client its /64 network (one host's usual allocation: counting single
    addresses there would let one host open as many connections as it has addresses). Addresses listed in
    ``exempt`` (a reverse proxy, which speaks for many clients) count only towards the total."""

    def __init__(self, limits: ConnectionSettings, total: int) -> None:
        self.per_client = limits.per_client
        self.total = total
        self.exempt = tuple(ipaddress.ip_network(item, strict=False) for item in limits.exempt)
        self.open: dict[str, int] = {}
        self.count = 0
        self._warned_at = float("-inf")

    def client_key(self, host: str | None) -> str:
        """What a client is counted by; "" when it is not counted per client (exempt, or not an IP address)."""
        if not host:
            return ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return ""  # a Unix socket's peer: only local processes reach it
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.exempt):
            return ""
        if isinstance(address, ipaddress.IPv6Address):
            return str(ipaddress.IPv6Network((address, 64), strict=False))
        return str(address)

    def enter(self, host: str | None) -> str | None:
        """Count a new connection from ``host``: the key to ``leave`` with, or None if a cap refuses it."""
        if self.count >= self.total:
            self._warn(f"refused a connection from {host}: {self.count} are open (HUBSTEAD_CONNECTIONS__TOTAL)")
            return None
        key = self.client_key(host)
        if key:
            open_now = self.open.get(key, 0)
            if open_now >= self.per_client:
                self._warn(
                    f"refused a connection from {key}: it has {open_now} open (HUBSTEAD_CONNECTIONS__PER_CLIENT; "
                    "a reverse proxy in front of the hub belongs in HUBSTEAD_CONNECTIONS__EXEMPT)"
                )
                return None
            self.open[key] = open_now + 1
        self.count += 1
        return key

    def leave(self, key: str) -> None:
        self.count -= 1
        if key:
            left = self.open[key] - 1
            if left:
                self.open[key] = left
            else:
                del self.open[key]

    def _warn(self, message: str) -> None:
        """Refusals are logged at most once a minute: a client refused ten thousand times writes one line."""
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning(message)


class _HeadersTooLarge(Exception):
    """Raised inside the parser's callbacks to stop it; ``send_400_response`` then answers with the status."""


class LimitedHttpProtocol(HttpToolsProtocol):
    """One connection: uvicorn's httptools protocol with deadlines, header caps and the per-client gate."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        gate: ConnectionGate,
        limits: ConnectionSettings,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.gate = gate
        self.header_timeout = limits.header_timeout_seconds
        self.body_timeout = limits.body_timeout_seconds
        self.max_header_bytes = limits.max_header_bytes
        self.max_headers = limits.max_headers
        self._slot: str | None = None  # the gate's key while this connection is counted
        self._refused = False
        self._headers_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._reading_headers = False  # a request has begun and its headers are not complete
        self._began_in_read = False  # ... and it began in the data being parsed now
        self._receiving_body = False  # its headers are complete and its body is not
        self._last_read = 0.0
        self._read_size = 0
        self._raw_bytes = 0  # bytes of reads that neither began nor completed the headers
        self._refusal: int | None = None

    # --- opening and closing --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        slot = self.gate.enter(self.client[0] if self.client else None)
        if slot is None:
            self._refused = True
            self._answer_and_close(503, "Too many connections from your address; retry later", retry_after=True)
            return
        self._slot = slot
        self._headers_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._slot is not None:
            self.gate.leave(self._slot)
            self._slot = None
        for timer in (self._headers_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._headers_timer = self._body_timer = None
        super().connection_lost(exc)

    # --- reading ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._began_in_read = False
        self._read_size = len(data)
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._reading_headers:
            # headers spread over reads are counted as they come (the parser keeps an unfinished field to itself,
            # however long): the read that began them is not, as it may hold the end of the request before
            if not self._began_in_read:
                self._raw_bytes += len(data)
                if self._raw_bytes > self.max_header_bytes:
                    self._answer_and_close(431, f"Request headers are larger than {self.max_header_bytes} bytes")
                    return
            if self._headers_timer is None:
                self._headers_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)
        elif self._receiving_body:
            self._last_read = self.loop.time()
            if self._body_timer is None:
                self._body_timer = self.loop.call_later(self.body_timeout, self._body_stalled)
        elif self._headers_timer is None and self.timeout_keep_alive_task is None and self._between_requests():
            # bytes that begin no request (blank lines) stopped the keep-alive timer: nothing else would end it
            self._headers_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def _between_requests(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_headers = self._began_in_read = True
        self._raw_bytes = 0

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None
        # headers that began and ended in one read of at most the cap are within it (nearly every request): the
        # fields are added up only otherwise, and the parser never held more than the cap and two reads of them
        if (
            not (self._began_in_read and self._read_size <= self.max_header_bytes)
            or len(self.headers) > self.max_headers
        ):
            self._check_header_size()
        self._receiving_body = True
        super().on_headers_complete()

    def _check_header_size(self) -> None:
        if len(self.url) > self.max_header_bytes:
            self._refusal = 414
        elif len(self.headers) > self.max_headers or self._field_bytes() > self.max_header_bytes:
            self._refusal = 431
        if self._refusal is not None:
            raise _HeadersTooLarge  # stops the parser; uvicorn then calls send_400_response

    def _field_bytes(self) -> int:
        return len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)

    def on_message_complete(self) -> None:
        self._receiving_body = False
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None
        super().on_message_complete()

    def _unsupported_upgrade_warning(self) -> None:
        """The hub serves no WebSockets: an upgrade request is answered as a plain one, on a connection closed
        after it (the parser reads nothing past an upgrade), and logs nothing (any client could fill the log)."""
        if self.cycle is not None:
            self.cycle.keep_alive = False

    # --- deadlines ----------------------------------------------------------------------------

    def _headers_timed_out(self) -> None:
        self._headers_timer = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # we are not reading (a pipelined request ahead is being answered): wait
            self._headers_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)
            return
        self.transport.close()

    def _body_stalled(self) -> None:
        self._body_timer = None
        if not self._receiving_body or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused or (self.cycle is not None and self.cycle.waiting_for_100_continue):
            self._last_read = now  # the app is not reading, or the client waits for our go-ahead: not its delay
        idle = now - self._last_read
        if idle >= self.body_timeout:
            self.transport.close()  # the app's next receive() gets http.disconnect
            return
        self._body_timer = self.loop.call_later(self.body_timeout - idle, self._body_stalled)

    # --- refusals -----------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """The parser stopped: on a malformed request as uvicorn does, on a header cap with its own status."""
        if self._refusal == 414:
            self._answer_and_close(414, f"The URL is longer than {self.max_header_bytes} bytes")
        elif self._refusal == 431:
            self._answer_and_close(
                431, f"Request headers exceed {self.max_header_bytes} bytes or {self.max_headers} fields"
            )
        else:
            super().send_400_response(msg)

    def _answer_and_close(self, status: int, message: str, *, retry_after: bool = False) -> None:
        body = message.encode("ascii")
        lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode()]
        lines += [name + b": " + value for name, value in self.server_state.default_headers]
        lines += [
            b"content-type: text/plain; charset=utf-8",
            b"content-length: " + str(len(body)).encode(),
            b"x-error-message: " + body,
            b"connection: close",
        ]
        if retry_after:
            lines.append(b"retry-after: 1")
        self.transport.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        self.transport.close()


def connection_ceiling(total: int) -> int:
    """``total``, or 3/4 of the open-files limit if that is less: a quarter is left for what a process opens
    besides its connections (files, the database, git packs, spooled bodies)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return total
    return max(1, min(total, soft * 3 // 4))


def raise_open_files_limit() -> int:
    """Raise this process's soft limit on open files to its hard limit (server processes started later inherit
    it): the usual soft limit, 1024, is what a few hundred idle clients used up. Returns the limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    tries = (hard,) if hard != resource.RLIM_INFINITY else OPEN_FILES_TRIES
    for limit in tries:
        if limit <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
        except (ValueError, OSError):
            continue
        return limit
    return soft


def server_options(limits: ConnectionSettings) -> dict[str, Any]:
    """The options of ``uvicorn.run`` / ``uvicorn.Config`` that put these limits in place. The protocol is a
    partial of a module-level class, so that ``--workers`` can hand it to the processes it starts (each one
    counts its own connections)."""
    gate = ConnectionGate(limits, connection_ceiling(limits.total))
    protocol = functools.partial(LimitedHttpProtocol, gate=gate, limits=limits)
    return {
        "http": cast("type[asyncio.Protocol]", protocol),
        "ws": "none",  # no route speaks WebSocket; an upgraded connection would leave the gate's count
        "timeout_keep_alive": limits.keep_alive_seconds,
    }
