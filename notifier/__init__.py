"""Subscribers, digests, delivery, and the worker and CLI that run zonewire."""

__version__ = "0.1.0"
