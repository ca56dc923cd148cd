"""An agent's commands are planned once per connection, not once per statement (store/keyed.py),
and reads between them keep what the connection prepared (queries/reading.py).

psycopg prepares a statement the fifth time a connection runs it; PostgreSQL plans the first
five executions for their parameters and then keeps one generic plan, unless that plan looks
costlier than those (as `id = ANY($n)` does for one id), when it plans every execution anew.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tasktrack.api import Client
from tasktrack.http.auth import Authenticator
from tasktrack.http.ratelimit import FailureLimiter
from tasktrack.service import Caller
from tasktrack.store import credentials
from tasktrack.store.engine import make_engine
from tests.e2e.http import basic

ROUNDS = 12  # enough that a statement planned every time shows up clearly past the first 5
# Tasks in the database besides the agent's: PostgreSQL's choice of plan weighs the tables'
# statistics, and on a nearly empty, never analyzed database the costlier-looking generic plan
# of `id = ANY($n)` was kept all the same; a few hundred analyzed rows show the difference.
OTHERS = 300


@pytest.fixture
def one_connection(own_engine: Engine) -> Iterator[Engine]:
    """The agent's engine: one connection to a database of this test's own."""
    engine = make_engine(own_engine.url.render_as_string(hide_password=False), pool_size=1)
    yield engine
    engine.dispose()


def test_an_agents_commands_keep_their_plans(
    own_engine: Engine, one_connection: Engine, company: str
) -> None:
    setup = Client(own_engine, Caller(company=company, user="alice"))
    for i in range(OTHERS):
        setup.create(name=f"another task {i}", type="training")
    queue = str(setup.create_queue(name="plans of an agent")["id"])
    for i in range(ROUNDS):
        task = str(setup.create(name=f"planned task {i}", type="training")["id"])
        setup.enqueue(task=task, queue=queue)
    with own_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    agent = Client(one_connection, Caller(company=company, user="agent"))
    # The agent's requests are authenticated on the same pool (tasktrack serve): a bearer
    # token's checks are reads that must not make the connection forget either.
    with own_engine.begin() as conn:
        cred = credentials.create(conn, company, "agent")
    auth = Authenticator(one_connection, FailureLimiter(100, 100))
    bearer = "Bearer " + auth.login(basic(cred.access_key, cred.secret_key)).token
    for _ in range(ROUNDS):
        assert auth.caller(bearer).company == company
        got = agent.get_next_task(queue=queue)
        assert got, "the queue ran dry early"
        task = str(got["entry"]["task"])
        agent.started(task=task)
        agent.completed(task=task)
        agent.ping(task=task)
        # A read on the same connection, between commands (as an agent reads its task): it
        # must not make the connection forget what it prepared (queries/reading.py).
        assert agent.get_by_id(task).id == task
    # Read on the agent's one connection, before this read's own ROLLBACK at its end: psycopg
    # forgets every prepared statement of a connection on a ROLLBACK.
    with one_connection.connect() as conn:
        prepared = conn.execute(
            text(
                "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE generic_plans + custom_plans >= :rounds"
            ),
            {"rounds": ROUNDS},
        ).all()
    # The reads and writes of get_next_task, started, completed and ping, each run at least
    # ROUNDS times on this connection, are among them: the locks with the statuses seen, the
    # task row's read (with its queues), the log's INSERT, ...
    statements = [s for s, _, _ in prepared]
    for start in ("BEGIN", "SELECT locks.assigned", "SELECT id, company", "INSERT INTO events"):
        assert any(s.startswith(start) for s in statements), (start, statements)
    replanned = [(s, custom) for s, _, custom in prepared if custom > 5]
    assert not replanned, "statements planned on every execution:\n" + "\n".join(
        f"{custom} custom plans: {s[:160]}" for s, custom in replanned
    )
