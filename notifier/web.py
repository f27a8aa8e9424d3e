"""The HTTP face of a running zonewire: feeds and index (from ``feeds.web``), the
unsubscribe pages and the subscribers' private feeds on the public listener;
Prometheus ``/metrics`` on a listener of its own (``serve.metrics_host``/
``serve.metrics_port``, loopback by default).

``zonewire serve`` and ``zonewire run`` both use :func:`build_web_app` and
:func:`serve_listeners`, so what a subscriber's unsubscribe link reaches does not
depend on which one is running. Both read the settings through a holder of the
configuration in force (``.settings``, ``.subscriptions``) on every request, so a
reload of ``output_dir``, ``public_url``, ``secret_key`` or ``templates_dir``
applies to the HTTP side as it does to the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from feeds.httpguard import GuardMiddleware, off_loop
from notifier.app import App
from notifier.errors import UsageError
from notifier.metrics import Metrics

log = logging.getLogger("zonewire.web")


def build_web_app(app: App, config: Any) -> Starlette:
    """Feeds, index, unsubscribe pages and private feeds; ``config`` holds the
    configuration in force (a :class:`notifier.reload.ConfigHolder` or
    :class:`~notifier.reload.WatchedConfig`)."""
    from feeds.web import create_app
    from notifier.web_private_feed import private_feed_service
    from notifier.web_unsubscribe import unsubscribe_service

    routes = unsubscribe_service(app, config).routes()
    routes += private_feed_service(app, config).routes()
    documents = None
    if config.settings.mode == "distributed":  # SPEC §11: feeds from the database
        from notifier.distributed.web import stored_documents

        documents = stored_documents(app.store.documents)
    return create_app(lambda: config.settings.feeds.output_dir, extra_routes=routes,
                      documents=documents)


def build_metrics_app(metrics: Metrics) -> Starlette:
    """``/metrics`` alone, for the metrics listener; rendered in a worker thread
    because the store's gauges may read the database."""

    async def endpoint(_: Request) -> Response:
        body, content_type = await off_loop(metrics.render)
        return Response(body, media_type=content_type)

    return Starlette(
        routes=[Route("/metrics", endpoint, methods=["GET", "HEAD"])],
        middleware=[Middleware(GuardMiddleware)],
    )


def _server_class() -> Any:
    import uvicorn

    class QuietServer(uvicorn.Server):
        """Leaves SIGTERM/SIGINT to its owner, which stops the servers itself."""

        @contextlib.contextmanager
        def capture_signals(self):  # type: ignore[no-untyped-def]
            yield

    return QuietServer


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (0 = any free port); :class:`OSError` if taken.

    Bound here rather than by uvicorn, which exits the whole process when it cannot
    bind: a taken metrics port must not stop the feeds.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


async def serve_listeners(
    web: Any, public: socket.socket, metrics: Metrics | None,
    metrics_host: str, metrics_port: int | None, stopping: asyncio.Event,
    on_started: Callable[[str, str | None], None] | None = None,
) -> None:
    """Serve ``web`` on the bound ``public`` socket and ``/metrics`` on
    metrics_host:metrics_port until ``stopping`` is set.

    A metrics port that is taken is a warning, not a stop: the feeds and unsubscribe
    links matter more than monitoring.
    """
    import uvicorn

    server_class = _server_class()
    listeners = [(web, public)]
    metrics_url = None
    if metrics is not None and metrics_port is not None:
        try:
            side = bind(metrics_host, metrics_port)
        except OSError as exc:
            log.warning("metrics: cannot listen on %s:%s (%s); /metrics is not served "
                        "(set serve.metrics_port to a free port, or null to turn it off)",
                        metrics_host, metrics_port, exc.strerror or exc)
        else:
            listeners.append((build_metrics_app(metrics), side))
            metrics_url = _address(side) + "metrics"
    servers, tasks = [], []
    for app, sock in listeners:
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False,
                                ws="none")
        server = server_class(config)
        servers.append(server)
        tasks.append(asyncio.create_task(server.serve(sockets=[sock])))
    while not all(server.started for server in servers) and not any(t.done() for t in tasks):
        await asyncio.sleep(0.02)
    if on_started is not None:
        on_started(_address(public), metrics_url)
    stop = asyncio.create_task(stopping.wait())
    await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
        server.should_exit = True
    stop.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _, sock in listeners:
        sock.close()


def listen(host: str, port: int) -> socket.socket:
    """:func:`bind`, or a one-line :class:`UsageError` naming the address."""
    try:
        return bind(host, port)
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another zonewire "
            "serving there? choose another with --port or serve.port)"
        ) from None


def http_server(
    worker: Any, host: str, port: int
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """A task for :func:`notifier.scheduler.serve_forever`: the listeners in this loop,
    reading the worker's own configuration holder. The public port is bound now, so
    a taken port stops ``run`` at once with one line."""
    public = listen(host, port)

    async def run(stopping: asyncio.Event) -> None:
        serve = worker.holder.settings.serve
        web = build_web_app(worker.app, worker.holder)

        def started(base: str, metrics_url: str | None) -> None:
            where = f", metrics at {metrics_url}" if metrics_url else ""
            print(f"serving feeds at {base} (index), {base}feeds/all.atom{where}", flush=True)

        await serve_listeners(web, public, worker.metrics, serve.metrics_host,
                              serve.metrics_port, stopping, started)

    return run
