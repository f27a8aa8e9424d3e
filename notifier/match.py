"""Which subscribers want which articles: an index built once per subscriptions version.

A subscriber follows region keys; following a region follows everything under it.
An :class:`~feeds.models.Article` already carries ``region_keys`` (its own region and
every ancestor), so a subscriber of 浙江省 is found by looking up each of the
article's keys. Keywords are found with one Aho-Corasick pass (pyahocorasick) over
the article's text, whatever the number of subscribers or words.

Two ways in, both with a cost that grows with the matches, not with subscribers x
articles: :meth:`MatchIndex.subscribers_for` (one article: region key and
(region, include word) lookups, then set differences for exclude words and
categories) and :meth:`MatchIndex.match` (a batch: the batch itself is indexed by
region, word and category, and each subscriber following a region of the batch
takes its articles with set operations).

:func:`matches` is the plain rule, one subscriber and one article at a time; the
index must give exactly its answers (tests check this with hypothesis).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter
from typing import Any

import ahocorasick

from feeds.models import Article
from feeds.text import strip_markup
from notifier.models import Subscriber


def fold(text: str) -> str:
    """The form keywords and text are compared in.

    NFKC makes full-width Latin and digits (ＡＩ, ５Ｇ) plain; casefold makes Latin
    case-insensitive. Chinese is unchanged by both, so it is matched as a substring.
    """
    return unicodedata.normalize("NFKC", text).casefold()


def plain_text(markup: str) -> str:
    """Tags removed and entities decoded: keywords are looked for in what a reader sees
    (:func:`feeds.text.strip_markup`, the project's one HTML-to-text)."""
    return strip_markup(markup)


def article_text(article: Article) -> str:
    """Title, summary and body of an article, folded for keyword search."""
    parts = [article.title, article.summary or "", plain_text(article.content)]
    return fold("\n".join(parts))


_second = itemgetter(1)

#: One empty set for every subscriber without words or categories (most of them): an
#: empty frozenset is 216 bytes, three per subscriber in the index otherwise.
_NONE: frozenset[Any] = frozenset()


def _words(words: Iterable[str]) -> frozenset[str]:
    found = frozenset(w for w in (fold(word).strip() for word in words) if w)
    return found or _NONE


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


class MatchIndex:
    """Region key (and include word) -> subscribers, with one keyword automaton.

    Build it once per subscriptions version; :meth:`match` is then pure and cheap.
    Every step is a dictionary hit or a set operation over the subscribers found,
    never a loop over all subscribers: an article's candidates are the subscribers
    of its region keys (those with ``include`` words only under the words the
    article contains), minus those whose ``exclude`` words it contains, minus those
    whose ``categories`` lack its category.
    """

    def __init__(self, subscribers: Iterable[Subscriber]) -> None:
        self._ids: list[str] = []
        self._words: dict[str, int] = {}
        # per subscriber: region keys, include / exclude word numbers, categories
        self._keys: list[tuple[str, ...]] = []
        self._include: list[frozenset[int]] = []
        self._exclude: list[frozenset[int]] = []
        self._categories: list[frozenset[str]] = []
        #: region key -> subscribers following only it, with no filters (most of them)
        self._simple: dict[str, list[int]] = {}
        #: region key -> every other subscriber following it
        self._following: dict[str, list[int]] = {}
        #: region key -> subscribers without include words
        self._plain: dict[str, list[int]] = {}
        #: include word -> region key -> subscribers
        self._by_word: dict[int, dict[str, list[int]]] = {}
        #: exclude word -> subscribers that exclude it
        self._excluded_by: dict[int, set[int]] = {}
        #: category -> subscribers that list it; and every subscriber that lists any
        self._by_category: dict[str, set[int]] = {}
        self._with_categories: set[int] = set()
        self._lacking: dict[str, frozenset[int]] = {}
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
        index = len(self._ids)
        self._ids.append(subscriber.id)
        include = [self._word(w) for w in sorted(_words(subscriber.keywords.include))]
        exclude = [self._word(w) for w in sorted(_words(subscriber.keywords.exclude))]
        for number in exclude:
            self._excluded_by.setdefault(number, set()).add(index)
        categories = _words(subscriber.categories)
        keys = subscriber.regions
        if len(set(keys)) != len(keys):  # the subscriber's own tuple, unless repeated
            keys = tuple(dict.fromkeys(keys))
        self._keys.append(keys)
        self._include.append(frozenset(include) if include else _NONE)
        self._exclude.append(frozenset(exclude) if exclude else _NONE)
        self._categories.append(categories)
        if len(keys) == 1 and not include and not exclude and not categories:
            self._simple.setdefault(keys[0], []).append(index)
        else:
            for key in keys:
                self._following.setdefault(key, []).append(index)
        for category in categories:
            self._by_category.setdefault(category, set()).add(index)
        if categories:
            self._with_categories.add(index)
        for key in keys:
            if include:
                for word in include:
                    self._by_word.setdefault(word, {}).setdefault(key, []).append(index)
            else:
                self._plain.setdefault(key, []).append(index)

    def __len__(self) -> int:
        return len(self._ids)

    def _found(self, text: str) -> set[int]:
        if self._automaton is None:
            return set()
        return set(map(_second, self._automaton.iter(text)))  # no Python loop per hit

    def _lacking_category(self, category: str) -> frozenset[int]:
        """Subscribers that list categories, but not this one (cached per category)."""
        found = self._lacking.get(category)
        if found is None:
            found = frozenset(self._with_categories - self._by_category.get(category, set()))
            self._lacking[category] = found
        return found

    def _indexes(self, article: Article) -> set[int]:
        keys = article.region_keys
        hits: set[int] = set()
        plain = self._plain
        for key in keys:
            found = plain.get(key)
            if found:
                hits.update(found)
        if self._automaton is not None:
            words = self._found(article_text(article))
            by_word = self._by_word
            for word in words:
                by_key = by_word.get(word)
                if by_key:
                    for key in keys:
                        found = by_key.get(key)
                        if found:
                            hits.update(found)
            if hits:
                excluded_by = self._excluded_by
                for word in words:
                    excluded = excluded_by.get(word)
                    if excluded:
                        hits -= hits & excluded  # & walks the smaller set
        if hits and self._with_categories:
            hits -= hits & self._lacking_category(fold(article.category or "").strip())
        return hits

    def subscribers_for(self, article: Article) -> list[str]:
        """Ids of the subscribers that want ``article``, in subscriptions order."""
        ids = self._ids
        return [ids[i] for i in sorted(self._indexes(article))]

    def match(self, articles: Sequence[Article]) -> dict[str, list[Article]]:
        """Subscriber id -> the given articles it wants, in the order given.

        Subscribers that want none of them are absent; the order of the keys is not
        the subscriptions' order. Subscribers that take the same articles share one
        list: read the lists, do not change them. The batch is indexed first (region key, word and
        category -> article positions); subscribers of one region without filters
        share one list per region, and every other subscriber that follows a region
        of the batch takes its articles with a few set operations, so no Python code
        runs per (subscriber, article) pair.
        """
        at_key: dict[str, list[int]] = {}
        with_word: dict[int, set[int]] = {}  # word number -> positions of articles with it
        in_category: dict[str, set[int]] = {}
        automaton = self._automaton
        for position, article in enumerate(articles):
            for key in article.region_keys:
                found = at_key.get(key)
                if found is None:
                    at_key[key] = [position]
                elif found[-1] != position:
                    found.append(position)
            if automaton is not None:
                for number in self._found(article_text(article)):
                    with_word.setdefault(number, set()).add(position)
            if self._with_categories:
                category = fold(article.category or "").strip()
                in_category.setdefault(category, set()).add(position)
        candidates: set[int] = set()
        for key in at_key:
            following = self._following.get(key)
            if following:
                candidates.update(following)
        result: dict[str, list[Article]] = {}
        ids = self._ids
        for key, found in at_key.items():
            simple = self._simple.get(key)
            if simple:
                # one region, no filters: the same articles (one list) for all of them
                shared = [articles[i] for i in found]
                result.update(zip(map(ids.__getitem__, simple), repeat(shared)))
        key_sets: dict[str, frozenset[int]] = {k: frozenset(v) for k, v in at_key.items()}
        key_set = key_sets.get
        word_sets: dict[frozenset[int], frozenset[int]] = {}
        category_sets: dict[frozenset[str], frozenset[int]] = {}
        keys_of = self._keys
        include_of, exclude_of, categories_of = self._include, self._exclude, self._categories
        empty: frozenset[int] = frozenset()
        #: positions -> their articles: subscribers that take the same articles share
        #: one list (memory per subscriber stays a dictionary entry)
        lists: dict[frozenset[int], list[Article]] = {}
        for index in sorted(candidates):
            keys = keys_of[index]
            include, exclude, categories = (
                include_of[index], exclude_of[index], categories_of[index])
            if len(keys) == 1:
                positions = key_sets.get(keys[0], empty)
            else:
                positions = empty.union(*map(key_set, keys, repeat(empty)))
            if include:
                words = word_sets.get(include)
                if words is None:
                    words = word_sets[include] = empty.union(
                        *(with_word.get(w, empty) for w in include))
                positions = positions & words
            if exclude and positions:
                words = word_sets.get(exclude)
                if words is None:
                    words = word_sets[exclude] = empty.union(
                        *(with_word.get(w, empty) for w in exclude))
                positions = positions - words
            if categories and positions:
                kinds = category_sets.get(categories)
                if kinds is None:
                    kinds = category_sets[categories] = empty.union(
                        *(in_category.get(c, empty) for c in categories))
                positions = positions & kinds
            if positions:
                taken = lists.get(positions)
                if taken is None:
                    taken = lists[positions] = [articles[i] for i in sorted(positions)]
                result[ids[index]] = taken
        return result


#: Articles matched at a time by :func:`match_articles` (one batch is held at once).
MATCH_BATCH = 1000


def match_articles(
    index: MatchIndex,
    articles: Iterable[Article],
    wanted: Container[str] | None = None,
    batch: int = MATCH_BATCH,
) -> dict[str, list[Article]]:
    """Subscriber id -> the articles it wants, as a delivery pass needs them.

    This is what production runs on each pass, with the index built once per
    subscriptions version: ``articles`` (a stream from the store) is taken ``batch``
    at a time through :meth:`MatchIndex.match`, so a long backlog costs one batch of
    memory plus the matches; only subscribers in ``wanted`` (those due, when given)
    are kept. Each subscriber's articles stay in the order given.
    """
    result: dict[str, list[Article]] = {}
    chunk: list[Article] = []

    def take() -> None:
        for sid, found in index.match(chunk).items():
            if wanted is not None and sid not in wanted:
                continue
            have = result.get(sid)
            # a new list: those of a batch are shared between subscribers
            result[sid] = found if have is None else have + found

    for article in articles:
        chunk.append(article)
        if len(chunk) >= batch:
            take()
            chunk = []
    if chunk:
        take()
    return result


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
