"""The events service's readers over HTTP: plots, debug images, samples, single values, raw
scalars, task events, their scroll ids, and their errors (issue 18)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.e2e.http import Api

SINGLE = -(2**31)


def _task(api: Api, name: str = "events over http") -> str:
    return str(api.ok("tasks.create", {"name": name, "type": "training"})["id"])


def _send(api: Api, events: list[dict[str, Any]]) -> dict[str, Any]:
    body = "\n".join(json.dumps(e) for e in events)
    response = api.raw("events.add_batch", body, headers={"Content-Type": "application/json-lines"})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def test_plots_and_images_read_back_with_their_scrolls(api: Api) -> None:
    task = _task(api)
    plots = [
        {
            "task": task,
            "type": "plot",
            "iter": n,
            "metric": "m",
            "variant": v,
            "plot_str": json.dumps({"data": [{"y": [n]}]}),
        }
        for n in range(3)
        for v in ("a", "b")
    ]
    images = [
        {
            "task": task,
            "type": "training_debug_image",
            "iter": n,
            "metric": "img",
            "variant": "v",
            "url": f"http://x/{n % 2}.png",
        }
        for n in range(4)
    ]
    assert _send(api, plots + images)["added"] == 10
    got = api.ok("events.get_task_plots", {"task": task})["plots"]
    assert [(p["variant"], p["iter"]) for p in got] == [("a", 2), ("b", 2)]
    page = api.ok("events.plots", {"metrics": [{"task": task}], "iters": 2})
    assert [i["iter"] for i in page["metrics"][0]["iterations"]] == [2, 1]
    more = api.ok(
        "events.plots", {"metrics": [{"task": task}], "iters": 2, "scroll_id": page["scroll_id"]}
    )
    assert [i["iter"] for i in more["metrics"][0]["iterations"]] == [0]
    sample = api.ok(
        "events.get_debug_image_sample", {"task": task, "metric": "img", "variant": "v"}
    )
    # URLs 0 and 1 in turn: only iterations 2 and 3 show an image not overwritten since.
    assert (sample["min_iteration"], sample["max_iteration"]) == (2, 3)
    assert sample["event"]["url"] == "http://x/1.png"
    back = api.ok(
        "events.next_debug_image_sample", {"task": task, "scroll_id": sample["scroll_id"]}
    )
    assert back["event"]["iter"] == 2
    none = api.ok("events.next_debug_image_sample", {"task": task, "scroll_id": back["scroll_id"]})
    assert none["event"] is None
    plot_sample = api.ok("events.get_plot_sample", {"task": task, "metric": "m", "iteration": 1})
    assert [e["iter"] for e in plot_sample["events"]] == [1, 1]
    assert api.ok("events.get_task_metrics", {"tasks": [task], "event_type": "plot"}) == {
        "metrics": [{"task": task, "metrics": ["m"]}]
    }


def test_single_values_raw_scalars_and_task_events(api: Api) -> None:
    task = _task(api, "single values over http")
    _send(
        api,
        [
            {
                "task": task,
                "type": "training_stats_scalar",
                "metric": "m",
                "variant": "v",
                "iter": SINGLE if n == 0 else n,
                "value": n,
            }
            for n in range(5)
        ],
    )
    values = api.ok("events.get_task_single_value_metrics", {"tasks": [task]})["tasks"]
    assert values == [
        {
            "task": task,
            "task_name": "single values over http",
            "values": [
                {
                    "metric": "m",
                    "variant": "v",
                    "value": 0.0,
                    "timestamp": values[0]["values"][0]["timestamp"],
                }
            ],
        }
    ]
    histogram = api.ok("events.scalar_metrics_iter_histogram", {"task": task, "key": "timestamp"})
    assert len(histogram["m"]["v"]["x"]) == 4
    raw = api.ok(
        "events.scalar_metrics_iter_raw",
        {"task": task, "metric": {"metric": "m"}, "batch_size": 3, "count_total": True},
    )
    assert (raw["total"], raw["variants"]["v"]["iter"]) == (5, [SINGLE, 1, 2])
    rest = api.ok(
        "events.scalar_metrics_iter_raw",
        {"task": task, "metric": {"metric": "m"}, "scroll_id": raw["scroll_id"]},
    )
    assert rest["variants"]["v"]["iter"] == [3, 4]
    events = api.ok("events.get_task_events", {"task": task, "order": "desc", "batch_size": 2})
    assert [e["iter"] for e in events["events"]] == [4, 3]
    assert events["total"] == 5
    multi = api.ok("events.multi_task_scalar_metrics_iter_histogram", {"tasks": [task]})
    assert multi["metrics"]["m"]["v"][task]["x"] == [1, 2, 3, 4]


def test_event_readers_refuse_unknown_tasks_and_foreign_scrolls(api: Api) -> None:
    task = _task(api)
    assert api.error("events.get_task_plots", {"task": "f" * 32})[:2] == (400, 101)
    assert api.error("events.debug_images", {"metrics": [{"task": "f" * 32}]})[:2] == (400, 101)
    assert api.error("events.plots", {"metrics": [{"task": task}], "scroll_id": "nope"})[:2] == (
        400,
        1104,
    )
    assert api.error("events.next_plot_sample", {"task": task, "scroll_id": "hs1.e30"})[:2] == (
        400,
        1104,
    )
    assert api.error("events.get_task_events", {"task": task, "order": "sideways"})[:2] == (
        400,
        12,
    )
    refused = api.error("events.add", {"task": task, "type": "unknown type", "iter": 1})
    assert refused[:2] == (400, 131)


def test_vectors_metric_lists_and_deleting_a_tasks_events(api: Api) -> None:
    task = _task(api, "vectors over http")
    _send(
        api,
        [
            {
                "task": task,
                "type": "training_stats_vector",
                "metric": "w",
                "variant": "layer1",
                "iter": n,
                "values": [n, n + 1],
            }
            for n in (2, 1)
        ]
        + [
            {
                "task": task,
                "type": "training_stats_scalar",
                "metric": "loss",
                "variant": "t",
                "iter": 1,
                "value": 1.0,
            },
            {"task": task, "type": "log", "msg": "kept", "metric": "m"},
        ],
    )
    got = api.ok(
        "events.vector_metrics_iter_histogram", {"task": task, "metric": "w", "variant": "layer1"}
    )
    assert (got["iterations"], got["vectors"]) == ([1, 2], [[1, 2], [2, 3]])
    assert api.ok("events.get_vector_metrics_and_variants", {"task": task}) == {
        "metrics": {"w": ["layer1"]}
    }
    assert api.ok("events.get_scalar_metrics_and_variants", {"task": task}) == {
        "metrics": {"loss": ["t"]}
    }
    api.ok("events.clear_task_log", {"task": task, "exclude_metrics": ["m"]})
    assert api.ok("events.get_task_log", {"task": task, "metrics": [{"metric": "m"}]})["total"] == 1
    api.ok("events.delete_for_task", {"task": task})
    assert api.ok("events.get_task_events", {"task": task})["total"] == 0
    assert api.ok("events.get_vector_metrics_and_variants", {"task": task}) == {"metrics": {}}
    assert api.error("events.delete_for_task", {"task": "f" * 32})[:2] == (400, 101)


def test_a_guessed_task_in_plots_and_debug_images_is_an_unknown_one(
    new_caller: Callable[..., Api],
) -> None:
    owner, stranger = new_caller(), new_caller(user="mallory")
    task = _task(owner, "secret plots")
    _send(owner, [{"task": task, "type": "plot", "iter": 1, "metric": "m", "plot_str": "s"}])
    unknown = "0123456789abcdef0123456789abcdef"
    for endpoint in ("events.plots", "events.debug_images"):
        guessed = stranger.error(endpoint, {"metrics": [{"task": task}]})
        assert guessed[:2] == (400, 101)
        assert (
            guessed[2].replace(task, unknown)
            == stranger.error(endpoint, {"metrics": [{"task": unknown}]})[2]
        )
    # A scroll id names tasks, but reads only the caller's own: the owner's plots stay hidden.
    scroll = owner.ok("events.plots", {"metrics": [{"task": task}]})["scroll_id"]
    mine = _task(stranger, "mine")
    page = stranger.ok("events.plots", {"metrics": [{"task": mine}], "scroll_id": scroll})
    assert all(m["iterations"] == [] for m in page["metrics"])
