"""The serving service's endpoints: the container commands by their `endpoint`, and the
reads of ClearML's serving pages."""

from __future__ import annotations

from typing import Any

import msgspec

from tasktrack.domain import serving_commands as sc
from tasktrack.domain.commands import Command
from tasktrack.http.calls import Call, Spec


class Empty(msgspec.Struct, frozen=True):
    pass


class EndpointUrl(msgspec.Struct, frozen=True, kw_only=True):
    endpoint_url: str


class MetricsHistory(EndpointUrl, frozen=True, kw_only=True):
    from_date: float
    to_date: float
    interval: int
    metric_type: str = "requests"
    instance_charts: bool = True


def _command(call: Call, command: Command) -> Any:
    return call.client.execute(command, request_id=call.request_id)


def _endpoints(call: Call, body: Empty) -> Any:
    return {"endpoints": call.client.serving_endpoints()}


def _loading(call: Call, body: Empty) -> Any:
    return {"instances": call.client.serving_loading()}


def _details(call: Call, body: EndpointUrl) -> Any:
    return call.client.serving_endpoint(body.endpoint_url)


def _metrics(call: Call, body: MetricsHistory) -> Any:
    return call.client.serving_metrics(
        body.endpoint_url,
        from_date=body.from_date,
        to_date=body.to_date,
        interval=body.interval,
        metric_type=body.metric_type,
        instance_charts=body.instance_charts,
    )


def endpoints() -> list[Spec]:
    commands = [
        Spec(name=str(kind.endpoint), request=kind, run=_command, summary=kind.summary)
        for kind in sc.declared()
    ]
    return [
        *commands,
        Spec(
            name="serving.get_endpoints",
            request=Empty,
            run=_endpoints,
            summary="One summary per url the company's live serving containers serve",
        ),
        Spec(
            name="serving.get_loading_instances",
            request=Empty,
            run=_loading,
            summary="The live serving containers that have no url yet",
        ),
        Spec(
            name="serving.get_endpoint_details",
            request=EndpointUrl,
            run=_details,
            summary="An endpoint and its live containers (400/1052 when none)",
        ),
        Spec(
            name="serving.get_endpoint_metrics_history",
            request=MetricsHistory,
            run=_metrics,
            summary="An endpoint's chart: per container and in total, by time bucket",
        ),
    ]
