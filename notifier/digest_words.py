"""The wording of digests (subject, headings, footer) in the languages they are sent in.

Kept apart from the renderer so a translation is a change to this table alone; the
web pages' wording is :mod:`notifier.web_words`.
"""

from __future__ import annotations

WORDS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "subject_one": "{regions}：{count} 篇新文章",
        "subject_many": "{regions}：{count} 篇新文章",
        "heading": "{regions} 有新动态",
        "intro": "以下是自上次摘要以来新增的 {count} 篇文章。",
        "more": "另有 {count} 篇未列出",
        "more_link": "在订阅源中查看全部",
        "subscribe": "在阅读器中订阅",
        "subscribe_hint": "把下面的地址添加到 RSS 阅读器（Thunderbird、Miniflux、Inoreader 等）：",
        "unsubscribe": "退订",
        "unsubscribe_hint": "不想再收到这些邮件？",
        "private_feed": "您的专属订阅源（按您的全部订阅条件筛选，请勿分享）",
        "source": "来源",
        "also_at": "另见",
        "zone": "开发区",
        "published": "发布",
        "footer": "本邮件由 zonewire 根据您的订阅自动发送。",
        "joiner": "、",
        "other": "其他",
    },
    "en": {
        "subject_one": "{regions}: {count} new article",
        "subject_many": "{regions}: {count} new articles",
        "heading": "What's new in {regions}",
        "intro": "{count} articles were added since your last digest.",
        "more": "and {count} more",
        "more_link": "see them all in the feed",
        "subscribe": "Subscribe in your reader",
        "subscribe_hint": "Add these addresses to a feed reader (Thunderbird, Miniflux…):",
        "unsubscribe": "Unsubscribe",
        "unsubscribe_hint": "Don't want these emails any more?",
        "private_feed": "Your private feed (exactly your filters; keep it to yourself)",
        "source": "Source",
        "also_at": "Also at",
        "zone": "Zone",
        "published": "Published",
        "footer": "Sent by zonewire because of your subscription.",
        "joiner": ", ",
        "other": "Other",
    },
}


def words(language: str) -> dict[str, str]:
    """The wording for ``language``: ``zh*`` reads Chinese, anything else English."""
    return WORDS["zh-CN"] if language.lower().startswith("zh") else WORDS["en"]
