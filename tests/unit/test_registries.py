"""The lists that must agree do: commands, rules, handlers, endpoints, Client methods, events.

Adding a command or an event and forgetting one of its places (docs/architecture.md, "Adding a
command") fails here, and the last tests show that it does.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from tasktrack.api import Client
from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain.decide import RULES
from tasktrack.domain.evolve import HANDLERS, evolve
from tasktrack.http.calls import Spec
from tasktrack.http.endpoints import ENDPOINTS
from tasktrack.http.openapi import openapi_document
from tasktrack.service.core import handler_for

_CLIENT_SOURCE = inspect.getsource(Client)


def command_problems(
    commands: Iterable[type[cmd.Command]],
    endpoints: Mapping[str, Spec],
    client_source: str,
    handler: Callable[[type[cmd.Command]], object | None] = handler_for,
) -> list[str]:
    """What is missing for each command: a handler (a decide rule or one of its own), an HTTP
    endpoint that decodes into it, a Client method that sends it."""
    served = {spec.request for spec in endpoints.values()}
    sent = set(re.findall(r"\bcmd\.(\w+)\b", client_source))
    problems = []
    for kind in commands:
        name = kind.__name__
        if handler(kind) is None:
            problems.append(f"{name}: no handler (a rule in decide.RULES, or service SPECIAL)")
        if kind not in served:
            problems.append(f"{name}: no HTTP endpoint (set its `endpoint` ClassVar)")
        if name not in sent:
            problems.append(f"{name}: no Client method (api.py)")
        if issubclass(kind, cmd.ManyTasks) and handler(kind.single) is None:
            problems.append(f"{kind.single.__name__}: no rule for the single of {name}")
    return problems


def event_problems(
    defined: Iterable[type[ev.Event]],
    decoded: tuple[type[ev.Event], ...],
    task_events: tuple[type[ev.Event], ...],
    folds: Mapping[type[ev.Event], object],
) -> list[str]:
    """Every event class is in the union the codec decodes; every task event has a fold."""
    problems = [f"{e.__name__}: not in AnyEvent" for e in defined if e not in decoded]
    problems += [f"{e.__name__}: no evolve handler" for e in task_events if e not in folds]
    return problems


# evolve() folds TaskCreated itself (it starts a stream); every other task event by HANDLERS.
FOLDS: Mapping[type[ev.Event], object] = {ev.TaskCreated: evolve, **HANDLERS}


def _defined_events() -> list[type[ev.Event]]:
    return [
        v
        for v in vars(ev).values()
        if isinstance(v, type) and issubclass(v, ev.Event) and v is not ev.Event
    ]


def test_every_command_has_a_handler_an_endpoint_and_a_client_method() -> None:
    assert command_problems(cmd.declared(), ENDPOINTS, _CLIENT_SOURCE) == []


def test_every_command_class_is_declared_or_the_single_of_a_declared_many() -> None:
    """A command class that forgot its `endpoint` would escape the check above."""
    bases = {
        cmd.Command,
        cmd.TaskCommand,
        cmd.ProjectCommand,
        cmd.ChangeStatus,
        cmd.TaskFields,
        cmd.ManyTasks,
    }
    classes = {
        v
        for v in vars(cmd).values()
        if isinstance(v, type) and issubclass(v, cmd.Command) and v not in bases
    }
    declared = set(cmd.declared())
    singles = {k.single for k in declared if issubclass(k, cmd.ManyTasks)}
    # AddEvents is built by events.add / add_batch, whose bodies are read event by event.
    assert classes - declared - singles == {cmd.AddEvents}
    assert handler_for(cmd.AddEvents) is not None
    assert "cmd.AddEvents" in _CLIENT_SOURCE


def test_every_rule_is_for_a_command_that_is_served() -> None:
    reachable = set(cmd.declared()) | {
        k.single for k in cmd.declared() if issubclass(k, cmd.ManyTasks)
    }
    assert set(RULES) <= reachable


def test_every_event_is_decoded_and_every_task_event_folds() -> None:
    decoded = typing.get_args(ev.AnyEvent)
    assert event_problems(_defined_events(), decoded, ev.TASK_EVENTS, FOLDS) == []
    assert set(FOLDS) <= set(ev.TASK_EVENTS)


def test_every_endpoint_in_the_openapi_document_is_served() -> None:
    paths = set(openapi_document()["paths"])
    assert paths == {f"/{name}" for name in ENDPOINTS}
    for name, spec in ENDPOINTS.items():
        assert spec.name == name
        assert callable(spec.run)


# --- forgetting a place fails --------------------------------------------------------------


class _ForgottenCommand(cmd.TaskCommand, frozen=True, kw_only=True):
    """A new command declared with an endpoint, and nothing else."""

    endpoint: ClassVar[str | None] = "tasks.forgotten"


class _ForgottenEvent(ev.Event, frozen=True, kw_only=True):
    """A new task event, in no union and with no fold."""


def test_a_command_without_its_rule_endpoint_or_client_method_is_caught() -> None:
    problems = command_problems([_ForgottenCommand], ENDPOINTS, _CLIENT_SOURCE)
    assert problems == [
        "_ForgottenCommand: no handler (a rule in decide.RULES, or service SPECIAL)",
        "_ForgottenCommand: no HTTP endpoint (set its `endpoint` ClassVar)",
        "_ForgottenCommand: no Client method (api.py)",
    ]
    # Given every place but the Client method, only that is reported.
    endpoints = {**ENDPOINTS, "tasks.forgotten": _spec(_ForgottenCommand)}
    only_client = command_problems(
        [_ForgottenCommand], endpoints, _CLIENT_SOURCE, handler=lambda kind: object()
    )
    assert only_client == ["_ForgottenCommand: no Client method (api.py)"]


def test_an_event_outside_the_union_or_without_a_fold_is_caught() -> None:
    decoded = typing.get_args(ev.AnyEvent)
    problems = event_problems(
        [*_defined_events(), _ForgottenEvent],
        decoded,
        (*ev.TASK_EVENTS, _ForgottenEvent),
        FOLDS,
    )
    assert problems == [
        "_ForgottenEvent: not in AnyEvent",
        "_ForgottenEvent: no evolve handler",
    ]


def _spec(kind: type[cmd.Command]) -> Spec:
    def run(call: Any, body: Any) -> Any:
        return None

    return Spec(name=str(kind.endpoint), request=kind, run=run, summary="")


def test_every_model_command_has_a_handler_an_endpoint_and_a_client_method() -> None:
    """The models service's commands (domain/model_commands.py) are held to the same rule;
    their Client methods live in the ModelMethods mixin (api_models.py)."""
    from tasktrack import api_models
    from tasktrack.domain import model_commands

    source = inspect.getsource(api_models.ModelMethods)
    assert command_problems(model_commands.declared(), ENDPOINTS, source) == []
    model_events = set(ev.MODEL_EVENTS)
    assert model_events <= set(typing.get_args(ev.AnyEvent))


def test_worker_commands_have_handlers_endpoints_and_client_methods() -> None:
    """The workers service's commands (domain/worker_commands.py) are held to the same rule;
    their Client methods live in the WorkerMethods mixin (api_workers.py)."""
    from tasktrack import api_workers
    from tasktrack.domain import worker_commands

    source = inspect.getsource(api_workers.WorkerMethods)
    assert command_problems(worker_commands.declared(), ENDPOINTS, source) == []
    # Not an endpoint: run by the Client before listing workers.
    assert handler_for(worker_commands.NoteSilentWorkers) is not None
    assert "cmd.NoteSilentWorkers" in source


def test_every_queue_command_has_a_handler_an_endpoint_and_a_client_method() -> None:
    """The queues service's commands (domain/queue_commands.py); their Client methods live
    in the QueueMethods mixin (api_queues.py). Every queue event is decoded and folds."""
    from tasktrack import api_queues
    from tasktrack.domain import queue_commands, queues

    source = inspect.getsource(api_queues.QueueMethods)
    assert command_problems(queue_commands.declared(), ENDPOINTS, source) == []
    assert set(ev.QUEUE_EVENTS) <= set(typing.get_args(ev.AnyEvent))
    assert set(ev.QUEUE_EVENTS) - {ev.QueueCreated} == set(queues.FOLDS)


def test_every_report_command_has_a_handler_an_endpoint_and_a_client_method() -> None:
    """The reports service's commands (domain/report_commands.py); their Client methods live
    in the ReportMethods mixin (api_reports.py)."""
    from tasktrack import api_reports
    from tasktrack.domain import report_commands

    source = inspect.getsource(api_reports.ReportMethods)
    assert command_problems(report_commands.declared(), ENDPOINTS, source) == []


def test_every_serving_command_has_a_handler_an_endpoint_and_a_client_method() -> None:
    """The serving service's commands (domain/serving_commands.py); their Client methods live
    in the ServingMethods mixin (api_serving.py). Every serving event is decoded."""
    from tasktrack import api_serving
    from tasktrack.domain import serving_commands

    source = inspect.getsource(api_serving.ServingMethods)
    assert command_problems(serving_commands.declared(), ENDPOINTS, source) == []
    assert set(ev.SERVING_EVENTS) <= set(typing.get_args(ev.AnyEvent))
