"""The bundled sample portal (``zonewire sample-portal``): see :mod:`feeds.sample.portal`."""

from __future__ import annotations

from feeds.sample.content import PLACES, ZONES, SampleText
from feeds.sample.pages import ABOUT_PATH, DETAIL_PATH, LIST_PATH, VARIANTS
from feeds.sample.portal import (
    CHARSETS,
    Request,
    Response,
    SamplePage,
    SamplePortal,
)
from feeds.sample.server import PortalServer, serve_portal

#: The ``detail_pattern`` a portal source needs for the sample portal.
DETAIL_PATTERN = r"/index\.php/home/news/detail/id/\d+\.html"

__all__ = [
    "ABOUT_PATH", "CHARSETS", "DETAIL_PATH", "DETAIL_PATTERN", "LIST_PATH", "PLACES", "VARIANTS",
    "ZONES", "PortalServer", "Request", "Response", "SamplePage", "SamplePortal", "SampleText",
    "serve_portal",
]
