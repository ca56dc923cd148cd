"""The task row's UPDATE of changed columns: which fields count as changed, and its statement."""

from __future__ import annotations

import msgspec
from msgspec import structs

from tasktrack.domain import commands as cmd
from tasktrack.domain.records import StreamHead
from tasktrack.domain.values import Execution
from tasktrack.store.taskrows import FIELDS, JSON_FIELDS, changed_params, update_sql
from tests.unit.domain_builders import T1, TASK_ID, run, task_in

HEAD = StreamHead(7, b"h" * 32)


def _names(changed: tuple[int, ...]) -> set[str]:
    return {FIELDS[i] for i in changed}


def test_a_status_change_sends_the_fields_it_changed_and_no_other() -> None:
    before = task_in("queued")
    _, after = run(before, cmd.MarkStarted(task=TASK_ID))
    changed, params = changed_params(before, after, HEAD, T1)
    differing = {f for f in FIELDS if getattr(before, f) is not getattr(after, f)}
    differing -= {
        f for f in differing if f not in JSON_FIELDS and getattr(before, f) == getattr(after, f)
    }
    assert _names(changed) == differing
    assert {"status", "started", "status_changed"} <= _names(changed)
    assert not {"name", "created", "script", "hyperparams", "tags"} & _names(changed)
    plain = [i for i in changed if FIELDS[i] not in JSON_FIELDS]
    assert [params[changed.index(i)] for i in plain] == [getattr(after, FIELDS[i]) for i in plain]
    # The guard (the old version, then the new), the head, then the row's key.
    assert params[len(changed) :] == [
        before.version,
        after.version,
        HEAD.hash,
        T1,
        after.company,
        after.id,
    ]


def test_equal_json_of_a_new_object_and_equal_numbers_of_another_type_count_as_changed() -> None:
    before = task_in("created", execution=Execution(queue="q1"), last_iteration=3)
    same = structs.replace(before)
    assert changed_params(before, same, HEAD, T1)[0] == ()
    after = structs.replace(before, execution=Execution(queue="q1"), last_iteration=3.0)
    changed, params = changed_params(before, after, HEAD, T1)
    assert _names(changed) == {"execution", "last_iteration"}
    assert params[: len(changed)] == [msgspec.json.encode(after.execution).decode(), 3.0]


def test_the_statement_sets_the_changed_columns_and_guards_the_version() -> None:
    changed = (FIELDS.index("status"), FIELDS.index("execution"), FIELDS.index("user"))
    sql = update_sql("tasks", changed)
    assert sql == (
        "UPDATE tasks SET status = %s, execution = %s::jsonb, user_id = %s, "
        "stream_version = CASE WHEN stream_version = %s THEN %s END, head_hash = %s, "
        "head_at = %s WHERE company = %s AND id = %s"
    )
