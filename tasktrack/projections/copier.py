"""A replay's rows out by COPY, on a connection and a thread of their own, while it folds on.

The replay folds streams in Python while the server parses and stores the rows it already
made: rows are gathered per table and handed over in chunks to a writer thread, which COPYs
each chunk into its table and commits. The hand-over queue is short, so a fold that runs ahead
of the server waits (memory stays flat), and a writer that fails stops the replay at its next
chunk. Each chunk commits on its own: a transaction that stayed open for the whole replay
would hold back every commit-safe reader of the log (store/eventlog.py) for as long.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Sequence
from typing import Any

import psycopg

Key = tuple[str, tuple[str, ...]]  # (table, columns)
CHUNK_ROWS = 5000
# A chunk is also handed over once its text reaches this (5,000 rows of plot bodies would be
# gigabytes); with QUEUED_CHUNKS waiting, one being filled and one being written, the copier
# holds about 6 x this at most. At 16 MB that was most of a replay's memory (W10: 75 MB more
# than at 4 MB), for no gain in speed: a commit per 4 MB of rows costs nothing next to them.
CHUNK_BYTES = 4 * 1024 * 1024
QUEUED_CHUNKS = 4


class CopyFailed(RuntimeError):
    """The writer thread's COPY failed; the replay stops."""


class Copier:
    """`add` rows of any table; `close` waits until every one is written (or raises)."""

    def __init__(self, conn: psycopg.Connection[Any], chunk_rows: int = CHUNK_ROWS) -> None:
        self.conn = conn
        self.chunk_rows = chunk_rows
        self._buffers: dict[Key, list[Sequence[Any]]] = {}
        self._bytes: dict[Key, int] = {}
        self._queue: queue.Queue[tuple[Key, list[Sequence[Any]]] | None] = queue.Queue(
            QUEUED_CHUNKS
        )
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="replay-copier", daemon=True)
        self._thread.start()

    def add(self, table: str, columns: tuple[str, ...], row: Sequence[Any]) -> None:
        key = (table, columns)
        buffer = self._buffers.get(key)
        if buffer is None:
            buffer = self._buffers[key] = []
        buffer.append(row)
        size = self._bytes.get(key, 0) + sum(len(v) for v in row if isinstance(v, str | bytes))
        if len(buffer) >= self.chunk_rows or size >= CHUNK_BYTES:
            self._hand_over(key, buffer)
            self._buffers[key] = []
            size = 0
        self._bytes[key] = size

    def close(self) -> None:
        """Write what is still gathered, wait for the writer, and raise what it raised."""
        for key, buffer in self._buffers.items():
            if buffer:
                self._hand_over(key, buffer)
        self._buffers.clear()
        self._put(None)
        self._thread.join()
        self._check()

    def abandon(self) -> None:
        """Stop the writer without writing what is gathered (the replay failed)."""
        self._buffers.clear()
        if self._thread.is_alive():
            self._error = self._error or CopyFailed("abandoned")
            while self._thread.is_alive():
                with contextlib.suppress(queue.Empty):
                    self._queue.get_nowait()
                with contextlib.suppress(queue.Full):
                    self._queue.put_nowait(None)
                self._thread.join(timeout=0.05)

    def _hand_over(self, key: Key, rows: list[Sequence[Any]]) -> None:
        self._check()
        self._put((key, rows))

    def _put(self, item: tuple[Key, list[Sequence[Any]]] | None) -> None:
        # A bounded wait in a loop: a writer that died never takes from the queue again.
        while True:
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                self._check()

    def _check(self) -> None:
        if self._error is not None:
            raise CopyFailed(f"writing the replay's rows failed: {self._error}") from self._error

    def _write(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is not None:
                continue  # abandoned: drain without writing
            (table, columns), rows = item
            try:
                with (
                    self.conn.cursor() as cur,
                    cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
                self.conn.commit()
            except BaseException as exc:  # reported to the replay by _check
                self._error = exc
                self.conn.rollback()
                return
