"""``zonewire serve`` in distributed mode: the feeds come from ``feed_documents``.

Every server reads the same rows, so any number of them behind a load balancer
answer alike, with the same strong ETag (a hash of the bytes) for the same feed.
"""

from __future__ import annotations

from feeds.storage.documents import SqlFeedDocumentStore
from feeds.web import Documents, Found, document_found


def stored_documents(store: SqlFeedDocumentStore) -> Documents:
    """A blocking lookup by key for :func:`feeds.web.create_app` (run off the loop)."""

    def find(key: str) -> Found | None:
        document = store.get(key)
        if document is None:
            return None
        return document_found(document.key, document.body, document.etag, document.updated)

    return find
