"""Plots, debug images and single values through the service, and their readers (issue 18)."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest
from sqlalchemy import Engine

from tasktrack.api import Client
from tasktrack.domain import events as ev
from tasktrack.domain.errors import NoEventsAdded, TaskEventsLocked, TaskNotFound
from tasktrack.domain.evolve import fold
from tasktrack.queries.reported import IMAGE, PLOT, InvalidScrollId
from tasktrack.store import eventlog
from tasktrack.store.engine import raw
from tests import settle

SINGLE = -(2**31)


def _task(client: Client, name: str = "reported events") -> str:
    task = str(client.create(name=name, type="training")["id"])
    client.started(task=task)
    return task


def _plot(task: str, it: int, metric: str, variant: str, text: str, **more: Any) -> dict[str, Any]:
    return {
        "task": task,
        "type": PLOT,
        "iter": it,
        "metric": metric,
        "variant": variant,
        "plot_str": text,
        "timestamp": 1_000 + it,
        **more,
    }


def _image(task: str, it: int, metric: str, variant: str, url: str) -> dict[str, Any]:
    return {
        "task": task,
        "type": IMAGE,
        "iter": it,
        "metric": metric,
        "variant": variant,
        "url": url,
        "timestamp": 1_000 + it,
    }


def _scalar(
    task: str, it: int, value: float, metric: str = "m", variant: str = "v"
) -> dict[str, Any]:
    return {
        "task": task,
        "type": "training_stats_scalar",
        "iter": it,
        "metric": metric,
        "variant": variant,
        "value": value,
        "timestamp": 1_000 + max(it, 0),
    }


def test_plots_read_back_the_later_report_of_a_key_winning(client: Client) -> None:
    task = _task(client)
    client.add_events([_plot(task, 1, "roc", "a", "first"), _plot(task, 2, "roc", "a", "second")])
    client.add_events([_plot(task, 2, "roc", "a", "again"), _plot(task, 2, "roc", "b", "other")])
    plots = client.get_task_plots(task)["plots"]
    # The latest iteration of each (metric, variant); iteration 2 of "a" reported twice: the
    # later report wins, as ClearML overwrites an event with the same id.
    assert [(p["variant"], p["iter"], p["plot_str"]) for p in plots] == [
        ("a", 2, "again"),
        ("b", 2, "other"),
    ]
    assert all(p["task"] == task for p in plots)
    two = client.get_task_plots(task, iters=2, metrics={"roc": ["a"]})["plots"]
    assert [p["plot_str"] for p in two] == ["again", "first"]
    assert client.get_by_id(task).last_iteration == 2


def test_reset_and_delete_take_plots_out_of_the_read_model(client: Client) -> None:
    task = _task(client)
    client.add_events([_plot(task, 0, "m", "v", "before")])
    client.stopped(task=task)
    client.reset(task=task)
    assert client.get_task_plots(task)["plots"] == []
    client.add_events([_plot(task, 3, "m", "v", "after")])
    assert [p["plot_str"] for p in client.get_task_plots(task)["plots"]] == ["after"]
    client.delete(task=task, force=True)
    with pytest.raises(TaskNotFound):
        client.get_task_plots(task)


def test_unknown_event_types_are_refused(client: Client) -> None:
    task = _task(client)
    with pytest.raises(NoEventsAdded) as refused:
        client.add_events([{"task": task, "type": "unknown type", "iter": 1}])
    assert refused.value.data["errors_info"] == {"Invalid event type unknown_type": 1}


def test_a_tasks_fold_never_reads_plot_payloads(client: Client, engine: Engine) -> None:
    task = _task(client)
    big = json.dumps({"data": [{"x": list(range(20_000))}]})
    client.add_events([_plot(task, 7, "big", "v", big)])
    with engine.connect() as sa_conn:
        conn = raw(sa_conn)
        whole = eventlog.read_stream(conn, task)
        stubbed = eventlog.read_stream(conn, task, payloads=False)
        sa_conn.rollback()
    stored = [r.event for r in whole if isinstance(r.event, ev.TaskEventsStored)]
    assert stored
    assert stored[0].events[0]["plot_str"] == big
    stubs = [r.event for r in stubbed if isinstance(r.event, ev.TaskEventsStored)]
    assert stubs
    assert stubs[0].events == []
    # The stub changes nothing a fold sees: the task's state is the same either way.
    assert fold([r.event for r in stubbed]) == fold([r.event for r in whole])
    assert client.get_by_id(task).last_iteration == 7


def test_plots_iterator_pages_back_and_forth(client: Client) -> None:
    task = _task(client)
    client.add_events([_plot(task, n, "m", v, f"{v}{n}") for n in range(10) for v in ("a", "b")])
    wanted = [{"task": task, "metric": "m"}]
    first = client.get_metric_events(PLOT, wanted, iters=4)
    assert [i["iter"] for i in first["metrics"][0]["iterations"]] == [9, 8, 7, 6]
    assert [e["variant"] for e in first["metrics"][0]["iterations"][0]["events"]] == ["a", "b"]
    second = client.get_metric_events(PLOT, wanted, iters=4, scroll_id=first["scroll_id"])
    assert [i["iter"] for i in second["metrics"][0]["iterations"]] == [5, 4, 3, 2]
    back = client.get_metric_events(
        PLOT, wanted, iters=4, scroll_id=second["scroll_id"], navigate_earlier=False
    )
    assert [i["iter"] for i in back["metrics"][0]["iterations"]] == [9, 8, 7, 6]
    # Without refresh a scroll keeps what it started with; with it, new reports come in.
    client.add_events([_plot(task, 10, "m", "a", "new")])
    stale = client.get_metric_events(PLOT, wanted, iters=1, scroll_id=first["scroll_id"])
    assert [i["iter"] for i in stale["metrics"][0]["iterations"]] == [5]
    fresh = client.get_metric_events(
        PLOT, wanted, iters=1, scroll_id=first["scroll_id"], refresh=True
    )
    assert [i["iter"] for i in fresh["metrics"][0]["iterations"]] == [10]
    with pytest.raises(InvalidScrollId):
        client.get_metric_events(PLOT, wanted, scroll_id="not a scroll")


def test_debug_images_last_image_wins_and_reused_urls_are_stale(client: Client) -> None:
    task = _task(client)
    # Ten iterations writing four files in turn: iterations 0 to 5 show images overwritten
    # since (their URL was written again later).
    client.add_events([_image(task, n, "m", "v", f"img{n % 4}") for n in range(10)])
    # A second report of iteration 9 replaces the first ("last image wins").
    client.add_events([_image(task, 9, "m", "v", "img1")])
    sample = client.get_sample(IMAGE, task, "m", variant="v")
    assert (sample["min_iteration"], sample["max_iteration"]) == (6, 9)
    assert sample["event"]["url"] == "img1"
    earlier = client.next_sample(IMAGE, task, sample["scroll_id"])
    assert earlier["event"]["iter"] == 8
    pages = client.get_metric_events(IMAGE, [{"task": task}], iters=10)
    # The latest URL (img1) was also shown at 5 and 1: 5 is its last invalid iteration.
    assert [i["iter"] for i in pages["metrics"][0]["iterations"]] == [9, 8, 7, 6]


def test_plot_samples_move_between_metrics_and_iterations(client: Client) -> None:
    task = _task(client)
    client.add_events(
        [
            _plot(task, n, m, v, f"{m}{v}{n}")
            for n in range(2)
            for m, v in (("A", "a1"), ("A", "a2"), ("B", "b1"))
        ]
    )
    first = client.get_sample(PLOT, task, "A", navigate_current_metric=False)
    assert [e["plot_str"] for e in first["events"]] == ["Aa11", "Aa21"]
    assert (first["min_iteration"], first["max_iteration"]) == (0, 1)
    forward = client.next_sample(PLOT, task, first["scroll_id"], navigate_earlier=False)
    assert [e["plot_str"] for e in forward["events"]] == ["Bb11"]
    nothing = client.next_sample(PLOT, task, forward["scroll_id"], navigate_earlier=False)
    assert nothing["events"] == []
    assert nothing["scroll_id"] == forward["scroll_id"]
    back = client.next_sample(PLOT, task, forward["scroll_id"], next_iteration=True)
    assert [e["plot_str"] for e in back["events"]] == ["Bb10"]
    at = client.get_sample(PLOT, task, "A", iteration=0)
    assert [e["iter"] for e in at["events"]] == [0, 0]


def test_single_values_are_read_apart_from_the_series(client: Client) -> None:
    task = _task(client, name="single values")
    client.add_events([_scalar(task, SINGLE if n == 0 else n, float(n)) for n in range(10)])
    client.add_events([_scalar(task, SINGLE, 1000.0, metric="acc", variant="top1")])
    values = client.get_single_values([task])
    assert values[0]["task_name"] == "single values"
    assert [(v["metric"], v["variant"], v["value"]) for v in values[0]["values"]] == [
        ("acc", "top1", 1000.0),
        ("m", "v", 0.0),
    ]
    assert client.get_single_values([task], {"nothing": None}) == []
    series = client.get_scalar_series(task)
    assert series["m"]["v"].x == list(range(1, 10))
    assert "acc" not in series  # a series of single values only has no histogram
    sampled = client.get_scalar_series(task, samples=3)
    # Iterations 1 to 9 in buckets of 3 (keyed 0, 3, 6, 9); the single value (0.0) is in
    # none of them, so the first bucket's mean is that of 1 and 2.
    assert sampled["m"]["v"].x == [0, 3, 6, 9]
    assert sampled["m"]["v"].y == [1.5, 4.0, 7.0, 9.0]
    raw_points = client.get_raw_scalars(task, {"metric": "m", "variants": ["v"]}, count_total=True)
    assert raw_points["variants"]["v"]["iter"] == [SINGLE, *range(1, 10)]
    assert raw_points["total"] == 10


def test_raw_scalars_page_with_a_scroll(client: Client) -> None:
    task = _task(client)
    client.add_events([_scalar(task, n, n * 2.0, variant=v) for n in range(7) for v in "ab"])
    seen: list[tuple[int, float]] = []
    page = client.get_raw_scalars(task, {"metric": "m"}, batch_size=4, count_total=True)
    calls = 1
    while page["returned"]:
        seen += [
            (it, y)
            for v in sorted(page["variants"])
            for it, y in zip(page["variants"][v]["iter"], page["variants"][v]["y"], strict=True)
        ]
        page = client.get_raw_scalars(task, None, scroll_id=page["scroll_id"])
        calls += 1
    assert calls == 5  # 14 points, 4 a page, and the empty page that ends it
    assert sorted(seen) == sorted((n, n * 2.0) for n in range(7) for _ in "ab")
    assert client.get_latest_scalar_values(task)["last_iter"] == 6


def test_task_events_merge_kinds_in_iteration_order_with_a_scroll(client: Client) -> None:
    task = _task(client)
    client.add_events(
        [
            _scalar(task, 2, 1.0),
            _plot(task, 1, "p", "v", "plot1"),
            _image(task, 3, "i", "v", "url3"),
            {"task": task, "type": "log", "iter": 0, "msg": "hello", "timestamp": 5},
        ]
    )
    page = client.get_task_events(task, batch_size=3)
    assert page["total"] == 4
    assert [(e["type"], e["iter"]) for e in page["events"]] == [
        ("log", 0),
        (PLOT, 1),
        ("training_stats_scalar", 2),
    ]
    rest = client.get_task_events(task, scroll_id=page["scroll_id"], batch_size=3)
    assert [(e["type"], e["iter"]) for e in rest["events"]] == [(IMAGE, 3)]
    desc = client.get_task_events(task, order="desc", event_type=PLOT)
    assert [e["plot_str"] for e in desc["events"]] == ["plot1"]
    assert client.get_task_metrics([task], IMAGE) == {task: ["i"]}
    assert client.get_multi_task_metrics([task], "training_stats_scalar") == {"m": ["v"]}
    # Without a type: the metrics of every kind.
    assert client.get_multi_task_metrics([task]) == {"i": ["v"], "m": ["v"], "p": ["v"]}


def test_multi_task_plots_group_by_metric_variant_task_and_iteration(client: Client) -> None:
    one, two = _task(client, "first task"), _task(client, "second task")
    client.add_events([_plot(one, 1, "A", "x", "1A"), _plot(one, 2, "A", "x", "2A")])
    client.add_events([_plot(two, 5, "A", "y", "5A")])
    plots = client.get_multi_task_plots([one, two])["plots"]
    assert plots["A"]["x"][one]["2"]["name"] == "first task"
    assert [p["plot_str"] for p in plots["A"]["x"][one]["2"]["plots"]] == ["2A"]
    assert [p["plot_str"] for p in plots["A"]["y"][two]["5"]["plots"]] == ["5A"]
    series = client.get_multi_task_series([one, two])
    assert series == {}


def _line(task: str, n: int, metric: str | None = None) -> dict[str, Any]:
    line = {"task": task, "type": "log", "iter": n, "msg": f"line {n}", "timestamp": 1_000 + n}
    if metric is not None:
        line["metric"], line["variant"] = metric, "v"
    return line


def test_console_lines_keep_their_metric_and_clear_task_log_clears_them(client: Client) -> None:
    task = _task(client)
    client.add_events([_line(task, n) for n in range(4)] + [_line(task, 9, "m")])
    assert client.get_task_log(task).total == 5
    only = client.get_task_log(task, metrics={"m": None})
    assert (only.total, [e.msg for e in only.events]) == (1, ["line 9"])
    assert client.get_task_metrics([task], "log") == {task: ["m"]}
    client.clear_task_log(task=task, exclude_metrics=["m"])
    assert [e.msg for e in client.get_task_log(task).events] == ["line 9"]
    # Lines after a clear go on from what is left (the total stays the number of lines).
    client.add_events([_line(task, 10)])
    after = client.get_task_log(task)
    assert (after.total, [e.msg for e in after.events]) == (2, ["line 10", "line 9"])
    client.clear_task_log(task=task, include_metrics=["other"])
    assert client.get_task_log(task).total == 2
    client.clear_task_log(task=task)
    assert client.get_task_log(task).total == 0
    client.add_events([_line(task, 11)])
    assert [e.msg for e in client.get_task_log(task).events] == ["line 11"]


def test_clear_task_log_keeps_recent_lines_and_refuses_published_tasks(client: Client) -> None:
    task = _task(client)
    now_ms = int(time.time() * 1000)
    old = {"task": task, "type": "log", "msg": "old", "timestamp": now_ms - 3_600_000}
    new = {"task": task, "type": "log", "msg": "new", "timestamp": now_ms}
    client.add_events([old, new])
    client.clear_task_log(task=task, threshold_sec=60)
    assert [e.msg for e in client.get_task_log(task).events] == ["new"]
    client.stopped(task=task)
    client.publish(task=task)
    with pytest.raises(TaskEventsLocked, match="published"):
        client.clear_task_log(task=task)
    client.clear_task_log(task=task, allow_locked=True)
    assert client.get_task_log(task).total == 0


def test_delete_for_task_empties_every_reader_and_the_task_reports_on(client: Client) -> None:
    task = _task(client)
    client.add_events(
        [_scalar(task, n, float(n)) for n in range(3)]
        + [_scalar(task, SINGLE, 5.0, metric="acc"), _plot(task, 1, "p", "v", "x")]
        + [_image(task, 1, "i", "v", "u"), _line(task, 1, "m")]
    )
    client.delete_task_events(task=task)
    assert client.get_task_plots(task)["plots"] == []
    assert client.get_metric_events(IMAGE, [{"task": task}])["metrics"][0]["iterations"] == []
    assert client.get_task_log(task).total == 0
    assert client.get_scalar_series(task) == {}
    assert client.get_single_values([task]) == []
    assert client.get_task_events(task)["total"] == 0
    # As ClearML, the task's own record of its metrics stays.
    assert client.get_by_id(task).last_metrics
    client.add_events([_scalar(task, 8, 1.0), _scalar(task, 9, 3.0), _line(task, 9)])
    assert client.get_scalar_series(task)["m"]["v"].x == [8, 9]
    # One bucket (8 and 9): its mean counts none of the deleted points.
    assert client.get_scalar_series(task, samples=1)["m"]["v"].y == [2.0]
    assert client.get_task_log(task).total == 1
    client.stopped(task=task)
    client.publish(task=task)
    with pytest.raises(TaskEventsLocked):
        client.delete_task_events(task=task)


def test_migration_0016_backfills_what_the_projector_writes(own_engine: Engine) -> None:
    """Plots and images (repeated keys, a reset, a delete_for_task, a deleted task) survive a
    downgrade below 0016 and the upgrade: the backfill writes the projector's rows."""
    from tasktrack.projections import rebuild, registry
    from tasktrack.service import Caller
    from tasktrack.store import migrate

    client = Client(own_engine, Caller(company="acme", user="ann"))
    kept, cleared, gone = _task(client), _task(client), _task(client)
    for task in (kept, cleared, gone):
        client.add_events(
            [_plot(task, n % 3, "p", "v", f"{n} é \\u0000") for n in range(5)]
            + [_image(task, 1, "i", "v", "u1"), _image(task, 1, "i", "v", "u2")]
            + [{**_plot(task, 2, "p", "w", "x"), "value": 1e16, "nan": math.nan}]
        )
    client.stopped(task=kept)
    client.reset(task=kept)
    client.add_events([_plot(kept, 9, "p", "v", "after reset")])
    client.delete_task_events(task=cleared)
    client.add_events([_image(cleared, 4, "i", "v", "after delete")])
    client.delete(task=gone, force=True)

    def snapshot() -> set[tuple[Any, ...]]:
        with own_engine.connect() as conn:
            return set(conn.exec_driver_sql("SELECT * FROM task_reported_events").all())

    written = snapshot()
    assert {r[1] for r in written} == {kept, cleared}
    migrate.downgrade(own_engine, "0015_delmove")
    migrate.upgrade(own_engine)
    assert snapshot() == written
    assert rebuild.verify(own_engine, list(registry.PROJECTORS)) == []


