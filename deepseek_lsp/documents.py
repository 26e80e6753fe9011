"""Open documents: text kept up to date with incremental edits, and exact position conversion.

pygls's own store re-splits and re-joins the whole text on every change, which costs
milliseconds per keystroke on a 1 MB file. Here a document keeps its text as one `str` plus a
table of line starts; an edit splices the text and, while the user types on one line, shifts
the later line starts lazily (one pending shift), so a keystroke costs microseconds. The table
is an `array` of 8-byte integers, built a slice of text at a time: a list of Python ints (and
the list of lines `split` makes) cost about 20 times as much, over 1 GB for 50 MB of short
lines.

Positions: LSP positions count characters in the negotiated encoding (UTF-16 code units by
default, UTF-8 bytes or UTF-32 code points when negotiated); internally everything is a Python
`str` index (code points). Conversion looks only at the one line involved.
"""

from __future__ import annotations

import itertools
import re
from array import array
from dataclasses import dataclass

UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"

_NEWLINE = re.compile(r"\r\n|\r|\n")


class InvalidPositionError(ValueError):
    """A position that is not inside the document (line past the end, negative numbers)."""


def _units(ch: str, encoding: str) -> int:
    cp = ord(ch)
    if encoding == UTF16:
        return 2 if cp > 0xFFFF else 1
    if encoding == UTF8:
        return 1 if cp < 0x80 else 2 if cp < 0x800 else 3 if cp < 0x10000 else 4
    return 1


def column_to_index(line: str, character: int, encoding: str) -> int:
    """Code-point index in `line` of an LSP character offset (clamped to the line's length).

    A character offset that falls inside a surrogate pair or a UTF-8 sequence rounds down to
    the start of that code point.
    """
    if encoding == UTF32 or line.isascii():
        return min(character, len(line))
    units = 0
    for i, ch in enumerate(line):
        units += _units(ch, encoding)
        if units > character:
            return i
    return len(line)


def index_to_column(line: str, index: int, encoding: str) -> int:
    """LSP character offset of the code point at `index` in `line`."""
    head = line[:index]
    if encoding == UTF32 or head.isascii():
        return len(head)
    if encoding == UTF16:
        return len(head.encode("utf-16-le")) // 2
    return len(head.encode("utf-8"))


#: Characters of text split at a time while building the line table, and line starts shifted
#: at a time (bounds the temporary copies).
_SLICE = 1 << 16


def _line_starts(text: str) -> array[int]:
    starts = array("q", [0])
    if "\r" in text:  # CRLF pairs may straddle a slice: one pass of the regex
        starts.extend(m.end() for m in _NEWLINE.finditer(text))
        return starts
    for at in range(0, len(text), _SLICE):  # the common case, ~2.5x faster than the regex
        lines = text[at : at + _SLICE].split("\n")
        ends = itertools.accumulate((len(line) + 1 for line in lines[:-1]), initial=at)
        starts.extend(itertools.islice(ends, 1, None))
    return starts


