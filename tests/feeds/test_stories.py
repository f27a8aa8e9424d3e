"""Stories across sources, the pure core (SPEC §6): normalizing, prints, the rule, the
in-memory index. Folding through the store is tested in test_story_folding.py."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds import stories
from feeds.sample.site import repost_text, site_text
from feeds.stories import (
    StoryIndex,
    StoryPrint,
    band_keys,
    fold_batch,
    likeness,
    normalize_body,
    normalize_title,
    same_story,
    story_print,
)

ORIGINAL_TITLE = "乍浦湾临港开发区召开2026年四季度安全生产工作会议"
ORIGINAL = [
    "11月20日，乍浦湾临港开发区管委会召开2026年四季度安全生产工作会议，开发区各部门、"
    "各街道及重点企业负责人参加会议。",
    "会议通报了前三季度全区安全生产形势，分析了化工园区、港口码头和在建工地存在的突出问题，"
    "部署了岁末年初安全生产大检查工作。",
    "会议要求，各单位要压实企业主体责任，对排查出的38处隐患逐一建立台账，确保12月底前全部整改到位。",
    "开发区主要负责人强调，要以时时放心不下的责任感抓好安全生产，坚决守牢安全底线。",
]
# Another story of the same zone on the same day, opening with the same paragraph.
DECOY_TITLE = "乍浦湾临港开发区部署冬季消防安全专项整治行动"
DECOY = [
    ORIGINAL[0],
    "会议听取了消防救援大队关于今冬明春火灾防控形势的通报，研究了人员密集场所和老旧厂房的整治方案。",
    "会议决定，自即日起至明年3月底，在全区开展为期4个月的冬季消防安全专项整治行动。",
]


def html(paragraphs: list[str]) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def test_normalizing_drops_labels_markup_punctuation_and_full_width() -> None:
    assert normalize_title("【园区动态】 乍浦湾：ＡＢＣ  １２３！") == "乍浦湾abc123"
    assert normalize_title("[转载]【要闻】标题") == "标题"
    assert normalize_title("标题【附件】") == "标题附件"  # only a leading label goes
    assert normalize_body("<p>第一句，</p><p>第 二 句。&nbsp;</p>") == "第一句第二句"


def test_a_repost_with_a_label_and_one_sentence_less_is_the_same_story() -> None:
    original = story_print(ORIGINAL_TITLE, html(ORIGINAL))
    repost = story_print("【园区动态】" + ORIGINAL_TITLE, html(ORIGINAL[:-1]))
    like = likeness(original, repost)
    print(f"repost: {like}")
    assert like.title == 1.0
    assert same_story(original, repost) and same_story(repost, original)


def test_same_zone_same_day_same_opening_is_not_the_same_story() -> None:
    original = story_print(ORIGINAL_TITLE, html(ORIGINAL))
    decoy = story_print(DECOY_TITLE, html(DECOY))
    print(f"decoy: {likeness(original, decoy)}")
    assert not same_story(original, decoy)
    # Also when the opening is most of the text.
    short = story_print(DECOY_TITLE, html([ORIGINAL[0], "会议部署了冬季消防安全专项整治行动。"]))
    assert not same_story(original, short)


def test_template_news_differing_in_numbers_is_not_the_same_story() -> None:
    """Same title and sentences, other figures: two policies, not one story."""
    one = story_print("开发区发布数字文创产业扶持政策",
                      html(["开发区近日出台16条措施，对重点项目给予最高800万元补助。",
                            "措施还明确，对首台套产品给予奖励，并在厂房租金方面提供保障。"]))
    other = story_print("开发区发布数字文创产业扶持政策",
                        html(["开发区近日出台23条措施，对重点项目给予最高2600万元补助。",
                              "措施还明确，对首台套产品给予奖励，并在厂房租金方面提供保障。"]))
    assert likeness(one, other).jaccard >= 0.5
    assert not same_story(one, other)


def test_every_sample_site_repost_folds_and_no_two_site_articles_do() -> None:
    texts = [site_text(3, n) for n in range(120)]
    prints = [story_print(t.title, html(list(t.paragraphs))) for t in texts]
    for text, original in zip(texts, prints, strict=True):
        repost = repost_text(text, text)
        assert same_story(original, story_print(repost.title, html(list(repost.paragraphs))))
    folded = [(i, j) for i in range(len(prints)) for j in range(i + 1, len(prints))
              if same_story(prints[i], prints[j])]
    assert folded == []


def test_the_index_gives_stable_story_ids_in_arrival_order() -> None:
    index = StoryIndex()
    a = story_print(ORIGINAL_TITLE, html(ORIGINAL))
    b = story_print("【园区动态】" + ORIGINAL_TITLE, html(ORIGINAL[:-1]))
    c = story_print(DECOY_TITLE, html(DECOY))
    d = story_print("[转载]" + ORIGINAL_TITLE, html(ORIGINAL[1:]))
    assert [index.fold(10, a), index.fold(11, b), index.fold(12, c), index.fold(13, d)] == [
        10, 10, 12, 10]
    # The repost first: it leads, the original joins it.
    other = StoryIndex()
    assert [other.fold(1, b), other.fold(2, a)] == [1, 1]


def test_a_print_survives_storage_unchanged() -> None:
    p = story_print(ORIGINAL_TITLE, html(ORIGINAL))
    q = StoryPrint.from_bytes(p.to_bytes())
    assert q.size == p.size and q.title == p.title and q.numbers == p.numbers
    assert q.bands() == p.bands() and (q.signature == p.signature).all()
    with pytest.raises(ValueError, match="version"):
        StoryPrint.from_bytes(b"\x09" + p.to_bytes()[1:])


def test_too_little_text_is_never_folded() -> None:
    a, b = story_print("通知", ""), story_print("通知", "")
    assert not a.usable and not same_story(a, b)
    index = StoryIndex()
    assert [index.fold(1, a), index.fold(2, b)] == [1, 2]


texts = st.text(st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=200, deadline=None)
@given(title=texts, body=texts)
def test_arbitrary_text_never_raises_and_a_print_is_its_own_story(title: str, body: str) -> None:
    p = story_print(title, body)
    assert StoryPrint.from_bytes(p.to_bytes()).bands() == p.bands()
    assert same_story(p, story_print(title, body)) == p.usable


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "【转载】", "[要闻]"]),
                          st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=12))
def test_folding_is_deterministic_and_symmetric(arrivals: list[tuple[str, int, int]]) -> None:
    """The same arrivals give the same story ids; a pair's verdict does not depend on
    which of the two came first."""
    bodies = [ORIGINAL, DECOY, ORIGINAL[:-1], [ORIGINAL[0], "另一件事。"]]
    titles = [ORIGINAL_TITLE, DECOY_TITLE, ORIGINAL_TITLE, "乍浦湾临港开发区另一件事"]
    prints = [story_print(label + titles[t], html(bodies[b])) for label, t, b in arrivals]

    def run() -> list[int]:
        index = StoryIndex()
        return [index.fold(n, p) for n, p in enumerate(prints)]

    assert run() == run()
    for p in prints:
        for q in prints:
            assert same_story(p, q) == same_story(q, p)


# -- the MinHash arithmetic is datasketch's, bit for bit ---------------------------
# Prints stored by earlier versions (made with datasketch) must compare equal to
# prints made now: feeds.stories computes datasketch's "affine32" MinHash itself.

hash_lists = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=400)


def _datasketch_signature(hashes: list[int]) -> list[int]:
    from datasketch import MinHash

    m = MinHash(num_perm=stories.NUM_PERM, seed=1, scheme="affine32", hashfunc=int)
    m.update_batch(hashes)
    return [int(v) for v in m.hashvalues]


def test_the_permutations_are_datasketchs() -> None:
    from datasketch import MinHash

    a, b = MinHash(num_perm=stories.NUM_PERM, seed=1, scheme="affine32").permutations
    assert stories._A.ravel().tolist() == [int(x) for x in a]
    assert stories._B.ravel().tolist() == [int(x) for x in b]


@settings(max_examples=300, deadline=None)
@given(hash_lists)
def test_minhash_signatures_equal_datasketchs(hashes: list[int]) -> None:
    ours = stories._minhash(np.array(hashes, dtype=np.uint32))
    assert ours.dtype == np.uint32
    assert ours.tolist() == _datasketch_signature(hashes)


@settings(max_examples=200, deadline=None)
@given(title=texts, body=texts)
def test_a_print_is_the_one_datasketch_made(title: str, body: str) -> None:
    """The whole print: the distinct shingle hashes (np.unique's answer), their
    count and the signature as the datasketch-based code computed them."""
    text = normalize_title(title) + normalize_body(body)
    p = story_print(title, body)
    if not text:
        assert p.size == 0 and p.signature.tolist() == [2**32 - 1] * stories.NUM_PERM
        return
    hashes = stories._shingle_hashes(text, stories.SHINGLE)
    assert hashes.tolist() == np.unique(_raw_shingle_hashes(text)).tolist()
    assert p.size == len(hashes)
    assert p.signature.tolist() == _datasketch_signature(hashes.tolist())


def _raw_shingle_hashes(text: str) -> np.ndarray:
    """Every window's hash, repeats kept, the way the first version computed them."""
    points = [ord(c) for c in text]
    k = min(stories.SHINGLE, len(points))
    out = []
    for i in range(len(points) - k + 1):
        h = 0
        for c in points[i : i + k]:
            h = (h * 1_000_003 + c) % 2**64
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) % 2**64
        h ^= h >> 29
        out.append(h & 0xFFFFFFFF)
    return np.array(out, dtype=np.uint32)