def test_the_summary_reads_at_most_kind_bodies_figures(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tasks show names each plot's kind from its latest body; past the cap it lists the series
    without reading their (possibly huge) bodies."""
    from tasktrack.queries import reported_summary

    monkeypatch.setattr(reported_summary, "KIND_BODIES", 2)
    task = _task(client)
    bar = json.dumps({"data": [{"type": "bar", "y": [1, 2]}]})
    client.add_events([_plot(task, 1, f"m{i}", "v", bar) for i in range(3)])
    got = client.get_reported_summary(task)
    assert [(p.metric, p.kind) for p in got.plots] == [("m0", "bar"), ("m1", "bar"), ("m2", "")]


def test_a_replay_scan_fetches_by_bytes_and_still_reads_every_event(
    client: Client, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_by_stream sizes each fetch from the last one's bytes: with large figures and a
    small budget it fetches a row at a time, and reads the same events in the same order."""
    task = _task(client)
    big = json.dumps({"data": [{"x": list(range(5_000))}]})
    client.add_events([_plot(task, i, "big", "v", big) for i in range(5)])
    sizes: list[int] = []

    def scan() -> list[tuple[str, int]]:
        with engine.connect() as sa_conn:
            conn = raw(sa_conn)
            below = eventlog.horizon(conn)
            found = [(r.stream_id, r.stream_version) for r in eventlog.read_by_stream(conn, below)]
            sa_conn.rollback()
        return found

    settle.horizon_reaches_end(engine)  # a transaction elsewhere on the server can hold it
    whole = scan()
    original = eventlog.psycopg.ServerCursor.fetchmany

    def counting(self: Any, size: int = 0) -> Any:
        sizes.append(size)
        return original(self, size)

    monkeypatch.setattr(eventlog, "FETCH_BYTES", len(big) // 2)
    monkeypatch.setattr(eventlog.psycopg.ServerCursor, "fetchmany", counting)
    assert scan() == whole
    assert (task, 1) in whole
    assert sizes[0] == 2000
    assert min(sizes) < 20  # a fetch after the plots' was a hundred times smaller
