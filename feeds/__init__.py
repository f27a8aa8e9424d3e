"""Articles and feeds: sources, extraction, regions, store, Atom rendering.

This package knows nothing about subscribers; ``notifier`` builds on it.
"""
