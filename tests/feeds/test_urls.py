from __future__ import annotations

import pytest

from feeds.urls import InvalidURL, canonical_url


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        (
            "HTTPS://WWW.InvestCHN.com/index.php/home/news/detail/id/180736.html",
            "https://www.investchn.com/index.php/home/news/detail/id/180736.html",
        ),
        ("https://www.investchn.com:443/a.html", "https://www.investchn.com/a.html"),
        ("http://www.investchn.com:80/a.html", "http://www.investchn.com/a.html"),
        ("http://www.investchn.com:8080/a.html", "http://www.investchn.com:8080/a.html"),
        ("https://www.investchn.com/a.html#comments", "https://www.investchn.com/a.html"),
        (
            "https://www.investchn.com/a.html?utm_source=wechat&id=7&from=timeline",
            "https://www.investchn.com/a.html?id=7",
        ),
        ("https://www.investchn.com/a.html?b=2&a=1", "https://www.investchn.com/a.html?b=2&a=1"),
        (
            "https://example.org/西城/新闻.html",
            "https://example.org/%E8%A5%BF%E5%9F%8E/%E6%96%B0%E9%97%BB.html",
        ),
        (
            "https://example.org/%e8%a5%bf%e5%9f%8e/%E6%96%B0%E9%97%BB.html",
            "https://example.org/%E8%A5%BF%E5%9F%8E/%E6%96%B0%E9%97%BB.html",
        ),
        ("https://example.org", "https://example.org/"),
        ("  https://example.org/x  ", "https://example.org/x"),
    ],
)
def test_spellings_of_one_page_share_a_canonical_url(given: str, canonical: str) -> None:
    assert canonical_url(given) == canonical


@pytest.mark.parametrize(
    "bad", ["", "example.org/a.html", "ftp://example.org/a", "https://", "https://u:p@host/x"]
)
def test_non_http_urls_are_refused_with_the_url_in_the_message(bad: str) -> None:
    with pytest.raises(InvalidURL) as info:
        canonical_url(bad)
    assert repr(bad) in str(info.value)