def test_prints_made_by_the_datasketch_version_are_unchanged() -> None:
    """The stored bytes of two prints made by the datasketch version (their SHA-256,
    taken before the change): articles stored then are compared with ones printed
    now, so a print must not change without a new print version and a migration."""
    made_then = {
        (ORIGINAL_TITLE, tuple(ORIGINAL)):
            "f54d179ffa41aa4a0e8631758a22c5ab3a5e0eede76e8e58f4530a614f0a8872",
        (DECOY_TITLE, tuple(DECOY)):
            "afbc81a30bb3cb8dd7b73bbb9892ab838e0bc5080405b6946198faf44da4a032",
    }
    for (title, body), digest in made_then.items():
        data = story_print(title, html(list(body))).to_bytes()
        assert hashlib.sha256(data).hexdigest() == digest


# -- the store's batch folding decides as the in-memory index does --------------------


def _fold_both(prints: list[StoryPrint], stored_count: int) -> tuple[list[int], list[int]]:
    """Stories of the articles after ``stored_count`` (seq = position + 1): through
    :class:`StoryIndex` over all of them, and through :func:`fold_batch` given the
    earlier ones as the store hands them over (their stories, bytes and the band
    rows matching the batch's keys)."""
    index = StoryIndex()
    expected = [index.fold(seq, p) for seq, p in enumerate(prints, start=1)]
    stored = {seq: p.to_bytes()
              for seq, p in enumerate(prints[:stored_count], start=1) if p.usable}
    asked: list[list[int]] = []

    def story_of(seqs: list[int]) -> dict[int, int]:
        asked.append(seqs)
        assert set(seqs) <= set(stored)
        return {seq: index.story_of(seq) or seq for seq in seqs}

    new = [(seq, p) for seq, p in enumerate(prints, start=1)
           if seq > stored_count and p.usable]
    keys = band_keys([p for _, p in new])
    wanted = set(keys.ravel().tolist())
    rows = [(key, seq) for seq in stored for key in prints[seq - 1].bands() if key in wanted]
    got = fold_batch(new, keys, stored, rows, story_of)
    assert len(asked) <= 1  # one question per batch
    return [expected[seq - 1] for seq, _ in new], got