@dataclass
class Document:
    """One open document. `text` is the truth; line starts are derived and kept in step."""

    uri: str
    language_id: str
    version: int
    text: str

    def __post_init__(self) -> None:
        self._starts = _line_starts(self.text)
        self._shift_line = -1  # lines after this one are shifted by _shift (lazy edit)
        self._shift = 0

    # -- line table -------------------------------------------------------------------------

    def _flush(self) -> None:
        if self._shift:
            k = self._shift_line + 1
            add, starts = self._shift.__add__, self._starts
            for at in range(k, len(starts), _SLICE):  # a slice at a time: no copy of it all
                starts[at : at + _SLICE] = array("q", map(add, starts[at : at + _SLICE]))
        self._shift_line, self._shift = -1, 0

    def line_count(self) -> int:
        return len(self._starts)

    def line_start(self, line: int) -> int:
        start = self._starts[line]
        return start + self._shift if line > self._shift_line >= 0 else start

    def line_end(self, line: int) -> int:
        """Offset of the end of `line`, before its line break."""
        if line + 1 < len(self._starts):
            end = self.line_start(line + 1)
            if self.text.startswith("\r\n", end - 2):
                return end - 2
            return end - 1
        return len(self.text)

    def line_text(self, line: int) -> str:
        return self.text[self.line_start(line) : self.line_end(line)]

    def line_of_offset(self, offset: int) -> int:
        """Line containing `offset` (binary search over the line table)."""
        lo, hi = 0, len(self._starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.line_start(mid) <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    # -- positions --------------------------------------------------------------------------

    def offset_at(self, line: int, character: int, encoding: str, *, strict: bool = False) -> int:
        """Offset of an LSP position. Past-the-end characters clamp to the line's end; a line
        past the end clamps to the document's end unless `strict`."""
        if line < 0 or character < 0:
            raise InvalidPositionError(f"negative position {line}:{character}")
        if line >= len(self._starts):
            if strict:
                raise InvalidPositionError(
                    f"line {line} is past the end ({len(self._starts)} lines)"
                )
            return len(self.text)
        start = self.line_start(line)
        return start + column_to_index(self.line_text(line), character, encoding)

    def position_at(self, offset: int, encoding: str) -> tuple[int, int]:
        offset = max(0, min(offset, len(self.text)))
        line = self.line_of_offset(offset)
        start = self.line_start(line)
        return line, index_to_column(self.line_text(line), offset - start, encoding)

    # -- edits ------------------------------------------------------------------------------

    def replace_all(self, text: str, version: int) -> None:
        self.text, self.version = text, version
        self.__post_init__()

    def apply_edit(
        self,
        start: tuple[int, int],
        end: tuple[int, int],
        new_text: str,
        encoding: str,
    ) -> None:
        """Apply one incremental change (LSP range in the negotiated encoding)."""
        a = self.offset_at(*start, encoding)
        b = self.offset_at(*end, encoding)
        if b < a:
            a, b = b, a
        old = self.text[a:b]
        # Typing on one line only shifts the starts of later lines (lazily). An edit that adds
        # or removes `\n` line breaks splices the table around the edit, and the later lines
        # get the same lazy shift; anything involving a `\r` (CRLF pairs can form or split)
        # rebuilds the whole table, which costs milliseconds on a large file.
        carriage = "\r" in old or "\r" in new_text or "\r" in self.text[a - 1 : a] + \
            self.text[b : b + 1]
        breaks = "\n" in old or "\n" in new_text
        delta = len(new_text) - (b - a)
        first = self.line_of_offset(a)
        last = self.line_of_offset(b) if breaks else first
        self.text = self.text[:a] + new_text + self.text[b:]
        if carriage and (breaks or old or "\r" in new_text):
            self._starts = _line_starts(self.text)
            self._shift_line, self._shift = -1, 0
            return
        if self._shift_line not in (-1, first) or breaks:
            self._flush()
        if breaks:
            inserted = array("q", (a + i + 1 for i, ch in enumerate(new_text) if ch == "\n"))
            self._starts[first + 1 : last + 1] = inserted
            self._shift_line, self._shift = first + len(inserted), delta
            return
        self._shift_line, self._shift = first, self._shift + delta


class DocumentStore:
    """The open documents by URI, in the order they were last opened or edited."""

    def __init__(self) -> None:
        self._docs: dict[str, Document] = {}  # least recently used first

    def open(self, uri: str, language_id: str, version: int, text: str) -> Document:
        self._docs.pop(uri, None)
        doc = self._docs[uri] = Document(uri, language_id, version, text)
        return doc

    def close(self, uri: str) -> None:
        self._docs.pop(uri, None)

    def get(self, uri: str) -> Document | None:
        return self._docs.get(uri)

    def touch(self, uri: str) -> None:
        """`uri` was just used (edited): it moves to the front of `all()`."""
        doc = self._docs.pop(uri, None)
        if doc is not None:
            self._docs[uri] = doc

    def all(self) -> list[Document]:
        """The open documents, most recently used first."""
        return list(reversed(self._docs.values()))
