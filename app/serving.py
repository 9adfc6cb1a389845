"""How `qisu serve` runs uvicorn: timeouts and limits against slow and greedy clients.

uvicorn closes an idle kept-alive connection after `timeout_keep_alive`, bounds a request's
head with `h11_max_incomplete_event_size` and answers 503 above `limit_concurrency`, but it
waits for a request head for ever; `HeadTimeoutProtocol` closes a connection whose head has
not arrived within the header timeout. A body that stalls is the request guard's (408).
"""

import asyncio
from functools import partial
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from core.config import Settings


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections that do not send a request head in time."""

    def __init__(self, *args: Any, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.head_timeout = head_timeout
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start waiting for the first request head."""
        super().connection_made(transport)
        self._watch_head()

    def data_received(self, data: bytes) -> None:
        """Feed h11, then wait for a head only while none is being served."""
        super().data_received(data)
        self._watch_head()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the timer with the connection."""
        self._stop_watching()
        super().connection_lost(exc)

    def _awaiting_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _watch_head(self) -> None:
        if not self._awaiting_head():
            self._stop_watching()
        elif self.head_timer is None:
            self.head_timer = self.loop.call_later(self.head_timeout, self._head_overdue)

    def _stop_watching(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_overdue(self) -> None:
        self.head_timer = None
        if self._awaiting_head() and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.run's keyword arguments for these settings."""
    return {
        "http": partial(HeadTimeoutProtocol, head_timeout=settings.header_timeout_seconds),
        "timeout_keep_alive": settings.keep_alive_seconds,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "limit_concurrency": settings.max_concurrency,
        "timeout_graceful_shutdown": 10,
    }
