"""A synthetic, valid log for the read and import benchmarks (W2, W5), written as an export.

Events come from the pure domain itself (decide, then fold), so the log is one tasktrack could
have written; hashes are chained as the log chains them. Streams interleave, as real ones do.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

from tasktrack.domain import chain, codec, editing, lifecycle
from tasktrack.domain import commands as cmd
from tasktrack.domain import events as ev
from tasktrack.domain.context import Context
from tasktrack.domain.decide import RULES
from tasktrack.domain.evolve import evolve
from tasktrack.domain.records import Metadata
from tasktrack.domain.state import TaskState
from tasktrack.store.archive_files import ArchivedEvent, write_jsonl

COMPANY = "bench"
PROJECTS = [f"project-{i}" for i in range(20)]
TAGS = ["alpha", "beta", "gamma", "delta", "nightly", "sweep"]
STATUS_PLANS = [
    ["enqueue", "started", "completed"],
    ["enqueue", "started", "failed"],
    ["enqueue", "started", "stopped"],
    ["enqueue"],
    [],
]


def _lifecycle(rng: random.Random, plan: list[str], extra_pings: int) -> list[str]:
    steps = list(plan)
    if "started" in steps:
        at = steps.index("started") + 1
        steps[at:at] = ["ping"] * extra_pings
    return steps


def task_stream(
    rng: random.Random, task_id: str, start: datetime, extra_pings: int = 0
) -> Iterator[tuple[ev.AnyEvent, datetime]]:
    """The events of one task's life, with their times."""
    now = start
    ctx = Context(now=now, user=rng.choice(["ann", "bob", "cyd", "dee"]), company=COMPANY)
    create = cmd.CreateTask(
        name=f"run {task_id[:8]}",
        type="training",
        project=rng.choice(PROJECTS),
        tags=rng.sample(TAGS, rng.randint(0, 3)),
    )
    state: TaskState | None = None
    for event in editing.create(create, ctx, task_id):
        state = evolve(state, event)
        yield event, now
    plan = _lifecycle(rng, rng.choice(STATUS_PLANS), extra_pings)
    for step in plan:
        assert state is not None
        now += timedelta(seconds=rng.randint(1, 600))
        ctx = Context(now=now, user=ctx.user, company=COMPANY)
        events: list[ev.AnyEvent]
        if step == "enqueue":
            events = lifecycle.enqueue(state, cmd.EnqueueTask(task=task_id, queue="q-default"), ctx)
        elif step == "started":
            events = RULES[cmd.MarkStarted](state, cmd.MarkStarted(task=task_id), ctx)
        elif step == "ping":
            events = lifecycle.ping(state, cmd.PingTask(task=task_id), ctx)
        elif step == "completed":
            events = lifecycle.completed(state, cmd.MarkCompleted(task=task_id), ctx)
        elif step == "failed":
            events = RULES[cmd.MarkFailed](state, cmd.MarkFailed(task=task_id), ctx)
        else:
            events = RULES[cmd.MarkStopped](state, cmd.MarkStopped(task=task_id), ctx)
        for event in events:
            state = evolve(state, event)
            yield event, now


def generate(
    path: Path, tasks: int, *, seed: int = 1, long_task_events: int = 0, pings: int = 0
) -> dict[str, str]:
    """Write an export of `tasks` task streams (plus one long stream when asked for, and the
    queue they use); return ids worth knowing ("long": the long task). With `pings`, a task
    that runs pings 0 to 2 x `pings` times while it runs (`pings` on average)."""
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    streams: list[Iterator[tuple[str, ev.AnyEvent, datetime]]] = []
    queue_created = ev.QueueCreated(
        at=base, by="ann", queue_id="q-default", company=COMPANY, name="default"
    )
    ids: dict[str, str] = {}
    for i in range(tasks):
        task_id = uuid.UUID(int=rng.getrandbits(128)).hex
        start = base + timedelta(seconds=i)
        extra = rng.randint(0, 2 * pings) if pings else 0
        streams.append(_tagged(task_id, task_stream(rng, task_id, start, extra)))
    if long_task_events:
        long_id = uuid.UUID(int=rng.getrandbits(128)).hex
        ids["long"] = long_id
        streams.append(_tagged(long_id, task_stream(rng, long_id, base, long_task_events)))
    heads: dict[str, tuple[int, bytes]] = {}
    position = 0

    def archived(stream_id: str, event: ev.AnyEvent, at: datetime) -> ArchivedEvent:
        nonlocal position
        version, previous = heads.get(stream_id, (0, chain.GENESIS))
        version += 1
        position += 1
        data = codec.encode(event)
        meta = msgspec.json.encode(Metadata(user=event.by, company=COMPANY))
        type_name = codec.type_of(event)
        digest = chain.link(
            previous,
            chain.event_bytes(
                stream_id=stream_id,
                stream_version=version,
                type_name=type_name,
                schema_version=1,
                data=data,
                metadata=meta,
                recorded_at=at,
                company=COMPANY,
            ),
        )
        heads[stream_id] = (version, digest)
        return ArchivedEvent(
            position=position,
            stream_id=stream_id,
            stream_version=version,
            company=COMPANY,
            type=type_name,
            schema_version=1,
            recorded_at=at,
            hash=digest.hex(),
            metadata=msgspec.Raw(meta),
            data=msgspec.Raw(data),
            chain=chain.CURRENT,
        )

    def interleaved() -> Iterator[ArchivedEvent]:
        yield archived("q-default", queue_created, base)
        live = list(streams)
        while live:
            still = []
            for stream in live:
                item = next(stream, None)
                if item is not None:
                    stream_id, event, at = item
                    yield archived(stream_id, event, at)
                    still.append(stream)
            live = still

    with path.open("wb") as out:
        write_jsonl(interleaved(), out)
    return ids


def _tagged(
    stream_id: str, events: Iterator[tuple[ev.AnyEvent, datetime]]
) -> Iterator[tuple[str, ev.AnyEvent, datetime]]:
    for event, at in events:
        yield stream_id, event, at
