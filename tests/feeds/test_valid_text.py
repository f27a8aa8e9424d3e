"""Text made valid before it is hashed or stored (issue 10)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from feeds.text import lone_surrogate, valid_text

XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

# Every code point, surrogates and controls included (st.text leaves surrogates out).
ANY_CHAR = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.sampled_from(["\ud800", "\udfff", "\x00", "\x01", "\x1b", "\ufffe", "\uffff", "\t", "\n"]),
)
ANY_TEXT = st.lists(ANY_CHAR, max_size=60).map("".join)


@given(ANY_TEXT)
def test_valid_text_encodes_and_is_xml_safe_and_keeps_everything_else(text: str) -> None:
    clean = valid_text(text)
    clean.encode("utf-8")  # no UnicodeEncodeError, so it can be hashed and stored
    assert XML_FORBIDDEN.search(clean) is None
    assert valid_text(clean) == clean
    # Nothing allowed is lost or reordered; each lone surrogate leaves a U+FFFD.
    expected = "".join(
        "\ufffd" if "\ud800" <= c <= "\udfff" else "" if XML_FORBIDDEN.match(c) else c
        for c in text
    )
    assert clean == expected


@given(st.text())
def test_valid_text_leaves_valid_text_alone(text: str) -> None:
    if XML_FORBIDDEN.search(text) is None:
        assert valid_text(text) is text


def test_lone_surrogate_finds_the_first_one() -> None:
    assert lone_surrogate("港区\ud800新闻\udc00") == 2
    assert lone_surrogate("港区😀新闻") is None
