"""The words of the unsubscribe pages, per language (the subscriber's ``language``)."""

from __future__ import annotations

Words = dict[str, str]

PAGE_WORDS: dict[str, Words] = {
    "zh-CN": {
        "confirm": "退订这份摘要？",
        "confirm_message": "这份摘要包含：{regions}。点击下面的按钮即可退订，之后不再发送。",
        "confirm_button": "退订",
        "done": "已退订",
        "done_message": "您将不再收到这份摘要（{regions}）。",
        "drop_hint": "只想停止某一个地区？选择后其余地区照常发送：",
        "drop_label": "只退订这个地区",
        "dropped": "已退订 {region}",
        "dropped_message": "其余地区照常发送：{regions}。",
        "resubscribe": "重新订阅",
        "resubscribed": "已重新订阅",
        "resubscribed_message": "您将继续收到 {regions} 的摘要。",
        "bad": "退订链接无效",
        "gone": "订阅不存在",
        "gone_message": "这个订阅已不在配置中，不会再发送任何邮件。",
        "joiner": "、",
    },
    "en": {
        "confirm": "Unsubscribe from this digest?",
        "confirm_message": "This digest covers {regions}. Press the button below to stop it.",
        "confirm_button": "Unsubscribe",
        "done": "You are unsubscribed",
        "done_message": "You will no longer receive this digest ({regions}).",
        "drop_hint": "Only want to stop one region? Pick it and keep the others:",
        "drop_label": "Stop only this region",
        "dropped": "Stopped {region}",
        "dropped_message": "You still receive: {regions}.",
        "resubscribe": "Subscribe again",
        "resubscribed": "Subscribed again",
        "resubscribed_message": "You will keep receiving digests for {regions}.",
        "bad": "This unsubscribe link is not valid",
        "gone": "No such subscription",
        "gone_message": "This subscription is no longer configured; nothing more will be sent.",
        "joiner": ", ",
    },
}
