"""tasks.get_all's filter language on PostgreSQL (SEMANTICS §5; decisions in docs/semantics.md)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.domain.limits import MAX_ONLY_FIELDS
from tasktrack.queries.shaping import clearml_json
from tasktrack.queries.views import TaskView
from tests.integration.task_commands_support import expect_error, new_task, queue_of, task_in

BAD_FILTER = (400, 16)
INVALID = (400, 12)


def ids(client: Client, **filters: Any) -> set[str]:
    return {v.id for v in client.get_all(**filters)}


def ordered(client: Client, **filters: Any) -> list[str]:
    return [v.id for v in client.get_all(**filters)]


def metric_key(metric: str, variant: str, field: str = "value") -> str:
    def md5(s: str) -> str:
        return hashlib.md5(s.encode()).hexdigest()

    return f"last_metrics.{md5(metric)}.{md5(variant)}.{field}"


def report(client: Client, task: str, metric: str, variant: str, *values: float) -> None:
    """One scalar per value, at iterations 1, 2, ..."""
    events = [
        {
            "task": task,
            "type": "training_stats_scalar",
            "metric": metric,
            "variant": variant,
            "value": value,
            "iter": i,
        }
        for i, value in enumerate(values, start=1)
    ]
    assert client.add_events(events)["added"] == len(values)


def view(client: Client, task: str) -> TaskView:
    return client.get_by_id(task)


def iso(at: datetime | None) -> str:
    assert at is not None
    return at.isoformat()


# --- list fields -----------------------------------------------------------------------------


def test_list_fields_take_one_value_or_a_list(client: Client) -> None:
    a = new_task(client, name="aaa", project="p1", tags=["x"])
    b = new_task(client, name="bbb", project="p2", type="testing", tags=["y"])
    c = new_task(client, name="ccc", parent=a)
    d = new_task(client.as_caller(client.caller.company, "bob"), name="ddd", project="p1")

    assert ids(client, project="p1") == {a, d}
    assert ids(client, project=["p1", "p2"]) == {a, b, d}
    assert ids(client, type="testing") == {b}
    assert ids(client, user="bob") == {d}
    assert ids(client, user=["alice"]) == {a, b, c}
    assert ids(client, parent=a) == {c}
    assert ids(client, id=[a, c]) == {a, c}
    assert ids(client, id=c) == {c}
    assert ids(client, status="created", tags="x") == {a}
    assert ids(client, system_tags=["x"]) == set()
    # an empty list is no condition (as ClearML)
    assert ids(client, project=[]) == {a, b, c, d}


def test_a_dash_excludes_and_a_missing_field_holds_no_excluded_value(client: Client) -> None:
    a = new_task(client, name="aaa", project="p1", tags=["x"])
    b = new_task(client, name="bbb", project="p2", tags=["x", "y"])
    c = new_task(client, name="ccc")

    assert ids(client, project=["-p1"]) == {b, c}
    assert ids(client, project=["-p1", "-p2"]) == {c}
    assert ids(client, tags=["-y"]) == {a, c}
    assert ids(client, tags=["x", "-y"]) == {a}
    assert ids(client, status=["-created"]) == set()


def test_null_matches_a_missing_or_empty_field(client: Client) -> None:
    top = new_task(client, name="top", project="p1", tags=["x"])
    child = new_task(client, name="child", parent=top)
    queued = task_in(client, "queued", name="queued", project="p1")

    assert ids(client, project=None) == {child}
    assert ids(client, project=[None]) == {child}
    assert ids(client, parent=[None]) == {top, queued}
    assert ids(client, tags=None) == {child, queued}
    assert ids(client, tags=[None, "x"]) == {top, child, queued}
    assert ids(client, **{"execution.queue": None}) == {top, child}
    # `__$not` before null: the field is set
    assert ids(client, project=["__$not", None]) == {top, queued}
    assert ids(client, tags=["__$not", None]) == {top}
    # an empty string is empty too
    blank = new_task(client, name="blank project", project="")
    assert ids(client, project=None) == {child, blank}
    assert blank not in ids(client, project=["__$not", None])


def test_execution_queue_is_a_list_field(client: Client) -> None:
    q1 = task_in(client, "queued", name="in q1")
    q2 = new_task(client, name="in q2")
    client.enqueue(task=q2, queue_name="second")
    idle = new_task(client, name="idle")
    queue1, queue2 = queue_of(view(client, q1)), queue_of(view(client, q2))
    assert queue1
    assert queue2
    assert queue1 != queue2

    assert ids(client, **{"execution.queue": queue1}) == {q1}
    assert ids(client, **{"execution.queue": [queue1, queue2]}) == {q1, q2}
    assert ids(client, **{"execution.queue": [f"-{queue1}"]}) == {q2, idle}


# --- the token language ----------------------------------------------------------------------


def test_all_any_and_the_global_operator(client: Client) -> None:
    ab = new_task(client, name="tagged ab", tags=["a", "b"])
    a = new_task(client, name="tagged a", tags=["a"])
    b = new_task(client, name="tagged b", tags=["b"])
    c = new_task(client, name="tagged c", tags=["c"])
    none = new_task(client, name="none")

    assert ids(client, tags=["__$all", "a", "b"]) == {ab}
    assert ids(client, tags=["__$and", "a", "b"]) == {ab}
    assert ids(client, tags=["__$any", "a", "b"]) == {ab, a, b}
    assert ids(client, tags=["__$or", "a", "c"]) == {ab, a, c}
    # the first operator is the global one: "all of [a]" AND "any of [b, c]"
    assert ids(client, tags=["__$all", "a", "__$any", "b", "c"]) == {ab}
    # "any of [c]" OR "all of [a, b]"
    assert ids(client, tags=["__$any", "c", "__$all", "a", "b"]) == {c, ab}
    # __$not under each global operator
    assert ids(client, tags=["__$all", "a", "__$not", "b"]) == {a}
    assert ids(client, tags=["__$any", "c", "__$not", "a"]) == {b, c, none}
    # a value before the first operator fixes the global operator at "and"
    assert ids(client, tags=["-a", "__$or", "b", "c"]) == {b, c}
    # a null joins with OR whatever the operator
    assert ids(client, tags=["__$all", "a", "b", None]) == {ab, none}
    # on a single-valued field, "all of" holds only for one distinct value
    assert ids(client, status=["__$all", "created"]) == {ab, a, b, c, none}
    assert ids(client, status=["__$all", "created", "queued"]) == set()


def test_a_dash_is_an_ordinary_character_after_an_operator_until_nop(client: Client) -> None:
    dash = new_task(client, name="dash", tags=["-x"])
    dash_y = new_task(client, name="dash y", tags=["-x", "y"])
    x = new_task(client, name="tagged x", tags=["x"])

    assert ids(client, tags=["-x"]) == {dash, dash_y}
    assert ids(client, tags=["__$any", "-x"]) == {dash, dash_y}
    assert ids(client, tags=["__$all", "-x", "__$nop", "-y"]) == {dash}
    assert ids(client, tags=["__$all", "-x", "__$nop", "x"]) == set()
    assert ids(client, tags=["__$any", "y", "__$nop", "x"]) == {dash_y, x}
    # __$not takes the next value literally and negates only it
    assert ids(client, tags=["__$not", "-x"]) == {x}
    assert ids(client, tags=["__$not", "-x", "x"]) == {x}
    assert ids(client, tags=["__$not", "y", "-x"]) == {dash}


@pytest.mark.parametrize(
    "tags",
    [["__$xyz", "a"], ["a", "__$not"], ["__$not", "__$all", "a"], ["-"], ["__$ANY", "a"]],
)
def test_bad_tokens_are_400_16(client: Client, tags: list[str]) -> None:
    new_task(client, name="some task", tags=["a"])
    expect_error(BAD_FILTER, client.get_all, tags=tags)


def test_malformed_types_are_400_12(client: Client) -> None:
    expect_error(INVALID, client.get_all, tags=[1])
    expect_error(INVALID, client.get_all, created=["2024-01-01"])
    expect_error(INVALID, client.get_all, page="0")


# --- ranges ----------------------------------------------------------------------------------


def test_time_ranges_are_inclusive_and_a_null_min_admits_missing(client: Client) -> None:
    t1 = new_task(client, name="never started")
    t2 = task_in(client, "in_progress", name="started first")
    t3 = task_in(client, "in_progress", name="started second")
    v1, v2, v3 = (view(client, t) for t in (t1, t2, t3))

    assert ids(client, created=[iso(v2.created), None]) == {t2, t3}
    assert ids(client, created=[None, iso(v2.created)]) == {t1, t2}
    assert ids(client, created=[iso(v1.created), iso(v1.created)]) == {t1}
    assert ids(client, created=[v2.created, v3.created]) == {t2, t3}  # datetimes work too
    assert ids(client, started=[None, iso(v2.started)]) == {t1, t2}
    assert ids(client, started=[iso(v2.started), None]) == {t2, t3}
    assert ids(client, started=["2000-01-01", "2000-12-31"]) == set()
    expect_error(BAD_FILTER, client.get_all, started=[None, None])
    expect_error(BAD_FILTER, client.get_all, started=["not a time", None])


def test_number_ranges_on_active_duration_and_last_iteration(client: Client) -> None:
    idle = new_task(client, name="idle")
    low = task_in(client, "in_progress", name="low")
    high = task_in(client, "in_progress", name="high")
    report(client, low, "loss", "", *[1.0] * 5)
    report(client, high, "loss", "", *[1.0] * 50)
    client.ping(task=low)
    assert view(client, low).active_duration is not None
    assert view(client, idle).active_duration is None

    assert low in ids(client, active_duration=[0, None])
    assert idle not in ids(client, active_duration=[0, None])
    assert idle in ids(client, active_duration=[None, -1])
    assert low not in ids(client, active_duration=[None, -1])
    assert ids(client, last_iteration=[1, 10]) == {low}
    assert ids(client, last_iteration=[10, None]) == {high}
    assert ids(client, last_iteration=[None, 10]) == {idle, low}
    assert ids(client, last_iteration=["5", "5"]) == {low}
    assert ids(client, last_iteration=[4.5, 5.5]) == {low}
    assert ids(client, last_iteration=[5.5, 6]) == set()
    assert ids(client, last_iteration=[2**70, None]) == set()
    expect_error(BAD_FILTER, client.get_all, last_iteration=["many", None])


def test_last_metrics_ranges_and_order_are_numeric(client: Client) -> None:
    nine, ten, hundred = (task_in(client, "in_progress", name=f"scored {v}") for v in (9, 10, 100))
    silent = task_in(client, "in_progress", name="silent")
    nan = task_in(client, "in_progress", name="nan")
    inf = task_in(client, "in_progress", name="inf")
    report(client, nine, "loss", "train", 30.0, 9.0)
    report(client, ten, "loss", "train", 10.0)
    report(client, hundred, "loss", "train", 100.0)
    report(client, nan, "loss", "train", float("nan"))
    report(client, inf, "loss", "train", float("inf"))
    report(client, silent, "loss", "eval", 1.0)
    value = metric_key("loss", "train")

    assert ids(client, **{value: [9.5, None]}) == {ten, hundred}
    assert ids(client, **{value: [10, 10]}) == {ten}
    # a missing aggregate (and a non-finite value, which reads as null) passes a null min
    assert ids(client, **{value: [None, 9.5]}) == {nine, silent, nan, inf}
    assert ids(client, **{value: ["0", "1e3"]}) == {nine, ten, hundred}
    assert ids(client, **{metric_key("loss", "train", "max_value"): [20, None]}) == {
        nine,
        hundred,
    }
    assert ids(client, **{metric_key("loss", "train", "count"): [2, 2]}) == {nine}
    assert ids(client, **{metric_key("loss", "eval"): [0, None]}) == {silent}
    # numeric order (not text: "9" > "100"), missing last in both directions
    missing = sorted([silent, nan, inf])
    assert ordered(client, order_by=[value]) == [nine, ten, hundred, *missing]
    assert ordered(client, order_by=[f"-{value}"]) == [hundred, ten, nine, *missing]
    expect_error(BAD_FILTER, client.get_all, **{"last_metrics.loss.train.value": [0, 1]})
    expect_error(BAD_FILTER, client.get_all, **{metric_key("loss", "train", "metric"): [0, 1]})


# --- datetimes, regular expressions, free text -----------------------------------------------


def test_datetime_fields_compare_with_a_prefix_or_a_pair(client: Client) -> None:
    t1, t2, t3 = (new_task(client, name=f"task {i}") for i in range(3))
    u1, u2, u3 = (view(client, t).last_update for t in (t1, t2, t3))
    assert u1 is not None
    assert u2 is not None
    assert u3 is not None
    assert u1 < u2 < u3

    assert ids(client, last_update=f">{iso(u1)}") == {t2, t3}
    assert ids(client, last_update=f">={iso(u2)}") == {t2, t3}
    assert ids(client, last_update=f"<{iso(u2)}") == {t1}
    assert ids(client, last_update=f"<={iso(u2)}") == {t1, t2}
    assert ids(client, last_update=iso(u2)) == {t2}
    assert ids(client, last_update=[f">={iso(u1)}", f"<{iso(u3)}"]) == {t1, t2}
    assert ids(client, last_update=[iso(u2), iso(u3)]) == {t2, t3}
    assert ids(client, last_update=[None, iso(u1)]) == {t1}
    z = u2.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert ids(client, last_update=f">={z}") == {t2, t3}
    assert ids(client, last_update=">2000-01-01") == {t1, t2, t3}
    assert ids(client, status_changed="<2000-01-01") == set()
    assert ids(client, last_change=f">{iso(view(client, t2).last_change)}") == {t3}
    expect_error(BAD_FILTER, client.get_all, last_update="yesterday")
    expect_error(BAD_FILTER, client.get_all, last_update=[None, None])


def test_name_and_comment_are_unanchored_case_sensitive_regexes(client: Client) -> None:
    r50 = new_task(client, name="resnet-50 run", comment="tuned lr=0.1")
    r101 = new_task(client, name="ResNet-101", comment="lr=0x1")
    alex = new_task(client, name="alexnet")

    assert ids(client, name="resnet") == {r50}
    assert ids(client, name="snet") == {r50}
    assert ids(client, name="(?i)resnet") == {r50, r101}
    assert ids(client, name="^alex") == {alex}
    assert ids(client, name="[0-9]+ run$") == {r50}
    assert ids(client, comment=r"lr=0\.1") == {r50}
    assert ids(client, comment="lr=0.1") == {r50, r101}
    assert ids(client, name="net", comment="lr") == {r50}  # "ResNet" has no "net"
    expect_error(BAD_FILTER, client.get_all, name="(")
    expect_error(BAD_FILTER, client.get_all, comment="[a-")
    assert ids(client, name="alex") == {alex}  # the connection is usable after the refusal


def test_search_text_is_a_case_insensitive_substring_of_name_id_or_comment(
    client: Client,
) -> None:
    alpha = new_task(client, name="Alpha Model")
    beta = new_task(client, name="second", comment="uses BETA data")
    other = new_task(client, name="third")

    assert ids(client, search_text="alpha") == {alpha}
    assert ids(client, search_text="  ALPHA mod ") == {alpha}
    assert ids(client, search_text="beta") == {beta}
    assert ids(client, search_text=other) == {other}
    assert ids(client, search_text=other[5:20].upper()) == {other}
    assert ids(client, search_text="") == {alpha, beta, other}
    assert ids(client, search_text="gamma") == set()


# --- order and pages -------------------------------------------------------------------------


def test_order_by_breaks_ties_by_id(client: Client) -> None:
    same = [new_task(client, name="same") for _ in range(4)]
    first = new_task(client, name="aaa")

    assert ordered(client, order_by=["name"]) == [first, *sorted(same)]
    assert ordered(client, order_by="-name") == [*sorted(same), first]
    assert ordered(client, order_by=["-id"]) == sorted([*same, first], reverse=True)
    assert ordered(client) == sorted([*same, first])
    expect_error(BAD_FILTER, client.get_all, order_by=["nope"])
    expect_error(BAD_FILTER, client.get_all, order_by=["@text_score"])


def test_missing_values_sort_last_for_the_first_ascending_key(client: Client) -> None:
    never = sorted(new_task(client, name="same") for _ in range(2))
    first = task_in(client, "in_progress", name="same")
    second = task_in(client, "in_progress", name="same")

    assert ordered(client, order_by=["started"]) == [first, second, *never]
    assert ordered(client, order_by=["-started"]) == [second, first, *never]
    # a later ascending key keeps the smallest-first place of missing values (as ClearML)
    assert ordered(client, order_by=["name", "started"]) == [*never, first, second]
    assert ordered(client, order_by=["name", "-started"]) == [second, first, *never]


def test_empty_strings_and_lists_count_as_missing_for_the_first_key(client: Client) -> None:
    blank = new_task(client, name="blank")
    b = new_task(client, name="bbb", comment="b", tags=["b"])
    a = new_task(client, name="aaa", comment="a", tags=["a"])

    assert ordered(client, order_by=["comment"]) == [a, b, blank]
    assert ordered(client, order_by=["tags"]) == [a, b, blank]
    assert ordered(client, order_by=["-comment"]) == [b, a, blank]
    assert ordered(client, order_by=["execution.queue", "name"]) == [a, b, blank]


def test_pages_and_the_500_row_cap(client: Client) -> None:
    made = [new_task(client, name=f"bulk {i:03d}") for i in range(501)]

    assert len(client.get_all()) == 500
    assert len(client.get_all(page_size=1000)) == 500
    assert ordered(client, order_by=["name"], page=1, page_size=1000) == [made[500]]
    assert ordered(client, order_by=["name"], page=2, page_size=200) == made[400:]
    pages = [ordered(client, order_by=["-name"], page=p, page_size=7) for p in range(3)]
    assert [t for page in pages for t in page] == made[::-1][:21]
    assert client.get_all(page=10**15, page_size=500) == []
    expect_error(BAD_FILTER, client.get_all, page=-1)
    expect_error(BAD_FILTER, client.get_all, page_size=0)


# --- only_fields ----------------------------------------------------------------------------


def test_only_fields_shapes_each_task_as_http_does(client: Client) -> None:
    queued = task_in(client, "queued", name="queued one", tags=["x"], comment="hello")
    report(client, queued, "loss", "train", 3.0, 1.0)
    idle = new_task(client, name="idle one", tags=["y"])
    full = {t: clearml_json(view(client, t)) for t in (queued, idle)}
    queue = full[queued]["execution"]["queue"]
    assert queue

    got = client.get_all(
        only_fields=["name", "execution.queue", "last_metrics"], order_by=["-name"]
    )
    assert got == [
        {
            "id": queued,
            "name": "queued one",
            "execution": {"queue": queue},
            "last_metrics": full[queued]["last_metrics"],
        },
        # no queue: the object on the way stays, empty (as MongoDB projects it)
        {"id": idle, "name": "idle one", "execution": {}, "last_metrics": {}},
    ]
    # the filters still apply; a nested path keeps only its branch; id stays even if excluded
    (m_hash, variants), *_ = full[queued]["last_metrics"].items()
    v_hash, *_ = variants
    path = f"last_metrics.{m_hash}.{v_hash}.max_value"
    assert client.get_all(only_fields=[path, "-id"], tags="x") == [
        {"id": queued, "last_metrics": {m_hash: {v_hash: {"max_value": 3.0}}}}
    ]
    # exclusion alone: every other field, as a whole task answers it
    [shaped] = client.get_all(only_fields=["-execution.queue", "-last_metrics", "-tags"], id=queued)
    expected = {k: v for k, v in full[queued].items() if k not in ("last_metrics", "tags")}
    expected["execution"] = {k: v for k, v in expected["execution"].items() if k != "queue"}
    assert shaped == expected
    assert "comment" in shaped
    # an empty list shapes nothing; leaving only_fields out gives typed TaskViews
    assert client.get_all(only_fields=[], id=idle) == [full[idle]]
    assert client.get_all(only_fields=None, id=idle) == [view(client, idle)]


@pytest.mark.parametrize("bad", ["name", [1], [["name"]], ["a"] * (MAX_ONLY_FIELDS + 1)])
def test_malformed_only_fields_are_400_12(client: Client, bad: Any) -> None:
    expect_error(INVALID, client.get_all, only_fields=bad)


# --- visibility ------------------------------------------------------------------------------


def test_hidden_tasks_need_search_hidden_or_ids_archived_ones_do_not(client: Client) -> None:
    shown = new_task(client, name="shown")
    hidden = new_task(client, name="hidden", system_tags=["hidden"])
    archived = new_task(client, name="archived")
    client.archive(tasks=[archived])

    assert ids(client) == {shown, archived}
    assert ids(client, search_hidden=True) == {shown, hidden, archived}
    assert ids(client, id=hidden) == {hidden}
    assert ids(client, id=[hidden, shown]) == {hidden, shown}
    assert ids(client, system_tags="hidden") == set()
    assert ids(client, system_tags="hidden", search_hidden=True) == {hidden}
    assert ids(client, system_tags=["-archived"]) == {shown}
    assert ids(client, system_tags="archived") == {archived}


def test_another_companys_tasks_never_appear(client: Client) -> None:
    stranger = client.as_caller(f"{client.caller.company}-other", "eve")
    mine = new_task(client, name="shared name", project="p", tags=["t"])
    theirs = new_task(stranger, name="shared name", project="p", tags=["t"])
    hidden = new_task(stranger, name="shared name", system_tags=["hidden"])
    client.started(task=mine)
    stranger.started(task=theirs)
    report(client, mine, "loss", "", 1.0)
    report(stranger, theirs, "loss", "", 1.0)

    everything: list[dict[str, Any]] = [
        {},
        {"search_hidden": True},
        {"id": [theirs, hidden, mine]},
        {"project": "p", "tags": ["t"]},
        {"name": "shared", "search_text": "shared"},
        {"search_text": theirs},
        {metric_key("loss", ""): [0, None], "order_by": [metric_key("loss", "")]},
        {"project": ["-nothing"], "user": ["-nobody"], "status": ["__$not", "created"]},
    ]
    for filters in everything:
        assert ids(client, **filters) <= {mine}, filters
        assert mine not in ids(stranger, **filters), filters
    assert ids(stranger, id=[theirs, hidden, mine]) == {theirs, hidden}


def test_hostile_values_are_data(client: Client, engine: Engine) -> None:
    quote = new_task(client, name="quote", tags=["x' OR '1'='1"], project="p'; DROP TABLE t; --")
    percent = new_task(client, name="100% _sure_ (really)", comment="back\\slash")
    plain = new_task(client, name="plain", project=".*", tags=["x"])

    assert ids(client, tags=["x' OR '1'='1"]) == {quote}
    assert ids(client, project=["p'; DROP TABLE t; --"]) == {quote}
    assert ids(client, project=[".*"]) == {plain}
    assert ids(client, project=["%"]) == set()
    assert ids(client, search_text="%") == {percent}
    assert ids(client, search_text="_") == {percent}
    assert ids(client, search_text="(really)") == {percent}
    assert ids(client, search_text="\\") == {percent}
    assert ids(client, search_text="' OR '1'='1") == set()
    assert ids(client, name=r"100% _sure_ \(really\)") == {percent}
    assert ids(client, name="'; SELECT pg_sleep(10); --") == set()
    expect_error(BAD_FILTER, client.get_all, last_update="<2000-01-01'; DROP TABLE tasks; --")
    expect_error(BAD_FILTER, client.get_all, order_by=["name; DROP TABLE tasks"])
    expect_error(BAD_FILTER, client.get_all, **{"last_metrics.a'--.b.value": [0, 1]})
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tasks")).scalar_one() >= 3
    assert ids(client) == {quote, percent, plain}
