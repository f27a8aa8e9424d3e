"""Which subscribers want which articles: an index built once per subscriptions version.

A subscriber follows region keys; following a region follows everything under it.
An :class:`~feeds.models.Article` already carries ``region_keys`` (its own region and
every ancestor), so a subscriber of 浙江省 is found by looking up each of the
article's keys. Keywords are found with one Aho-Corasick pass (pyahocorasick) over
the article's text, whatever the number of subscribers, and subscribers with
``include`` words are filed under (region, word), so the cost of an article grows
with the subscribers it matches, not with all subscribers.

:func:`matches` is the plain rule, one subscriber and one article at a time; the
index must give exactly its answers (tests check this with hypothesis).
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick

from feeds.models import Article
from notifier.models import Subscriber

_BLOCK = re.compile(r"<(?:br|/?p|/?div|/?li|/?h[1-6]|/?tr|/?td|/?th|/?blockquote)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_DROP = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)


def fold(text: str) -> str:
    """The form keywords and text are compared in.

    NFKC makes full-width Latin and digits (ＡＩ, ５Ｇ) plain; casefold makes Latin
    case-insensitive. Chinese is unchanged by both, so it is matched as a substring.
    """
    return unicodedata.normalize("NFKC", text).casefold()


def plain_text(markup: str) -> str:
    """Tags removed and entities decoded: keywords are looked for in what a reader sees.

    Inline tags vanish without a trace (新<b>能源</b> still contains 新能源); block
    boundaries become line breaks so words of two paragraphs do not run together.
    """
    if "<" not in markup and "&" not in markup:
        return markup
    text = _DROP.sub("\n", markup)
    text = _BLOCK.sub("\n", text)
    return html.unescape(_TAG.sub("", text))


def article_text(article: Article) -> str:
    """Title, summary and body of an article, folded for keyword search."""
    parts = [article.title, article.summary or "", plain_text(article.content)]
    return fold("\n".join(parts))


def _words(words: Iterable[str]) -> frozenset[str]:
    return frozenset(w for w in (fold(word).strip() for word in words) if w)


@dataclass(frozen=True, slots=True)
class Rule:
    """A subscriber's filters, folded once."""

    regions: frozenset[str]
    include: frozenset[str]
    exclude: frozenset[str]
    categories: frozenset[str]

    @classmethod
    def of(cls, subscriber: Subscriber) -> Rule:
        return cls(
            frozenset(subscriber.regions),
            _words(subscriber.keywords.include),
            _words(subscriber.keywords.exclude),
            _words(subscriber.categories),
        )

    def wants(self, article: Article, text: str | None = None) -> bool:
        """Whether this rule takes ``article``; ``text`` is its :func:`article_text`."""
        if self.regions.isdisjoint(article.region_keys):
            return False
        if self.categories and fold(article.category or "").strip() not in self.categories:
            return False
        if not self.include and not self.exclude:
            return True
        body = article_text(article) if text is None else text
        if self.include and not any(word in body for word in self.include):
            return False
        return not any(word in body for word in self.exclude)


def matches(subscriber: Subscriber, article: Article) -> bool:
    """The rule itself, for one subscriber and one article.

    The article's region keys include every region above it, so following a
    province takes the articles of its cities, districts and zones. Keywords are
    looked for in title, summary and body: any ``include`` word (if there are any)
    and no ``exclude`` word; ``categories``, when given, must hold the article's.
    """
    return Rule.of(subscriber).wants(article)


@dataclass(frozen=True, slots=True)
class _Entry:
    """What the index keeps of a subscriber beyond its region keys."""

    id: str
    exclude: frozenset[int]
    categories: frozenset[str]


