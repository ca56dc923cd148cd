"""The hostile corpus (hostile_corpus.py) against a real server: never a 5xx, always a valid
envelope, and a refused call leaves the log and every read model exactly as they were."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tasktrack.store import credentials
from tests.e2e.dbstate import envelope_problem, fingerprint
from tests.e2e.hostile_corpus import TASK, Hostile, corpus
from tests.e2e.http import Api, basic

pytestmark = pytest.mark.fuzz

CORPUS = corpus()


@pytest.fixture(scope="module")
def target(server: str, e2e_engine: Engine) -> Iterator[tuple[Api, Api, str]]:
    """A caller of a company of its own, an anonymous client, and a started task."""
    with e2e_engine.begin() as conn:
        cred = credentials.create(conn, f"hostile-{uuid.uuid4().hex[:8]}", "eve")
    api = Api(server, basic(cred.access_key, cred.secret_key))
    anonymous = Api(server, None)
    task = api.ok("tasks.create", {"name": "target task", "type": "training"})["id"]
    api.ok("tasks.started", {"task": task})
    yield api, anonymous, task
    api.close()
    anonymous.close()


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_a_hostile_request_is_answered_in_the_envelope_and_a_refusal_writes_nothing(
    entry: Hostile, target: tuple[Api, Api, str], e2e_engine: Engine
) -> None:
    api, anonymous, task = target
    client = anonymous if "Authorization" in entry.headers else api
    body = entry.body.replace(TASK.encode(), task.encode())
    before = fingerprint(e2e_engine)
    response = client.raw(entry.endpoint, body, method=entry.method, headers=entry.headers)
    assert response.status_code < 500, response.text[:500]
    assert envelope_problem(response) is None, envelope_problem(response)
    meta = response.json()["meta"]
    if entry.expect is not None:
        assert (response.status_code, meta["result_subcode"]) == entry.expect, meta
    if response.status_code != 200:
        assert fingerprint(e2e_engine) == before, meta
    assert api.ok("debug.ping") == {"msg": "tasktrack server"}


def test_the_corpus_covers_every_kind_of_hostile_input() -> None:
    """Each family the issue names is in the corpus, and most answers are pinned down."""
    names = " ".join(e.name for e in CORPUS)
    families = ("utf8", "nan", "inf", "sql", "regex", "nul", "depth", "20k", "negative", "long")
    assert all(f in names for f in families)
    assert sum(e.expect is not None for e in CORPUS) >= 0.9 * len(CORPUS)
