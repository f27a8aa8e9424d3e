"""Raw SQL for tests that must see or bend the tables themselves (a rule the
database enforces, a row marked by hand): a connection of its own on the store's
database, so the store itself exposes no engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from feeds.storage import Storage
from feeds.storage.engine import create_engine


@contextmanager
def raw_connection(store: Storage, *, write: bool = False) -> Iterator[Connection]:
    """A connection to ``store``'s database; ``write``: in a transaction committed
    on leaving."""
    engine = create_engine(store.url)
    try:
        with engine.begin() if write else engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()
