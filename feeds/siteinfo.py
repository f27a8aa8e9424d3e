"""The info line of a zone or government page: 发布日期：… 来源：… 浏览次数：…

Found on the folded lines of a page (:func:`fold`: NFKC, so full-width colons,
digits and spaces read as ASCII); labels may sit in separate elements, a label and
its value in separate lines, the date in any of ``2026-11-20``, ``2026/11/20``,
``2026年11月20日`` with or without a time. Part of :mod:`feeds.siteextract`.

Pure: no I/O; every regex runs on lines of at most :data:`INFO_MAX` characters.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from feeds.lines import _SPACES

__all__ = ["DATE_LABELS", "INFO_MAX", "Info", "find_info", "fold", "info_at", "info_like"]

#: Info lines are short; longer lines are body text and are not scanned for labels.
INFO_MAX = 300
#: Lines an info block may spread over (a label and its value in separate elements).
_INFO_LINES = 6
DATE_LABELS = r"发布时间|发布日期|发表时间|日期|时间"
_STRONG_DATE = frozenset({"发布时间", "发布日期", "发表时间"})
_SOURCE_LABELS = ("信息来源", "文章来源", "稿件来源", "来源")
_OTHER_LABELS = (
    "更新时间", "浏览次数", "阅读次数", "访问次数", "点击数", "点击量", "点击率", "浏览量",
    "阅读量", "访问量", "作者", "责任编辑", "编辑", "审核", "字号", "字体", "分享到", "索引号",
    "发布机构", "发文机关", "所属栏目",
)
# Date labels take an optional colon (发布日期 2026-11-20); the others need one, so a
# word such as 编辑部 in a value is not cut as a label.
_LABEL = re.compile(
    "(" + "|".join(sorted(_OTHER_LABELS + _SOURCE_LABELS, key=len, reverse=True)) + r")\s*:"
    + "|(" + DATE_LABELS + r")\s*:?"
)
_ANY_LABEL = re.compile("|".join((DATE_LABELS, *_SOURCE_LABELS)))
_BARE_LABEL_END = re.compile("(?:" + _LABEL.pattern + r")\s*$")
_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?"
    r"(?:\s*\d{1,2}\s*[:时]\s*\d{1,2}(?:\s*[:分]\s*\d{1,2}\s*秒?)?)?"
)
_VALUE_TRIM = " |丨/·-—:,，;；【】[]〔〕"
_VALUE_CUT = re.compile(r"[【\[|丨]|\s{2,}|\d{4}\s*[-/.年]\s*\d{1,2}")

@dataclass(frozen=True, slots=True)
class Info:
    """Where the info block is (lines ``start`` to ``end``) and what it says."""

    start: int
    end: int  # first line after the info block
    date: str | None
    source: str | None
    strong: bool


def fold(text: str) -> str:
    """For matching only: NFKC folds full-width colons, digits and spaces to ASCII.
    What is shown (title, source, body) keeps the page's own characters."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


def find_info(folded: list[str], plain: list[str]) -> Info | None:
    """The info line: the first short line with a date label and a date that also
    has a strong label (发布日期…) or a source; else the first with a date at all;
    else the first with a source (来源：…) alone.
    ``folded`` is matched, the source's value is taken from ``plain``."""
    weak: Info | None = None
    undated: Info | None = None  # 来源 alone: the date must come from metadata
    for i, text in enumerate(folded):
        if not text or _ANY_LABEL.search(text) is None:
            continue
        info = info_at(folded, i, plain)
        if info is None:
            continue
        if info.date is None:
            undated = undated or info
        elif info.strong or info.source:
            return info
        elif weak is None:
            weak = info
    return weak or undated


def info_at(folded: list[str], at: int, plain: list[str] | None = None) -> Info | None:
    pieces = [folded[at]]
    end = at + 1
    while end < len(folded) and end - at < _INFO_LINES:
        nxt = folded[end]
        if not nxt:
            if plain is not None and plain[end]:  # a long line: body text
                break
            end += 1
            continue
        if _LABEL.match(nxt) or _is_value(pieces[-1], nxt):
            pieces.append(nxt)
            end += 1
        else:
            break
    text = " ".join(pieces)
    date = source = None
    strong = False
    labels = list(_LABEL.finditer(text))
    for n, match in enumerate(labels):
        stop = labels[n + 1].start() if n + 1 < len(labels) else len(text)
        value = text[match.end() : stop]
        if match.group(2):  # a date label: the date must follow it
            found = _DATE.match(value.lstrip(" :"))
            if found and date is None:
                date = found.group(0)
                strong = match.group(2) in _STRONG_DATE
        elif match.group(1) in _SOURCE_LABELS and source is None:
            cut = _VALUE_CUT.search(value)
            value = (value[: cut.start()] if cut else value).strip(_VALUE_TRIM)
            source = _original(value[:80], plain[at:end] if plain is not None else []) or None
    if date is None and source is not None:
        bare = _DATE.search(text)
        date = bare.group(0) if bare else None
    if date is None and source is None:
        return None
    return Info(at, end, date, source, strong)


def _is_value(text: str, nxt: str) -> bool:
    """Whether ``nxt`` is the value of a bare label ending ``text`` (``来源:`` |
    ``青岚湾日报``): a date for a date label, else a short line that is no sentence."""
    bare = _BARE_LABEL_END.search(text)
    if bare is None:
        return False
    if bare.group(2):
        return _DATE.match(nxt) is not None
    return len(nxt) <= 40 and not nxt.endswith(("。", ".", "!", "?", "！", "？"))


def _original(value: str, lines: list[str]) -> str:
    """``value`` (found in folded text) as the page writes it: full-width brackets
    and letters of a source name stay as they are."""
    if not value:
        return value
    for line in lines:
        start = fold(line).find(value)
        if start >= 0 and len(fold(line)) == len(line):  # folding kept the length
            return line[start : start + len(value)]
    return value


def info_like(text: str) -> bool:
    if _ANY_LABEL.search(text) is None:
        return False
    info = info_at([text], 0)
    return info is not None and (info.strong or info.source is not None)
