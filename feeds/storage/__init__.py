"""Storage: every table, every query and the migrations, behind small protocols.

Callers in ``feeds`` and ``notifier`` never see SQLAlchemy: they ask for what they
need through the protocols in :mod:`feeds.storage.protocols`. The schema is
:data:`feeds.storage.schema.metadata`; it changes only through the Alembic
migrations in ``feeds/storage/migrations``.
"""

from __future__ import annotations