class MatchIndex:
    """Region key (and include word) -> subscribers, with one keyword automaton.

    Build it once per subscriptions version; :meth:`match` is then pure and cheap.
    """

    def __init__(self, subscribers: Iterable[Subscriber]) -> None:
        self._entries: list[_Entry] = []
        self._words: dict[str, int] = {}
        # region key -> subscribers without include words, split by whether they
        # need a second look (exclude words or categories) after the lookup
        self._plain: dict[str, list[int]] = {}
        self._plain_checked: dict[str, list[int]] = {}
        # include word -> region key -> subscribers
        self._by_word: dict[int, dict[str, list[int]]] = {}
        for subscriber in subscribers:
            self._add(subscriber)
        self._automaton: ahocorasick.Automaton | None = None
        if self._words:
            automaton = ahocorasick.Automaton()
            for word, number in self._words.items():
                automaton.add_word(word, number)
            automaton.make_automaton()
            self._automaton = automaton

    def _word(self, word: str) -> int:
        return self._words.setdefault(word, len(self._words))

    def _add(self, subscriber: Subscriber) -> None:
        index = len(self._entries)
        include = [self._word(w) for w in sorted(_words(subscriber.keywords.include))]
        exclude = frozenset(self._word(w) for w in _words(subscriber.keywords.exclude))
        entry = _Entry(subscriber.id, exclude, _words(subscriber.categories))
        self._entries.append(entry)
        checked = bool(entry.exclude or entry.categories)
        for key in dict.fromkeys(subscriber.regions):
            if include:
                for word in include:
                    self._by_word.setdefault(word, {}).setdefault(key, []).append(index)
            elif checked:
                self._plain_checked.setdefault(key, []).append(index)
            else:
                self._plain.setdefault(key, []).append(index)

    def __len__(self) -> int:
        return len(self._entries)

    def _found(self, text: str) -> set[int]:
        if self._automaton is None:
            return set()
        return {number for _, number in self._automaton.iter(text)}

    def _indexes(self, article: Article) -> set[int]:
        keys = article.region_keys
        hits: set[int] = set()
        plain = self._plain
        for key in keys:
            found = plain.get(key)
            if found:
                hits.update(found)
        checked: set[int] = set()
        for key in keys:
            found = self._plain_checked.get(key)
            if found:
                checked.update(found)
        words: set[int] | None = None
        if self._by_word:
            words = self._found(article_text(article))
            for word in words:
                by_key = self._by_word.get(word)
                if by_key:
                    for key in keys:
                        found = by_key.get(key)
                        if found:
                            checked.update(found)
        if checked:
            category = fold(article.category or "").strip()
            entries = self._entries
            for index in checked:
                entry = entries[index]
                if entry.categories and category not in entry.categories:
                    continue
                if entry.exclude:
                    if words is None:
                        words = self._found(article_text(article))
                    if not entry.exclude.isdisjoint(words):
                        continue
                hits.add(index)
        return hits

    def subscribers_for(self, article: Article) -> list[str]:
        """Ids of the subscribers that want ``article``, in subscriptions order."""
        return [self._entries[i].id for i in sorted(self._indexes(article))]

    def match(self, articles: Sequence[Article]) -> dict[str, list[Article]]:
        """Subscriber id -> the given articles it wants, in the order given.

        Subscribers that want none of them are absent.
        """
        by_index: dict[int, list[Article]] = {}
        for article in articles:
            for index in self._indexes(article):
                found = by_index.get(index)
                if found is None:
                    by_index[index] = [article]
                else:
                    found.append(article)
        return {self._entries[i].id: by_index[i] for i in sorted(by_index)}


def match_naive(
    subscribers: Sequence[Subscriber], articles: Sequence[Article]
) -> dict[str, list[Article]]:
    """The rule for every (subscriber, article) pair: the reference for the index.

    Fair to the index: each article's text and each subscriber's words are folded once.
    """
    texts = [article_text(a) for a in articles]
    result: dict[str, list[Article]] = {}
    for subscriber in subscribers:
        rule = Rule.of(subscriber)
        wanted = [a for a, t in zip(articles, texts, strict=True) if rule.wants(a, t)]
        if wanted:
            result[subscriber.id] = wanted
    return result
