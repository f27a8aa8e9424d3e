"""Stories across sources (SPEC §6): which articles tell the same news.

Pure: text in, prints and decisions out; no I/O, no clock. The same news on a
zone's site and reposted on a portal (a prefix like 【园区动态】, a trimmed closing
sentence, another URL) differs by a few characters, so articles are compared on
their *normalized* text: markup, bracketed title prefixes, punctuation and
whitespace gone, full-width forms folded to half-width (NFKC), lower case.

A :class:`StoryPrint` holds what a comparison needs: a MinHash signature
(datasketch's "affine32" scheme, computed here in numpy) of the 5-character
shingles of title + body, the number of distinct shingles, and the title's
character bigrams. LSH band keys (:meth:`StoryPrint.bands`) find candidates
without comparing every pair; :func:`same_story` decides.

Speed: the intake prints a batch of records at once (:func:`story_prints`: the
shingles of a block of texts hashed in one pass, their MinHash in one matrix) and
the store folds a batch at once (:func:`fold_batch`: every candidate pair's
similarity in one array operation); both give what the article-at-a-time
functions give, which the tests check.

Why the title too: two notices of one zone on one day often share a long
boilerplate opening (the zone's name, the date, the committee) and differ in a
sentence or two, so on a short text the body alone may look 80 % alike. Different
news has a different title; a repost keeps it (minus the prefix).
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

import numpy as np

from feeds.text import strip_markup

#: MinHash permutations, and their LSH banding: BANDS bands of ROWS values each.
#: With 20 x 6 a pair at Jaccard 0.8 shares a band with probability 0.998, at 0.7
#: with 0.91, at 0.5 with 0.27 and at 0.4 with 0.08: news of one zone written from
#: the same template (similarity 0.3-0.5) seldom becomes a candidate, which keeps
#: the lookups per article flat as the store grows. One more key per article, its
#: title and opening (:data:`OPENING` characters), finds the reposts whose
#: similarity fell (a trimmed sentence of a short article).
NUM_PERM = 120
ROWS = 6
BANDS = NUM_PERM // ROWS
OPENING = 30
#: Shingle length in characters (after normalization), of title + body.
SHINGLE = 5
#: MinHash similarity at or above which two articles are one story (SPEC §6).
THRESHOLD = 0.8
#: Titles must share at least this share of their character bigrams.
TITLE_MIN = 0.5
#: The numbers of the text stating fewer must mostly recur in the other.
NUMBERS_MIN = 0.8
#: A trimmed repost of a short article: nearly all of the shorter text in the
#: longer one, and nearly the same title.
CONTAINED = 0.85
CONTAINED_TITLE = 0.8
CONTAINED_MIN_JACCARD = 0.5
#: No pair below this MinHash similarity passes either branch of the rule.
_LEAST = min(THRESHOLD, CONTAINED_MIN_JACCARD)
#: Fewer distinct shingles than this (a title-only item of a few characters) is
#: too little to tell stories apart: such an article is never folded.
MIN_SHINGLES = 8

_PREFIX = re.compile(r"^\s*(?:(?:【[^】]{0,30}】|\[[^\]]{0,30}\]|〖[^〗]{0,30}〗|\s)+)")
_NOT_WORD = re.compile(r"[\W_]+")
_VERSION = 1
_HEADER = struct.Struct("<BIHHq")
#: Powers of a prime, highest first: polynomial hashes as one matrix product.
_POWERS = np.array([1_000_003**i % 2**64 for i in range(15, -1, -1)], dtype=np.uint64)
_BAND_SALT = np.arange(1, 1 + 10_000, dtype=np.uint64)[: NUM_PERM // ROWS] * np.uint64(
    0x9E3779B97F4A7C15
)
_DIGITS = re.compile(r"[0-9]+(?:[.][0-9]+)?")


def normalize(text: str) -> str:
    """What is compared of a text: words only, half-width, lower case.

    Punctuation goes first (most of what NFKC would fold is full-width
    punctuation, and the text gets shorter); a word character NFKC spells with
    punctuation (㈱ -> (株)) loses it in the second pass.
    """
    text = _words(text)
    if not unicodedata.is_normalized("NFKC", text):
        text = _words(unicodedata.normalize("NFKC", text))
    return text.casefold()


#: Below this length the regular expression is cheaper than the array round trip.
_SHORT = 64


def _words(text: str) -> str:
    """``text`` without its non-word characters (``[\\W_]``: whatever is not
    alphanumeric), as ``_NOT_WORD.sub("", text)`` gives it.

    A body's few hundred characters go through a table lookup per code point: the
    regular expression looked up each character's Unicode category in turn and
    cost about three times as much. Characters beyond the BMP (rare) take the
    regular expression."""
    if len(text) < _SHORT:
        return _NOT_WORD.sub("", text)
    points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if int(points.max()) > 0xFFFF:
        return _NOT_WORD.sub("", text)
    kept = points[_word_table()[points]]
    return text if len(kept) == len(points) else kept.tobytes().decode("utf-32-le")


@cache
def _word_table() -> np.ndarray:
    """For each BMP code point, whether it is a word character (``str.isalnum``:
    the regular expression's ``\\w`` less ``_``). Built on first use (~20 ms)."""
    return np.array([chr(point).isalnum() for point in range(0x10000)], dtype=bool)


def normalize_title(title: str) -> str:
    """A title without a leading 【…】/[…] label, normalized."""
    text = unicodedata.normalize("NFKC", title)
    return normalize(_PREFIX.sub("", text))


def _bigrams(text: str) -> frozenset[int]:
    """A short text's character bigrams (its one character, if that is all) as
    32-bit integers: exact, and cheaper than hashing for a title."""
    if len(text) < 2:
        return frozenset(ord(c) for c in text)
    return frozenset(((a * 1_000_003) ^ b) & 0xFFFFFFFF for a, b in pairwise(map(ord, text)))


def _bigrams_of(texts: Sequence[str]) -> list[frozenset[int]]:
    """:func:`_bigrams` of each text, the pairs of all of them computed at once."""
    joined = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    points = joined.astype(np.uint64)
    pairs: list[int] = (((points[:-1] * np.uint64(1_000_003)) ^ points[1:])
                        & np.uint64(0xFFFFFFFF)).tolist()
    out: list[frozenset[int]] = []
    at = 0
    for text in texts:
        n = len(text)
        out.append(frozenset(pairs[at : at + n - 1]) if n >= 2 else _bigrams(text))
        at += n
    return out


def normalize_body(content: str) -> str:
    """An article body (HTML or text) without markup, normalized."""
    return normalize(strip_markup(content))


def _shingle_hashes(text: str, k: int) -> np.ndarray:
    """Distinct 32-bit hashes of every ``k``-character window (the whole text when
    shorter), sorted. A polynomial over code points, mixed: stable across processes
    and machines, unlike :func:`hash`, because the prints are stored.

    Sorting and dropping repeats gives what ``np.unique`` gave (its hash table cost
    twice as much on texts of a few hundred characters)."""
    if not text:
        return np.zeros(0, dtype=np.uint32)
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    k = min(k, len(points))
    n = len(points) - k + 1
    # Window i: sum of points[i + j] * powers[j], in uint64 arithmetic (it wraps).
    h = np.correlate(points, _POWERS[-k:], "valid")
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(29)
    hashes: np.ndarray = h.astype(np.uint32)  # the low 32 bits
    hashes.sort()
    if n > 1:
        keep = np.empty(n, dtype=bool)
        keep[0] = True
        np.not_equal(hashes[1:], hashes[:-1], out=keep[1:])
        hashes = hashes[keep]
    return hashes


def _shingle_hashes_of(texts: Sequence[str]) -> list[np.ndarray]:
    """:func:`_shingle_hashes` of each text (``SHINGLE`` characters), computed a
    block of texts at a time: one pass of array operations over their code points
    in a row instead of a dozen small ones per text."""
    out = [_EMPTY] * len(texts)
    block: list[int] = []
    size = 0
    for i, text in enumerate(texts):
        if len(text) < SHINGLE:  # one shingle of the whole text, or none
            out[i] = _shingle_hashes(text, SHINGLE)
            continue
        block.append(i)
        size += len(text)
        if size >= _BLOCK:
            _hash_block(texts, block, out)
            block, size = [], 0
    if block:
        _hash_block(texts, block, out)
    return out


def _hash_block(texts: Sequence[str], block: list[int], out: list[np.ndarray]) -> None:
    """Set ``out[i]`` for the texts ``block`` (each at least ``SHINGLE`` long)."""
    lengths = np.array([len(texts[i]) for i in block], dtype=np.intp)
    joined = "".join([texts[i] for i in block]).encode("utf-32-le")
    points = np.frombuffer(joined, dtype=np.uint32).astype(np.uint64)
    h = np.correlate(points, _POWERS[-SHINGLE:], "valid")  # a window at every offset
    # Only the windows inside one text: its offset .. offset + length - SHINGLE.
    counts = lengths - (SHINGLE - 1)
    firsts = np.cumsum(lengths) - lengths - (np.cumsum(counts) - counts)
    h = h[np.repeat(firsts, counts) + np.arange(int(counts.sum()))]
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(29)
    # Each text's distinct hashes, sorted: (text, hash) pairs sorted together.
    keys = np.repeat(np.arange(len(block), dtype=np.uint64) << np.uint64(32), counts)
    keys |= h & np.uint64(0xFFFFFFFF)
    keys.sort()
    keep = np.empty(len(keys), dtype=bool)
    keep[0] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    keys = keys[keep]
    sizes = np.bincount((keys >> np.uint64(32)).astype(np.intp), minlength=len(block))
    hashes = keys.astype(np.uint32)  # the low 32 bits
    for i, part in zip(block, np.split(hashes, np.cumsum(sizes)[:-1]), strict=True):
        out[i] = part


def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine permutations ``h -> a*h + b mod 2**32`` (``a`` odd) that datasketch
    2's "affine32" scheme draws for ``MinHash(num_perm, seed)``, in the same order
    from the same generator (numpy keeps ``RandomState`` streams stable)."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a.reshape(-1, 1), b.reshape(-1, 1)


#: Column vectors: ``_A * hashes`` is the (NUM_PERM, shingles) matrix in one step.
_A, _B = _permutations(NUM_PERM, seed=1)


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer (a bijection), as datasketch pre-mixes each
    input hash before permuting it."""
    h = np.bitwise_xor(h, h >> np.uint32(16))
    h *= np.uint32(0x85EBCA6B)  # uint32 arithmetic wraps: that is the mod 2**32
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


_EMPTY = np.zeros(0, dtype=np.uint32)
#: Shingle hashes per block of the MinHash matrix: ``NUM_PERM`` x this uint32 values
#: (~2 MB) stay in the CPU's cache, and a block holds a dozen articles or more.
_BLOCK = 4096


def _minhash(hashes: np.ndarray) -> np.ndarray:
    """The MinHash signature of the (non-empty) uint32 ``hashes``: per permutation,
    the least ``a*fmix(h) + b mod 2**32`` (a row of :func:`_minhashes`)."""
    signature: np.ndarray = _minhashes([hashes])[0]
    return signature


def _minhashes(hashes: Sequence[np.ndarray]) -> np.ndarray:
    """The MinHash signatures of many articles' uint32 shingle hashes, ``(n,
    NUM_PERM)``; all ``0xFFFFFFFF`` for an article without any.

    Bit for bit what ``datasketch.MinHash(num_perm=NUM_PERM, seed=1,
    scheme="affine32", hashfunc=int).update_batch(hashes)`` gives (the prints
    stored before this code are still valid; tests/feeds/test_stories.py compares
    the two). Our own arithmetic because datasketch hashes its input in a Python
    loop (``[hashfunc(b) for b in batch]``) and builds a MinHash object per
    article: measured on the bench's articles (~270 shingles each) its
    ``update_batch`` took 122 us per article against 58 us for the same arithmetic
    in numpy, one article at a time, and importing it pulled in SciPy (~1.2 s of
    CPU, ~68 MB) on the first print. Several articles share one matrix (a block of
    :data:`_BLOCK` hashes, each article's minimum taken over its own columns):
    numpy's per-row overhead on a few hundred columns had cost as much as the
    arithmetic (27 us per article, measured the same way).
    """
    out = np.full((len(hashes), NUM_PERM), 0xFFFFFFFF, dtype=np.uint32)
    pieces: list[np.ndarray] = []
    owners: list[int] = []
    size = 0
    for owner, one in enumerate(hashes):
        for start in range(0, len(one), _BLOCK):
            piece = one[start : start + _BLOCK]
            if size + len(piece) > _BLOCK:
                _block_minima(out, pieces, owners)
                pieces, owners, size = [], [], 0
            pieces.append(piece)
            owners.append(owner)
            size += len(piece)
    if pieces:
        _block_minima(out, pieces, owners)
    return out


def _block_minima(out: np.ndarray, pieces: list[np.ndarray], owners: list[int]) -> None:
    """Lower ``out[owner]`` to each piece's per-permutation minimum."""
    starts = np.zeros(len(pieces), dtype=np.intp)
    np.cumsum([len(piece) for piece in pieces[:-1]], out=starts[1:])
    m = _A * _fmix32(np.concatenate(pieces))  # (NUM_PERM, hashes); uint32 wraps
    m += _B
    minima = np.minimum.reduceat(m, starts, axis=1).T
    np.minimum.at(out, np.asarray(owners, dtype=np.intp), minima)


@dataclass(frozen=True, slots=True, eq=False)
class StoryPrint:
    """What telling stories apart needs of one article (stored with it)."""

    signature: np.ndarray  # NUM_PERM uint32 MinHash values of title + body
    size: int  # distinct shingles of title + body
    title: frozenset[int] = frozenset()  # hashes of the title's character bigrams
    numbers: frozenset[int] = frozenset()  # hashes of the numbers the text states
    opening: int = 0  # band key of the normalized title and the body's opening

    @property
    def usable(self) -> bool:
        return self.size >= MIN_SHINGLES

    def bands(self) -> list[int]:
        """LSH band keys: one signed 63-bit integer per band (fits a BIGINT), then
        the title-and-opening key (a row of :func:`band_keys`)."""
        return [*_minhash_bands(self.signature.reshape(1, NUM_PERM))[0].tolist(), self.opening]

    def to_bytes(self) -> bytes:
        return (
            _HEADER.pack(_VERSION, self.size, len(self.title), len(self.numbers), self.opening)
            + self.signature.astype("<u4").tobytes()
            + struct.pack(f"<{len(self.title)}I", *sorted(self.title))
            + struct.pack(f"<{len(self.numbers)}I", *sorted(self.numbers))
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> StoryPrint:
        version, size, n_title, n_numbers, opening = _HEADER.unpack_from(data)
        if version != _VERSION:
            raise ValueError(f"story print version {version} (this zonewire knows {_VERSION})")
        at = _HEADER.size
        signature = np.frombuffer(data, dtype="<u4", count=NUM_PERM, offset=at)
        at += 4 * NUM_PERM
        title = struct.unpack_from(f"<{n_title}I", data, at)
        numbers = struct.unpack_from(f"<{n_numbers}I", data, at + 4 * n_title)
        return cls(signature, size, frozenset(title), frozenset(numbers), opening)


def _minhash_bands(signatures: np.ndarray) -> np.ndarray:
    """The MinHash band keys of ``(n, NUM_PERM)`` signatures, ``(n, BANDS)`` int64."""
    rows = signatures.astype(np.uint64).reshape(len(signatures), BANDS, ROWS)
    h = (rows @ _POWERS[-ROWS:]) ^ _BAND_SALT  # uint64 arithmetic wraps
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(31)
    keys: np.ndarray = (h >> np.uint64(1)).astype(np.int64)
    return keys


def band_keys(prints: Sequence[StoryPrint]) -> np.ndarray:
    """Every print's :meth:`StoryPrint.bands` as one ``(n, BANDS + 1)`` int64 array,
    computed for the whole batch at once."""
    keys = np.empty((len(prints), BANDS + 1), dtype=np.int64)
    if prints:
        keys[:, :BANDS] = _minhash_bands(np.stack([p.signature for p in prints]))
        keys[:, BANDS] = [p.opening for p in prints]
    return keys


def key_list(keys: np.ndarray) -> list[int]:
    """The distinct keys of a :func:`band_keys` array, in order."""
    distinct: list[int] = np.unique(keys).tolist()
    return distinct


def band_rows(seqs: Sequence[int], keys: np.ndarray) -> list[tuple[int, int]]:
    """``(band key, seq)`` rows to store for articles ``seqs`` with :func:`band_keys`
    ``keys``, sorted; a key repeated within one article (rare) is one row."""
    flat = keys.ravel()
    owners = np.repeat(np.asarray(seqs, dtype=np.int64), keys.shape[1])
    order = np.lexsort((owners, flat))
    flat, owners = flat[order], owners[order]
    first = np.ones(len(flat), dtype=bool)
    first[1:] = (flat[1:] != flat[:-1]) | (owners[1:] != owners[:-1])
    return list(zip(flat[first].tolist(), owners[first].tolist(), strict=True))


def stored_signatures(data: Sequence[bytes]) -> np.ndarray:
    """The signatures of stored prints (:meth:`StoryPrint.to_bytes`) as one
    ``(n, NUM_PERM)`` array, without decoding the rest of each print."""
    at = _HEADER.size
    for one in data:
        if one[0] != _VERSION:
            StoryPrint.from_bytes(one)  # raises, naming the version
    joined = b"".join(one[at : at + 4 * NUM_PERM] for one in data)
    return np.frombuffer(joined, dtype="<u4").reshape(len(data), NUM_PERM)


def fold_batch(
    new: Sequence[tuple[int, StoryPrint]],
    keys: np.ndarray,
    stored: Mapping[int, bytes],
    stored_bands: Iterable[tuple[int, int]],
    story_of: Callable[[list[int]], Mapping[int, int]],
) -> list[int]:
    """The story of each new article, as :class:`StoryIndex` would file them.

    ``new``: ``(seq, print)`` of usable prints in ``seq`` order, ``keys`` their
    :func:`band_keys`; ``stored``: ``seq -> print bytes`` of the stored articles
    sharing a band key with the batch, ``stored_bands`` their ``(band key, seq)``
    rows; ``story_of(seqs)``: the stories of such stored articles, asked once for
    the few that may be alike. Each article joins the story of the most alike
    earlier article sharing a band and passing :func:`same_story` (ties: the
    oldest story), or leads its own.

    The same decisions as :meth:`StoryIndex.fold`, found another way: the store
    hands over a few candidates per article, most of them template news of about
    the same wording (MinHash similarity 0.2-0.5, more of them as the store grows),
    so every pair's similarity is counted in one array operation and only the
    pairs that may pass the rule are looked at in Python, their prints decoded and
    their stories asked for.
    """
    n = len(new)
    if n == 0:
        return []
    signatures = np.stack([p.signature for _, p in new])
    stored_seqs = np.array(sorted(stored), dtype=np.int64)
    candidates: list[list[tuple[int, int, int]]] = [[] for _ in range(n)]
    # The batch's keys in order, each with its article (row of ``keys``).
    flat = keys.ravel()
    order = np.argsort(flat)
    ranked, owners = flat[order], order // keys.shape[1]
    # Pairs (article of the batch, stored article) sharing a band key.
    rows = np.array(stored_bands, dtype=np.int64).reshape(-1, 2)
    where = np.searchsorted(stored_seqs, rows[:, 1])
    printed = where < len(stored_seqs)
    printed[printed] = stored_seqs[where[printed]] == rows[printed, 1]
    rows, where = rows[printed], where[printed]
    if len(rows):
        low = np.searchsorted(ranked, rows[:, 0], side="left")
        found = np.searchsorted(ranked, rows[:, 0], side="right") - low
        total = int(found.sum())
        # Each stored row with every batch key equal to its key: low .. low+found-1.
        firsts = np.repeat(low - (np.cumsum(found) - found), found) + np.arange(total)
        pairs = np.unique(owners[firsts] * len(stored_seqs) + np.repeat(where, found))
        left, right = np.divmod(pairs, len(stored_seqs))
        known = stored_signatures([stored[seq] for seq in stored_seqs.tolist()])
        _keep_near(candidates, signatures[left] == known[right], left, right, 0)
    # Pairs (article of the batch, an earlier one of the batch) sharing a band key:
    # equal neighbours among the ranked keys (few: reposts within one batch).
    repeated = np.nonzero(ranked[1:] == ranked[:-1])[0].tolist()
    if repeated:
        runs: dict[int, set[int]] = {}
        for i in repeated:
            runs.setdefault(int(ranked[i]), set()).update(owners[i : i + 2].tolist())
        earlier = sorted({(a, b) for run in runs.values() for a in run for b in run if b < a})
        left, right = (np.array(side, dtype=np.intp) for side in zip(*earlier, strict=True))
        _keep_near(candidates, signatures[left] == signatures[right], left, right, 1)
    near = sorted({int(stored_seqs[at]) for found in candidates
                   for _, in_batch, at in found if not in_batch})
    known_story = story_of(near) if near else {}
    stories: list[int] = []
    decoded: dict[int, StoryPrint] = {}
    for i, (seq, print_) in enumerate(new):
        best: tuple[int, int] | None = None
        for count, in_batch, at in candidates[i]:
            if in_batch:
                story, other = stories[at], new[at][1]
            else:
                stored_seq = int(stored_seqs[at])
                story = known_story[stored_seq]
                if at not in decoded:
                    decoded[at] = StoryPrint.from_bytes(stored[stored_seq])
                other = decoded[at]
            if alike(_likeness(print_, other, count / NUM_PERM)):
                score = (count, -story)
                if best is None or score > best:
                    best = score
        stories.append(seq if best is None else -best[1])
    return stories


def _keep_near(candidates: list[list[tuple[int, int, int]]], equal: np.ndarray,
               left: np.ndarray, right: np.ndarray, in_batch: int) -> None:
    """Add to ``candidates[left]`` the pairs whose MinHash similarity (from
    ``equal``, their signatures compared) may pass :func:`alike`."""
    counts = np.count_nonzero(equal, axis=1)
    near = np.nonzero(counts / NUM_PERM >= _LEAST)[0]
    for i, j, count in zip(left[near].tolist(), right[near].tolist(), counts[near].tolist(),
                           strict=True):
        candidates[i].append((count, in_batch, j))


def story_print(title: str, content: str) -> StoryPrint:
    """The print of an article's title and body, computed on its own (the
    reference :func:`story_prints` is tested against)."""
    head = normalize_title(title)
    body = normalize_body(content)
    text = head + body
    hashes = _shingle_hashes(text, SHINGLE)
    if len(hashes) == 0:
        return StoryPrint(np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32), 0)
    return StoryPrint(_minhash(hashes), len(hashes), _bigrams(head), _numbers(text),
                      _opening_key(head, body))


def story_prints(articles: Sequence[tuple[str, str]]) -> list[StoryPrint]:
    """The prints of many articles' ``(title, body)``, each the same as
    :func:`story_print` gives: their MinHash matrices are shared (:func:`_minhashes`)."""
    heads = [normalize_title(title) for title, _ in articles]
    bodies = [normalize_body(content) for _, content in articles]
    texts = [head + body for head, body in zip(heads, bodies, strict=True)]
    hashes = _shingle_hashes_of(texts)
    signatures = _minhashes(hashes)
    return [
        StoryPrint(signature, len(shingles), bigrams, _numbers(text),
                   _opening_key(head, body)) if len(shingles) else StoryPrint(signature, 0)
        for signature, shingles, head, body, text, bigrams
        in zip(signatures, hashes, heads, bodies, texts, _bigrams_of(heads), strict=True)
    ]


def _opening_key(head: str, body: str) -> int:
    """A band key of the title and the body's first characters (a signed 63-bit
    integer, like the MinHash band keys it sits beside)."""
    digest = hashlib.blake2b(f"{head}\x1f{body[:OPENING]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def _numbers(text: str) -> frozenset[int]:
    """Hashes of the numbers a text states (2600万元, 16条, 11月20日): template news
    of one zone differ mostly in them, a repost keeps them."""
    return frozenset(map(zlib.crc32, map(str.encode, _DIGITS.findall(text))))


@dataclass(frozen=True, slots=True)
class Likeness:
    """How alike two prints are: MinHash Jaccard estimate, estimated containment
    of the smaller text in the larger, exact title-bigram Jaccard, and the share of
    the numbers of the text with fewer numbers found in the other (1 without any)."""

    jaccard: float
    containment: float
    title: float
    numbers: float


def likeness(a: StoryPrint, b: StoryPrint) -> Likeness:
    return _likeness(a, b, signature_jaccard(a, b))


def signature_jaccard(a: StoryPrint, b: StoryPrint) -> float:
    """The MinHash estimate of the Jaccard similarity of the two texts' shingles."""
    return int(np.count_nonzero(a.signature == b.signature)) / NUM_PERM


def _likeness(a: StoryPrint, b: StoryPrint, jaccard: float) -> Likeness:
    small = min(a.size, b.size)
    shared = jaccard * (a.size + b.size) / (1.0 + jaccard)
    containment = min(1.0, shared / small) if small else 0.0
    common = len(a.title & b.title)
    union = len(a.title) + len(b.title) - common
    title = common / union if union else 1.0
    fewer = min(len(a.numbers), len(b.numbers))
    numbers = len(a.numbers & b.numbers) / fewer if fewer else 1.0
    return Likeness(jaccard, containment, title, numbers)


def same_story(a: StoryPrint, b: StoryPrint) -> bool:
    """Whether two articles are one story.

    MinHash similarity >= :data:`THRESHOLD` on title + body with titles alike; or,
    for a short article whose repost lost a sentence, one text nearly contained in
    the other with nearly the same title.
    """
    if not (a.usable and b.usable):
        return False
    return alike(likeness(a, b))


def alike(like: Likeness) -> bool:
    """The rule of :func:`same_story`, on a computed :class:`Likeness`."""
    if like.title < TITLE_MIN or like.numbers < NUMBERS_MIN:
        return False
    if like.jaccard >= THRESHOLD:
        return True
    return (
        like.title >= CONTAINED_TITLE
        and like.containment >= CONTAINED
        and like.jaccard >= CONTAINED_MIN_JACCARD
    )


class StoryIndex:
    """Articles by LSH band, and the story each belongs to: the folding rule
    article by article, in memory (the bench and tests keep one). The store folds
    a batch with :func:`fold_batch`, which makes the same decisions
    (tests/feeds/test_stories.py compares the two).
    """

    def __init__(self) -> None:
        self._bands: dict[int, list[int]] = {}
        self._known: dict[int, tuple[int, StoryPrint]] = {}

    def __len__(self) -> int:
        return len(self._known)

    def add(self, seq: int, story: int, print_: StoryPrint, bands: Iterable[int] | None = None
            ) -> None:
        """Know article ``seq`` of story ``story`` (its own ``seq`` when it leads)."""
        if seq in self._known or not print_.usable:
            return
        self._known[seq] = (story, print_)
        for key in print_.bands() if bands is None else bands:
            self._bands.setdefault(key, []).append(seq)

    def find(self, print_: StoryPrint, bands: Iterable[int] | None = None) -> int | None:
        """The story ``print_`` belongs to, if any: of the known articles sharing a
        band and passing :func:`same_story`, the most alike (ties: oldest story)."""
        if not print_.usable:
            return None
        seen: set[int] = set()
        best: tuple[float, int] | None = None
        for key in print_.bands() if bands is None else bands:
            for seq in self._bands.get(key, ()):
                if seq in seen:
                    continue
                seen.add(seq)
                story, other = self._known[seq]
                jaccard = signature_jaccard(print_, other)
                if jaccard < _LEAST:  # most candidates: skip the rest of the rule
                    continue
                like = _likeness(print_, other, jaccard)
                if not alike(like):
                    continue
                score = (like.jaccard, -story)
                if best is None or score > best:
                    best = score
        return None if best is None else -best[1]

    def fold(self, seq: int, print_: StoryPrint) -> int:
        """File article ``seq``; its story: an earlier one's, or ``seq`` (it leads)."""
        bands = print_.bands()
        story = self.find(print_, bands)
        if story is None:
            story = seq
        self.add(seq, story, print_, bands)
        return story

    def story_of(self, seq: int) -> int | None:
        known = self._known.get(seq)
        return None if known is None else known[0]


def joined(stories: Mapping[int, int]) -> dict[int, int]:
    """Of ``seq -> story``, the articles that joined another's story."""
    return {seq: story for seq, story in stories.items() if story != seq}
