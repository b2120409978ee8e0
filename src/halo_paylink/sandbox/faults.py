"""Faults the sandbox can inject into its answers, for tests of the client's error handling.

A test adds a `Fault` describing which requests it hits (method, path prefix, after how many
matching requests, how many times) and what happens to them (an HTTP status, a malformed JSON
body, a delay, a dropped connection, a body sent one byte at a time, a body that never ends, an
error that echoes the caller's bearer token, or a redirect). The server thread asks
`FaultInjector.take()` once per request, and `faulty_answer()` what the fault it got makes of
the answer; every method is thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from halo_paylink.sandbox.http import Request, Response, json_response, text_response

#: What an endless body repeats: a JSON list that never closes.
ENDLESS_CHUNK = b'{"id":1,"total":1},' * 3000
#: A JSON body cut off half-way.
MALFORMED_BODY = b'{"page_no":1,"page_size":50,"record_count":3,"invoices":[{"id":1,"tot'


@dataclass
class Fault:
    """One injected misbehaviour.

    Attributes:
        status: answer with this HTTP status (and a short text body) instead of the real answer.
        malformed: answer 200 with a JSON body cut off half-way.
        delay: wait this many seconds before answering (combined with the other effects, or alone
            before the normal answer).
        drop: close the connection without sending any response.
        trickle: send the normal answer's headers at once, then its body one byte every `trickle`
            seconds (a server that keeps a connection alive without ever finishing).
        endless: answer 200 with a JSON-looking body (chunked, no Content-Length) that never ends;
            the server writes until the client hangs up or the sandbox stops.
        echo_token: answer `status` (500 when not given) with an ASP.NET-style error body that
            quotes the request's bearer token verbatim, as a careless error handler would.
        redirect: answer `status` (302 when not given) with this `Location`, on any method.
        method: only requests with this method (case-insensitive); None = any.
        path: only requests whose path starts with this (case-insensitive); None = any.
        times: fire this many times, then retire; None = forever.
        after: let this many matching requests through untouched first.
        fired: how many times this fault has fired so far.
    """

    status: int | None = None
    malformed: bool = False
    delay: float = 0.0
    drop: bool = False
    trickle: float = 0.0
    endless: bool = False
    echo_token: bool = False
    redirect: str | None = None
    method: str | None = None
    path: str | None = None
    times: int | None = 1
    after: int = 0
    fired: int = 0
    _seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or path.lower().startswith(self.path.lower())

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


class FaultInjector:
    """A thread-safe list of pending faults; the first live match wins."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(
        self,
        *,
        status: int | None = None,
        malformed: bool = False,
        delay: float = 0.0,
        drop: bool = False,
        trickle: float = 0.0,
        endless: bool = False,
        echo_token: bool = False,
        redirect: str | None = None,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> Fault:
        """Queue a fault (see `Fault` for the fields) and return it, so a test can read `fired`."""
        does_nothing = (
            status is None,
            not malformed,
            not drop,
            delay <= 0,
            trickle <= 0,
            not endless,
            not echo_token,
            redirect is None,
        )
        if all(does_nothing):
            raise ValueError(
                "a fault needs status=, malformed=True, drop=True, delay=, trickle=, "
                "endless=True, echo_token=True or redirect="
            )
        if trickle < 0:
            raise ValueError("trickle must not be negative")
        if status is not None and redirect is not None and not 300 <= status < 400:
            raise ValueError("a redirect needs a 3xx status")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1 (or None for every matching request)")
        if after < 0 or delay < 0:
            raise ValueError("after and delay must not be negative")
        fault = Fault(
            status=status,
            malformed=malformed,
            delay=delay,
            drop=drop,
            trickle=trickle,
            endless=endless,
            echo_token=echo_token,
            redirect=redirect,
            method=method,
            path=path,
            times=times,
            after=after,
        )
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """The faults that can still fire (a copy of the list; the Fault objects are live)."""
        with self._lock:
            return [f for f in self._faults if not f.exhausted]

    def take(self, method: str, path: str) -> Fault | None:
        """Called by the server once per request: the fault to apply to it, if any.

        Every live fault that matches counts the request (so `after=` counts matching requests
        only); the first one past its `after` fires.
        """
        with self._lock:
            chosen: Fault | None = None
            for fault in self._faults:
                if fault.exhausted or not fault.matches(method, path):
                    continue
                fault._seen += 1
                if chosen is None and fault._seen > fault.after:
                    fault.fired += 1
                    chosen = fault
            self._faults = [f for f in self._faults if not f.exhausted]
            return chosen


def faulty_answer(
    fault: Fault, request: Request, stopping: threading.Event
) -> Response | Literal[True] | None:
    """What `fault` makes of the answer to `request`: the faulty answer, None to drop the
    connection unanswered, or True to answer normally after all (a pure delay, or a trickled
    answer: `request.trickle` is set). A delay is cut short, and the connection dropped, when
    `stopping` is set."""
    if fault.delay > 0 and stopping.wait(fault.delay):
        return None
    if fault.drop:
        return None
    if fault.trickle > 0:
        request.trickle = fault.trickle
    if fault.endless:
        return Response(200, ENDLESS_CHUNK, "application/json; charset=utf-8", endless=True)
    if fault.echo_token:
        return json_response(
            fault.status or 500,
            {
                "ClassName": "System.UnauthorizedAccessException",
                "Message": f"An error has occurred. The access token {request.bearer_token or ''} "
                "could not be validated for this request.",
            },
        )
    if fault.redirect is not None:
        return text_response(fault.status or 302, "Object moved", {"Location": fault.redirect})
    if fault.status is not None:
        return text_response(fault.status, f"Injected fault: HTTP {fault.status}")
    if fault.malformed:
        return Response(200, MALFORMED_BODY, "application/json; charset=utf-8")
    return True
