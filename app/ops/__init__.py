"""Operations: trusting the proxy in front (ProxyFix), request ids and JSON request logs, Prometheus metrics.

`init_app` wires them into the app; the routes (/healthz, /readyz, /metrics) live in app/views/ops.py.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from app.ops import logs, metrics


def init_app(app: Flask) -> None:
    """Trust PROXY_HOPS proxies' X-Forwarded-* headers, give every request an id, and time, count and (with
    LOG_FORMAT=json) log each answer."""
    hops = app.config.get("PROXY_HOPS", 0)
    if hops:
        # The client's address (rate limits count per address), scheme (https for CSRF's referrer check and
        # external URLs), host and port, as the proxy saw them; nothing further out than `hops` proxies is trusted.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    metrics.allowed_networks(app.config.get("METRICS_ALLOW", ""))  # a mistyped network stops the start
    json_logs = app.config.get("LOG_FORMAT") == "json"
    if json_logs:
        logs.use_json()

    def start_request() -> None:
        g.request_started = time.perf_counter()
        g.request_id = logs.request_id(request.headers.get("X-Request-ID"))

    # First of all before_request functions, so answers another one gives (a rate limit's 429, CSRF's 400) are
    # timed, counted and logged too.
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)

    @app.after_request
    def finish_request(resp: Response) -> Response:
        started = g.pop("request_started", None)
        rid = g.get("request_id")
        if rid:
            resp.headers["X-Request-ID"] = rid
        if started is None:
            return resp
        seconds = time.perf_counter() - started
        route = request.url_rule.rule if request.url_rule is not None else "(unmatched)"
        metrics.observe_request(route, request.method, resp.status_code, seconds)
        if json_logs:
            logs.log_request(route, resp.status_code, seconds)
        return resp
