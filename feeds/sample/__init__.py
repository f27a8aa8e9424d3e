"""The bundled sample portal and zone website (``zonewire sample-portal``): see
:mod:`feeds.sample.portal` and :mod:`feeds.sample.site`."""

from __future__ import annotations

from feeds.sample.answers import Request, Response
from feeds.sample.content import PLACES, ZONES, SampleText
from feeds.sample.pages import ABOUT_PATH, DETAIL_PATH, LIST_PATH, VARIANTS
from feeds.sample.portal import CHARSETS, SamplePage, SamplePortal
from feeds.sample.server import PortalServer, serve_portal, serve_site
from feeds.sample.site import REPOST_PREFIX, SITE_ZONE, SampleSite, SiteArticle
from feeds.sample.sitepages import DETAIL_PATTERN as SITE_DETAIL_PATTERN
from feeds.sample.sitepages import LIST_FIRST as SITE_LIST_PATH

#: The ``detail_pattern`` a portal source needs for the sample portal.
DETAIL_PATTERN = r"/index\.php/home/news/detail/id/\d+\.html"

__all__ = [
    "ABOUT_PATH", "CHARSETS", "DETAIL_PATH", "DETAIL_PATTERN", "LIST_PATH", "PLACES",
    "REPOST_PREFIX", "SITE_DETAIL_PATTERN", "SITE_LIST_PATH", "SITE_ZONE", "VARIANTS", "ZONES",
    "PortalServer", "Request", "Response", "SamplePage", "SamplePortal", "SampleSite",
    "SampleText", "SiteArticle", "serve_portal", "serve_site",
]
