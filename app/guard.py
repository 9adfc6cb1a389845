"""The request guard: the caller is known and the body bounded before any of it is parsed.

A pure ASGI middleware, so that it sees the request before FastAPI reads the body: a declared
Content-Length above the limit is refused at once, a streamed (chunked) body is cut off as soon
as it passes the limit, a sender that stalls mid-body is cut off after a timeout, and a route
that needs a signed-in caller refuses a missing or unknown bearer token before reading a byte.
"""

import asyncio
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accounts.dependencies import SCOPE_USER, current_auditor, current_caller, current_user, look_up

# Said before any body is read: people sign in, programs send their bearer token.
SIGN_IN_FIRST = "请先登录（程序请在请求头中携带 Authorization: Bearer <令牌>）"


class BodyRefused(HTTPException):
    """The body passed the limit, or stopped arriving; raised from `receive` mid-read."""

    def __init__(self, status_code: int, code: str, detail: str) -> None:
        super().__init__(status_code=status_code, detail=detail, headers={"Connection": "close"})
        self.code = code


def too_large(limit: int) -> BodyRefused:
    """The 413 for a body above `limit` bytes."""
    return BodyRefused(413, "payload_too_large", f"请求体超过上限 {limit} 字节")


def too_slow(seconds: float) -> BodyRefused:
    """The 408 for a body that stopped arriving."""
    return BodyRefused(408, "request_timeout", f"请求体在 {seconds:g} 秒内未送达")


def dependants(dependant: Dependant) -> Iterator[Dependant]:
    """A route's dependant and every dependency under it."""
    yield dependant
    for dependency in dependant.dependencies:
        yield from dependants(dependency)


def needs_caller(route: Any) -> bool:
    """Whether a route depends on the signed-in caller (directly or through a role check)."""
    if not isinstance(route, APIRoute):
        return False
    callers = (current_user, current_caller, current_auditor)
    return any(dep.call in callers for dep in dependants(route.dependant))


def _bearer(scope: Scope) -> tuple[str | None, bool]:
    """The bearer token of the request, and whether it carries a console session cookie."""
    token, other = None, False
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credentials.strip():
                token = credentials.strip()
        elif name == b"cookie":
            other = True  # a console session: the route's own dependency decides
    return token, other


class RequestGuard:
    """Authenticate before the body, bound the body while it is read."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_timeout_seconds: float,
        routes: Callable[[], Iterable[RouteContext]],
        engine: Callable[[], Engine],
    ) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.timeout = body_timeout_seconds
        self.routes = routes
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await _refuse(send, too_large(self.max_body))
            return
        refusal = await self._authenticate(scope)
        if refusal is not None:
            await _refuse(send, refusal)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, self._bounded(receive), watched_send)
        except BodyRefused as exc:  # read outside FastAPI's handlers, e.g. by a plain route
            if started:
                raise
            await _refuse(send, exc)

    async def _authenticate(self, scope: Scope) -> BodyRefused | None:
        route = next((r.route for r in self.routes() if r.matches(scope)[0] == Match.FULL), None)
        if route is None or not needs_caller(route):
            return None
        scope["route"] = route  # so that a refusal is counted under its route
        token, other = _bearer(scope)
        if token is None:
            if other:
                return None
            return BodyRefused(401, "not_authenticated", SIGN_IN_FIRST)
        # Looked up on every request (one indexed query), never cached: a revoked token or a
        # deactivated user is refused at once in every worker. The route reuses the answer.
        user = await run_in_threadpool(look_up, self.engine(), token)
        if user is None:
            return BodyRefused(401, "not_authenticated", "令牌无效、已过期或已吊销")
        scope[SCOPE_USER] = user
        return None

    def _bounded(self, receive: Receive) -> Receive:
        received, complete = 0, False

        async def bounded() -> Message:
            nonlocal received, complete
            if complete:  # after the body only a disconnect can come: wait as long as it takes
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), timeout=self.timeout)
            except TimeoutError:
                raise too_slow(self.timeout) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise too_large(self.max_body)
                complete = not message.get("more_body", False)
            return message

        return bounded


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length" and value.isdigit():
            return int(value)
    return None


async def _refuse(send: Send, refusal: BodyRefused) -> None:
    body = json.dumps({"detail": refusal.detail, "code": refusal.code}, ensure_ascii=False).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    if refusal.status_code == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": refusal.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})
