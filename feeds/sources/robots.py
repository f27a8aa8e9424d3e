"""robots.txt rules, read per RFC 9309 by protego.

``urllib.robotparser`` applies the first matching rule and knows neither ``*`` nor
``$`` (issue 11): with ``Disallow: /index.php/*/detail/`` it let detail pages through,
with ``Disallow: /news`` + ``Allow: /news/detail`` it refused allowed pages. protego
implements RFC 9309: wildcards, ``$``, the longest match wins, ``Allow`` wins a tie,
and it reads ``Crawl-delay``.
"""

from __future__ import annotations

from dataclasses import dataclass

from protego import Protego

__all__ = ["MAX_CRAWL_DELAY", "Robots", "agent_token"]

#: A ``Crawl-delay`` is honoured up to this many seconds (a day-long delay would
#: stall every source on the host; past this the host is still crawled, slowly).
MAX_CRAWL_DELAY = 60.0


def agent_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against (RFC 9309 §2.2.1):
    ``zonewire/0.1 (+https://…)`` -> ``zonewire``."""
    head = user_agent.split("/", 1)[0].split()
    return head[0] if head else "zonewire"


@dataclass(frozen=True, slots=True)
class Robots:
    """The rules of one host for one user agent."""

    rules: Protego
    agent: str

    @classmethod
    def parse(cls, text: str, agent: str) -> Robots:
        return cls(Protego.parse(text), agent)

    @classmethod
    def allow_all(cls, agent: str) -> Robots:
        """No robots.txt (RFC 9309 §2.3.1.3: a 4xx means no rules)."""
        return cls.parse("", agent)

    def allowed(self, url: str) -> bool:
        return bool(self.rules.can_fetch(url, self.agent))

    def delay(self) -> float | None:
        """The host's ``Crawl-delay`` for this agent in seconds, capped; None if none."""
        value = self.rules.crawl_delay(self.agent)
        if value is None:
            return None
        return min(MAX_CRAWL_DELAY, max(0.0, float(value)))
