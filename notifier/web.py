"""The HTTP face of a running zonewire: feeds and index (from ``feeds.web``),
unsubscribe pages, and Prometheus ``/metrics``, in one Starlette app.

``zonewire serve`` and ``zonewire run`` both use :func:`build_web_app`, so what a
subscriber's unsubscribe link reaches does not depend on which one is running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from notifier.app import App
from notifier.metrics import Metrics


def metrics_route(metrics: Metrics) -> Route:
    async def endpoint(_: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return Route("/metrics", endpoint, methods=["GET"])


def build_web_app(app: App, metrics: Metrics | None = None, subscriptions: Any = None) -> Any:
    """Feeds, unsubscribe and /metrics (a worker's counters, or the store's gauges).

    ``subscriptions`` is a zero-argument callable returning the subscriptions in
    force, so the unsubscribe pages follow configuration reloads.
    """
    from feeds.web import create_app
    from notifier.web_unsubscribe import routes_for_app

    routes: list[BaseRoute] = list(routes_for_app(app, subscriptions))
    routes.append(metrics_route(metrics or Metrics(app.store)))
    return create_app(app.settings.feeds.output_dir, extra_routes=routes)


def _quiet_server_class() -> Any:
    import contextlib

    import uvicorn

    class QuietServer(uvicorn.Server):
        """Leaves SIGTERM/SIGINT to the worker, which stops the server last."""

        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def]
            yield

    return QuietServer


def http_server(
    worker: Any, host: str, port: int
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """A task for :func:`notifier.schedule.serve_forever`: uvicorn in this event loop."""

    async def run(stopping: asyncio.Event) -> None:
        import uvicorn

        _QuietServer = _quiet_server_class()
        web = build_web_app(worker.app, worker.metrics, lambda: worker.holder.subscriptions)
        config = uvicorn.Config(web, host=host, port=port, log_level="warning", lifespan="off")
        server = _QuietServer(config)
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():
            await asyncio.sleep(0.05)
        if server.started:
            bound = server.servers[0].sockets[0].getsockname() if server.servers else (host, port)
            base = f"http://{bound[0]}:{bound[1]}/"
            print(
                f"serving feeds at {base} (index), {base}feeds/all.atom, {base}metrics", flush=True
            )
        await stopping.wait()
        server.should_exit = True
        await serving

    return run
