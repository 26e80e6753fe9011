"""The document store: incremental edits and exact positions in every encoding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepseek_lsp.documents import (
    UTF8,
    UTF16,
    UTF32,
    Document,
    InvalidPositionError,
    _line_starts,
)

PIECES = ["a", "b", " ", "\t", "\n", "\r\n", "\r", "é", "😀", "中", "e\u0301", "{", ")"]
text_st = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)


def table(doc: Document) -> list[int]:
    return [doc.line_start(i) for i in range(doc.line_count())]


@settings(max_examples=300, deadline=None)
@given(
    text=text_st,
    edits=st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 200), text_st,
                  st.sampled_from([UTF8, UTF16, UTF32])),
        max_size=8,
    ),
)
def test_incremental_edits_match_a_full_rebuild(text, edits):
    doc = Document("file:///a.py", "python", 1, text)
    for a, b, new, enc in edits:
        p1 = doc.position_at(min(a, len(doc.text)), enc)
        p2 = doc.position_at(min(b, len(doc.text)), enc)
        p1, p2 = min(p1, p2), max(p1, p2)
        oa, ob = doc.offset_at(*p1, enc), doc.offset_at(*p2, enc)
        expected = doc.text[:oa] + new + doc.text[ob:]
        doc.apply_edit(p1, p2, new, enc)
        assert doc.text == expected
        assert table(doc) == list(_line_starts(doc.text))


@pytest.mark.parametrize(
    ("encoding", "character", "expected_index"),
    [
        (UTF16, 0, 0), (UTF16, 2, 2),  # "x = "
        (UTF16, 4, 4),  # before the emoji
        (UTF16, 6, 5),  # after the emoji (a surrogate pair: 2 units)
        (UTF16, 7, 6),  # after 中
        (UTF8, 8, 5),  # emoji is 4 bytes
        (UTF8, 11, 6),  # 中 is 3 bytes
        (UTF32, 6, 6),
        (UTF16, 999, 10),  # past the end clamps to the line's end
    ],
)
def test_positions_with_emoji_and_cjk(encoding, character, expected_index):
    doc = Document("file:///a.py", "python", 1, 'x = 😀中"ab"\nnext')
    line = 'x = 😀中"ab"'
    assert doc.offset_at(0, character, encoding) == min(expected_index, len(line))


def test_position_round_trip_all_encodings():
    text = "héllo 😀 wörld 中文\r\n\tsecond 🎉 line\nlast"
    doc = Document("u", "python", 1, text)
    for enc in (UTF8, UTF16, UTF32):
        for offset in range(len(text) + 1):
            if text[offset - 1 : offset + 1] == "\r\n":
                continue  # between \r and \n is not a position
            line, col = doc.position_at(offset, enc)
            assert doc.offset_at(line, col, enc) == offset


def test_strict_positions_reject_lines_past_the_end():
    doc = Document("u", "python", 1, "one\ntwo")
    with pytest.raises(InvalidPositionError):
        doc.offset_at(5, 0, UTF16, strict=True)
    with pytest.raises(InvalidPositionError):
        doc.offset_at(-1, 0, UTF16)
    assert doc.offset_at(5, 0, UTF16) == len(doc.text)
    assert doc.offset_at(1, 99, UTF16, strict=True) == len(doc.text)


def test_typing_on_one_line_then_another_keeps_lines_right():
    doc = Document("u", "python", 1, "a\nb\nc\nd\n")
    for ch in "xyz":
        doc.apply_edit((1, 1), (1, 1), ch, UTF16)
        doc.apply_edit((1, 1), (1, 2), "", UTF16)
    doc.apply_edit((1, 1), (1, 1), "xyz", UTF16)
    doc.apply_edit((3, 0), (3, 0), "Q", UTF16)
    assert doc.text == "a\nbxyz\nc\nQd\n"
    assert doc.line_text(3) == "Qd"
    assert table(doc) == list(_line_starts(doc.text))


def test_a_file_of_short_lines_costs_a_few_bytes_per_line():
    """50 MB of one-character lines once took over 1 GB: a list of Python ints for the line
    table, and the list of every line that `split` made first. Now 8 bytes a line, built a
    slice at a time (4 MB here: 2 million lines)."""
    import tracemalloc

    text = "a\n" * 2_000_000
    tracemalloc.start()
    try:
        doc = Document("file:///short.txt", "plaintext", 1, text)
        doc.apply_edit((0, 0), (0, 0), "b", UTF16)  # a shift of every later line
        doc.line_text(1_999_999)  # the shift applied
        doc.apply_edit((5, 0), (5, 0), "x\ny\n", UTF16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert doc.line_count() == 2_000_003
    assert peak < 40_000_000  # the table is 16 MB; a list of ints was about 170 MB at its peak
