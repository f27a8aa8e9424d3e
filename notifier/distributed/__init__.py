"""Distributed mode (SPEC §11): schedulers, workers and HTTP servers on one
PostgreSQL database, with procrastinate as the job queue.

Embedded mode (``zonewire run``) imports nothing from here.
"""
