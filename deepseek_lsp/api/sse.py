"""Server-sent events, reduced to what DeepSeek streams need.

DeepSeek streams are `data: {json}` events separated by blank lines and ended by
`data: [DONE]`; while the model is queued the server sends `: keep-alive` comment lines.
The parser is pure (feed it lines, get events) so it can be tested without a network;
`iter_lines` splits the response's bytes into lines of bounded length (httpx's `aiter_lines`
buffers a line without end, so one endless `data:` line would take all memory), and
`iter_events` drives the parser from those lines.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterable
from dataclasses import dataclass

DONE = "[DONE]"
_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


class LineTooLongError(ValueError):
    """A line went past the caller's limit before its line break arrived."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"an SSE line went past {limit:,} bytes without a line break")


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


async def iter_lines(chunks: AsyncIterable[bytes], max_line_bytes: int
                     ) -> AsyncGenerator[str, None]:
    """The lines of a byte stream (broken at CRLF, LF or CR, as SSE allows), UTF-8 decoded.

    Raises `LineTooLongError` as soon as the line being assembled passes `max_line_bytes`,
    so memory stays within that bound plus one chunk whatever the server sends. Line breaks
    are ASCII, so splitting bytes never cuts a UTF-8 character.
    """
    pending = bytearray()
    after_cr = False  # the previous chunk ended with CR: a LF starting this one belongs to it
    async for chunk in chunks:
        if not chunk:
            continue
        if after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        start = 0
        for brk in _LINE_BREAK.finditer(chunk):
            if len(pending) + brk.start() - start > max_line_bytes:
                raise LineTooLongError(max_line_bytes)
            pending += chunk[start:brk.start()]
            yield pending.decode("utf-8", "replace")
            pending.clear()
            start = brk.end()
        after_cr = chunk.endswith(b"\r")
        if len(pending) + len(chunk) - start > max_line_bytes:
            raise LineTooLongError(max_line_bytes)
        pending += chunk[start:]
    if pending:
        yield pending.decode("utf-8", "replace")


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