def test_batch_folding_finds_the_stories_the_index_finds() -> None:
    texts = [site_text(7, n) for n in range(150)]
    prints = []
    for n, text in enumerate(texts):
        prints.append(story_print(text.title, html(list(text.paragraphs))))
        if n % 3 == 0:  # a repost of an earlier one, within the batch or stored
            older = texts[n // 2]
            repost = repost_text(older, older)
            prints.append(story_print(repost.title, html(list(repost.paragraphs))))
    for stored_count in (0, 40, 120, len(prints) - 5):
        expected, got = _fold_both(prints, stored_count)
        assert got == expected
    assert sum(1 for seq, story in enumerate(_fold_both(prints, 0)[1], 1) if story != seq) >= 40


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "【转载】", "[要闻]"]),
                          st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=14),
       st.integers(0, 14))
def test_batch_folding_agrees_with_the_index(arrivals: list[tuple[str, int, int]],
                                             stored_count: int) -> None:
    bodies = [ORIGINAL, DECOY, ORIGINAL[:-1], [ORIGINAL[0], "另一件事。"]]
    titles = [ORIGINAL_TITLE, DECOY_TITLE, ORIGINAL_TITLE, "乍浦湾临港开发区另一件事"]
    prints = [story_print(label + titles[t], html(bodies[b])) for label, t, b in arrivals]
    expected, got = _fold_both(prints, min(stored_count, len(prints)))
    assert got == expected


