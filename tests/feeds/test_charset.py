"""Page decoding: BOM, HTTP header, <meta>, then detection; GB family read as GB18030."""

from __future__ import annotations

import pytest

from feeds.charset import decode_page, normalise_charset, page_charset

TEXT = "发布时间：2024-05-06　来源：嘉兴日报　发布开发区：南湖微电子园区。负责人朱镕𠮷介绍。"
GBK_TEXT = TEXT.replace("朱镕𠮷", "王工")


def page(meta: str, text: str = GBK_TEXT) -> str:
    return f"<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"


def test_utf8_declared_in_the_header() -> None:
    body = page('<meta charset="utf-8">', TEXT).encode("utf-8")
    assert TEXT in decode_page(body, "text/html; charset=UTF-8")


def test_gbk_declared_only_in_the_header() -> None:
    body = page("").encode("gbk")
    assert page_charset(body, "text/html; charset=GBK") == ("gb18030", "header")
    assert GBK_TEXT in decode_page(body, "text/html; charset=GBK")


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="gbk">',
        "<meta http-equiv='Content-Type' content='text/html; charset=GBK'>",
        '<META HTTP-EQUIV="content-type" CONTENT="text/html;charset=gbk">',
    ],
)
def test_gbk_declared_only_in_meta(meta: str) -> None:
    body = page(meta).encode("gbk")
    assert page_charset(body, "text/html") == ("gb18030", "meta")
    assert GBK_TEXT in decode_page(body, "text/html")


def test_gb2312_declared_page_keeps_characters_only_gbk_and_gb18030_have() -> None:
    # 镕 is not in GB2312 and 𠮷 not in GBK; a strict gb2312 decoder would lose both.
    body = page('<meta charset="gb2312">', TEXT).encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")
    assert "朱镕𠮷" in decode_page(body, None)
    assert "朱镕𠮷" in decode_page(body, "text/html; charset=gb2312")


def test_undeclared_gbk_is_detected() -> None:
    body = page("").encode("gbk")
    codec, how = page_charset(body, "text/html")
    assert how == "detected" and codec == "gb18030"
    assert GBK_TEXT in decode_page(body, None)


def test_undeclared_utf8_is_detected() -> None:
    body = page("", TEXT).encode("utf-8")
    assert page_charset(body, None) == ("utf-8", "detected")
    assert TEXT in decode_page(body, None)


def test_the_header_wins_over_meta_and_a_bom_wins_over_both() -> None:
    body = page('<meta charset="utf-8">').encode("gbk")
    assert GBK_TEXT in decode_page(body, "text/html; charset=gbk")
    bom = b"\xef\xbb\xbf" + page('<meta charset="gbk">', TEXT).encode("utf-8")
    assert decode_page(bom, "text/html; charset=gbk").startswith("<html>")
    assert TEXT in decode_page(bom, "text/html; charset=gbk")


def test_an_unknown_declared_label_falls_through_to_detection() -> None:
    body = page('<meta charset="x-no-such-charset">').encode("gbk")
    assert page_charset(body, "text/html; charset=bogus") == ("gb18030", "detected")


def test_a_broken_byte_does_not_lose_the_page() -> None:
    body = page('<meta charset="utf-8">', TEXT).encode("utf-8")
    broken = body[:60] + b"\xff" + body[60:]
    assert "\ufffd" in decode_page(broken, None)
    assert TEXT in decode_page(broken, None)


def test_latin1_text_without_declaration_is_not_read_as_chinese() -> None:
    text = "Zürich Straße café " * 20
    body = f"<html><body><p>{text}</p></body></html>".encode("cp1252")
    assert text in decode_page(body, None)


@pytest.mark.parametrize(
    ("label", "codec"),
    [("GB2312", "gb18030"), ("gbk", "gb18030"), ("x-gbk", "gb18030"), ("CP936", "gb18030"),
     ("GB18030", "gb18030"), ("utf8", "utf-8"), ("iso-8859-1", "cp1252"), ("big5", "big5"),
     ("nonsense", None), ("", None)],
)
def test_labels_are_normalised_to_codecs(label: str, codec: str | None) -> None:
    assert normalise_charset(label) == codec
