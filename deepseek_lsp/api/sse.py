"""Server-sent events, reduced to what DeepSeek streams need.

DeepSeek streams are `data: {json}` events separated by blank lines and ended by
`data: [DONE]`; while the model is queued the server sends `: keep-alive` comment lines.
The parser is pure (feed it lines, get events) so it can be tested without a network; the
`iter_events` wrapper drives it from `httpx.Response.aiter_lines()`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass

DONE = "[DONE]"


@dataclass(frozen=True)
class SSEEvent:
    """One dispatched event: its joined `data` lines and its `event` name, if any."""

    data: str
    event: str | None = None

    @property
    def is_done(self) -> bool:
        return self.data.strip() == DONE


class SSEParser:
    """Incremental SSE parser: `feed` one line (without its line break) at a time.

    Follows the WHATWG rules that matter here: `:` lines are comments, several `data:` lines
    form one event joined by newlines, a blank line dispatches the event, unknown fields are
    ignored. Unlike a browser it also dispatches a pending event at end of stream, because
    some servers end with `data: [DONE]` and no final blank line.
    """

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None

    def feed(self, line: str) -> SSEEvent | None:
        """Take one line; return the event it completes, if any."""
        line = line.rstrip("\r\n")
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None

    def flush(self) -> SSEEvent | None:
        """End of stream: return the event still pending, if any."""
        return self._dispatch()

    def _dispatch(self) -> SSEEvent | None:
        if not self._data:
            self._event = None
            return None
        event = SSEEvent("\n".join(self._data), self._event)
        self._data = []
        self._event = None
        return event


async def iter_events(lines: AsyncIterable[str]) -> AsyncGenerator[SSEEvent, None]:
    """Turn an async iterable of lines into SSE events (comments and blank lines skipped)."""
    parser = SSEParser()
    async for line in lines:
        event = parser.feed(line)
        if event is not None:
            yield event
    event = parser.flush()
    if event is not None:
        yield event
