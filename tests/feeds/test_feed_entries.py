"""Entries kept per article (feed_entries) and entry lists as rows (feed_state_entries),
on SQLite and PostgreSQL: each article rendered once, documents assembled from the
kept bytes, stale renderings never used, ``--all`` renders anew; migration 0007
carries the old comma-separated lists over and back."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from feeds.intake import Ingestor
from feeds.publish import build_feeds
from feeds.regions import Gazetteer
from feeds.storage import Storage
from feeds.storage.engine import create_engine
from feeds.storage.feed_entries import feed_entries, feed_state_entries
from tests.feeds.test_atom import assert_valid
from tests.feeds.test_publish import BASE, DESHENG, fill, record, snapshot
from tests.support.rawdb import raw_connection


def kept(store: Storage) -> dict[int, tuple[str, bytes]]:
    with raw_connection(store) as conn:
        rows = conn.execute(
            sa.select(feed_entries.c.article_seq, feed_entries.c.version, feed_entries.c.atom)
        )
        return {seq: (version, bytes(atom)) for seq, version, atom in rows}


def lists(store: Storage) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    t = feed_state_entries.c
    with raw_connection(store) as conn:
        for key, seq in conn.execute(
            sa.select(t.feed_key, t.article_seq).order_by(t.feed_key, t.position)
        ):
            found.setdefault(key, []).append(seq)
    return found


def test_each_article_is_kept_once_and_its_bytes_are_in_every_feed_holding_it(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    fill(store, gazetteer, now)
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 50)
    entries = kept(store)
    assert sorted(entries) == sorted(a.seq for a in store.iter_articles())
    zone = gazetteer.zone_named(DESHENG)
    assert zone is not None
    desheng = store.get(record(1).url)
    assert desheng is not None
    atom = entries[desheng.seq][1]
    for key in (zone.key, "110102", "110000", "all"):
        assert atom in (out / "feeds" / f"{key}.atom").read_bytes()
    # Entry lists are rows, newest first, as the feeds list them.
    assert lists(store)["110102"] == [a.seq for a in store.latest("110102", 50)]


def test_later_builds_assemble_from_kept_entries_and_all_renders_anew(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    fill(store, gazetteer, now)
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 50)
    clean = snapshot(out)
    old = store.get(record(3).url)
    assert old is not None
    # Mark the kept entry of an article (same version, hash and updated).
    with raw_connection(store, write=True) as conn:
        atom = conn.execute(
            sa.select(feed_entries.c.atom).where(feed_entries.c.article_seq == old.seq)
        ).scalar_one()
        marked = bytes(atom).replace("重点项目".encode(), b"KEPT-ENTRY")
        assert marked != bytes(atom)
        conn.execute(
            sa.update(feed_entries)
            .where(feed_entries.c.article_seq == old.seq)
            .values(atom=marked)
        )
    Ingestor(store, gazetteer).add([record(9, published=now)], now=now + timedelta(hours=1))
    report = build_feeds(store, gazetteer, out, BASE, 50)
    assert "feeds/110102.atom" in report.written
    # The zone's feed was assembled from the kept bytes, not re-rendered (nor read
    # back from the old file, which never held the mark).
    assert marked in (out / "feeds" / "110102.atom").read_bytes()
    assert b"KEPT-ENTRY" not in clean["feeds/110102.atom"][0]
    forced = build_feeds(store, gazetteer, out, BASE, 50, all=True)
    assert "feeds/110102.atom" in forced.written
    data = (out / "feeds" / "110102.atom").read_bytes()
    assert b"KEPT-ENTRY" not in data
    assert_valid(data)
    assert b"KEPT-ENTRY" not in kept(store)[old.seq][1]


def test_stale_renderings_are_not_used(
    store: Storage, gazetteer: Gazetteer, tmp_path: Path, now: datetime
) -> None:
    fill(store, gazetteer, now)
    out = tmp_path / "public"
    build_feeds(store, gazetteer, out, BASE, 50)
    before = kept(store)
    # A corrected article: its rendering is replaced, the others stay as they were.
    changed = record(2, content="<p>更正:签约项目总投资额更新为十二亿元。</p>")
    Ingestor(store, gazetteer).add([changed], now=now + timedelta(hours=2))
    build_feeds(store, gazetteer, out, BASE, 50)
    after = kept(store)
    two = store.get(changed.url)
    assert two is not None
    assert "十二亿元".encode() in after[two.seq][1] and after[two.seq] != before[two.seq]
    assert {s: v for s, v in after.items() if s != two.seq} == {
        s: v for s, v in before.items() if s != two.seq
    }
    # Another public URL changes every entry's category scheme: nothing kept is used.
    other = "http://feeds.example.org/"
    build_feeds(store, gazetteer, out, other, 50)
    moved = kept(store)
    assert all(v[0] != before[s][0] for s, v in moved.items())
    data = (out / "feeds" / "all.atom").read_bytes()
    assert f'scheme="{other}feeds/"'.encode() in data
    assert f'scheme="{BASE}feeds/"'.encode() not in data


def _upgrade(engine: sa.Engine, revision: str, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", "feeds.storage:migrations")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_migration_0007_carries_entry_lists_over_and_back(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        _upgrade(engine, "0006")
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO feed_state (key, fingerprint, entries, articles) "
                    "VALUES (:k, 'fp', :e, :n)"
                ),
                [
                    {"k": "110102", "e": "12,7,3", "n": 3},
                    {"k": "all", "e": "12,9,7,4,3", "n": 5},
                    {"k": "330400", "e": "", "n": 0},
                ],
            )
        _upgrade(engine, "heads")
        with engine.connect() as conn:
            t = feed_state_entries.c
            rows = conn.execute(
                sa.select(t.feed_key, t.position, t.article_seq).order_by(t.feed_key, t.position)
            ).all()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("feed_state")}
        assert [tuple(r) for r in rows] == [
            ("110102", 0, 12),
            ("110102", 1, 7),
            ("110102", 2, 3),
            ("all", 0, 12),
            ("all", 1, 9),
            ("all", 2, 7),
            ("all", 3, 4),
            ("all", 4, 3),
        ]
        assert "entries" not in columns
        _upgrade(engine, "0006", down=True)
        with engine.connect() as conn:
            back = dict(
                tuple(r) for r in conn.execute(sa.text("SELECT key, entries FROM feed_state"))
            )
        assert back == {"110102": "12,7,3", "all": "12,9,7,4,3", "330400": ""}
    finally:
        engine.dispose()
