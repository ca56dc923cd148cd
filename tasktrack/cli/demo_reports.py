"""What the demo's runs report, as a ClearML training script would: scalars over iterations,
plots (histogram, table, plotly), a single value, a debug image and console lines."""

from __future__ import annotations

import json
import math
import random
from typing import Any

from tasktrack.api import Client
from tasktrack.queries.metrics import SINGLE_VALUE_ITER

ITERATIONS = 20  # per run: a curve worth drawing, a report that stays quick
CLASSES = ("cat", "dog", "bird", "fish")


def _scalar(task: str, metric: str, variant: str, value: float, it: int) -> dict[str, Any]:
    return {
        "task": task,
        "type": "training_stats_scalar",
        "metric": metric,
        "variant": variant,
        "value": round(value, 5),
        "iter": it,
    }


def _plot(task: str, metric: str, variant: str, it: int, figure: dict[str, Any]) -> dict[str, Any]:
    return {
        "task": task,
        "type": "plot",
        "metric": metric,
        "variant": variant,
        "iter": it,
        "plot_str": json.dumps(figure),
    }


def _log(task: str, it: int, msg: str, level: str = "info") -> dict[str, Any]:
    return {"task": task, "type": "log", "iter": it, "level": level, "msg": msg}


def scalars(task: str, rng: random.Random, until: int) -> list[dict[str, Any]]:
    """loss (train, val) falling and accuracy (val) rising, with noise, iterations 0..until-1."""
    decay = rng.uniform(0.08, 0.2)
    out = []
    for it in range(until):
        train = 2.0 * math.exp(-decay * it) + 0.1 + rng.uniform(0, 0.05)
        out.append(_scalar(task, "loss", "train", train, it))
        out.append(_scalar(task, "loss", "val", train * 1.1 + rng.uniform(0, 0.08), it))
        out.append(_scalar(task, "accuracy", "val", 1 - 0.9 * math.exp(-decay * it), it))
    return out


def plots(task: str, rng: random.Random, it: int) -> list[dict[str, Any]]:
    """A histogram of weights, a per-class table and a plotly precision/recall curve."""
    edges = [round(-1 + 0.25 * i, 2) for i in range(9)]
    counts = [int(200 * math.exp(-(e**2) * 3) + rng.randint(0, 20)) for e in edges]
    histogram = {
        "data": [{"type": "bar", "name": "conv1", "x": edges, "y": counts}],
        "layout": {"title": "weights", "xaxis": {"title": "value"}, "yaxis": {"title": "count"}},
    }
    scores = [round(rng.uniform(0.7, 0.99), 3) for _ in CLASSES]
    table = {
        "data": [
            {
                "type": "table",
                "header": {"values": ["class", "precision", "support"]},
                "cells": {
                    "values": [list(CLASSES), scores, [rng.randint(80, 120) for _ in CLASSES]]
                },
            }
        ],
        "layout": {"title": "per class"},
    }
    recall = [i / 10 for i in range(11)]
    curve = {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "val",
                "x": recall,
                "y": [round(1 - r**3 * rng.uniform(0.3, 0.6), 3) for r in recall],
            }
        ],
        "layout": {"title": "precision/recall", "xaxis": {"title": "recall"}},
    }
    return [
        _plot(task, "weights", "conv1", it, histogram),
        _plot(task, "evaluation", "per class", it, table),
        _plot(task, "evaluation", "precision/recall", it, curve),
    ]


def report_run(agent: Client, task: str, rng: random.Random, outcome: str) -> None:
    """What one run reports: the whole curve when it completes, part of it otherwise."""
    until = ITERATIONS if outcome == "completed" else ITERATIONS // 3
    events = [_log(task, 0, "loading dataset: 50000 images")]
    events += scalars(task, rng, until)
    events.append(_log(task, until - 1, f"epoch {until - 1}: done"))
    events.append(
        {
            "task": task,
            "type": "training_debug_image",
            "metric": "samples",
            "variant": "batch 0",
            "iter": until - 1,
            "url": f"https://files.example.com/demo/{task}/samples/batch0_{until - 1:04d}.png",
        }
    )
    if outcome == "completed":
        events += plots(task, rng, until - 1)
        best = max(e["value"] for e in events if e.get("metric") == "accuracy")
        events.append(_scalar(task, "test accuracy", "summary", best, SINGLE_VALUE_ITER))
        events.append(_log(task, until - 1, "training complete"))
    else:
        stop = "RuntimeError: CUDA out of memory" if outcome == "failed" else "aborted by user"
        events.append(_log(task, until - 1, stop, level="error"))
    agent.add_events(events)