# -- normalizing through a table gives what the regular expression gives -----------


def test_the_word_table_is_the_regular_expressions_word() -> None:
    table = stories._word_table()
    for point in range(0x10000):
        assert bool(table[point]) == (stories._NOT_WORD.fullmatch(chr(point)) is None)


long_texts = st.text(st.characters(codec="utf-8"), min_size=stories._SHORT, max_size=400)


@settings(max_examples=200, deadline=None)
@given(st.one_of(texts, long_texts, long_texts.map(lambda t: t + "\ud800x\U0002a6a5")))
def test_dropping_non_words_equals_the_regular_expression(text: str) -> None:
    assert stories._words(text) == stories._NOT_WORD.sub("", text)


# -- prints made in batches are the prints made one by one -------------------------


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(texts, st.one_of(texts, long_texts)), max_size=40))
def test_a_batch_of_prints_is_each_print(articles: list[tuple[str, str]]) -> None:
    """Two code paths: blocks of articles (the intake's) and one article at a time."""
    batch = stories.story_prints(articles)
    assert [p.to_bytes() for p in batch] == [story_print(*a).to_bytes() for a in articles]


def test_prints_spanning_matrix_blocks_are_datasketchs() -> None:
    """Articles longer than a block of the MinHash matrix, and many short ones
    sharing blocks, next to each other in one batch."""
    texts_ = [site_text(5, n) for n in range(60)]
    # ~9,000 distinct shingles: more than two blocks.
    long_body = html(["".join(chr(0x4E00 + n * 7919 % 20_000) for n in range(9_000))])
    articles = [(t.title, html(list(t.paragraphs))) for t in texts_[:30]]
    articles.insert(7, ("长文", long_body))
    articles.append(("另一篇长文", long_body[:-500]))
    prints = stories.story_prints(articles)
    assert max(p.size for p in prints) > 2 * stories._BLOCK
    for (title, body), p in zip(articles, prints, strict=True):
        hashes = stories._shingle_hashes(normalize_title(title) + normalize_body(body),
                                         stories.SHINGLE)
        assert p.signature.tolist() == _datasketch_signature(hashes.tolist())


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(texts, long_texts), max_size=60))
def test_shingles_hashed_in_blocks_are_each_texts(batch: list[str]) -> None:
    normalized = [stories.normalize(text) for text in batch]
    expected = [stories._shingle_hashes(text, stories.SHINGLE).tolist() for text in normalized]
    assert [h.tolist() for h in stories._shingle_hashes_of(normalized)] == expected


@settings(max_examples=100, deadline=None)
@given(st.lists(texts, max_size=30))
def test_title_bigrams_computed_together_are_each_titles(titles: list[str]) -> None:
    heads = [normalize_title(title) for title in titles]
    assert stories._bigrams_of(heads) == [stories._bigrams(head) for head in heads]
