"""Prometheus metrics of the web process: requests by route, jobs by status."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Metrics:
    """The metrics of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "clearplan_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "clearplan_http_request_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )

    def watch_jobs(self, count: Callable[[], dict[str, int]]) -> None:
        """Report job counts by status, read from the store at each scrape."""
        self.registry.register(_JobCollector(count))


class _JobCollector(Collector):
    def __init__(self, count: Callable[[], dict[str, int]]) -> None:
        self._count = count

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "clearplan_jobs", "Jobs whose record is kept, by status.", labels=["status"]
        )
        for status, number in self._count().items():
            family.add_metric([status], number)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._templates: dict[Any, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = self._template(scope)
            counter, histogram = self._children(
                template, scope["method"], status["code"]
            )
            counter.inc()
            histogram.observe(time.perf_counter() - started)

    def _template(self, scope: Scope) -> str:
        """The route template a request matched, or "unmatched".

        FastAPI names its own routes in the scope; a plain Starlette route
        (the dock schedule, the OpenAPI document) leaves only its endpoint,
        whose template is looked up in the app's routes once.
        """
        path = getattr(scope.get("route"), "path", None)
        if path:
            return str(path)
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return "unmatched"
        template = self._templates.get(endpoint)
        if template is None:
            routes = getattr(scope.get("app"), "routes", [])
            template = next(
                (
                    str(route.path)
                    for route in routes
                    if getattr(route, "endpoint", None) == endpoint
                    and getattr(route, "path", None)
                ),
                "unmatched",
            )
            self._templates[endpoint] = template
        return template

    def _children(self, template: str, method: str, status: int) -> tuple[Any, Any]:
        """The labelled series of a request, looked up once per label set."""
        key = (template, method, status)
        children = self._series.get(key)
        if children is None:
            children = (
                self.metrics.requests.labels(template, method, str(status)),
                self.metrics.latency.labels(template),
            )
            self._series[key] = children
        return children
