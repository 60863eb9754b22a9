"""Comparisons and the SQLite preference store: the single source of truth for labels.

A label is acknowledged only once its transaction has committed, so a crash at any point loses
nothing that anyone was told was stored. The database runs in WAL mode with full synchronisation.
Segments that appear in comparisons are stored beside them (as `.npy` blobs, never pickles) so the
dataset can be reloaded and reused offline without the run that made it. Large blobs (pixel
segments, emulator states) are zlib-compressed; stacked frames are stored once per frame.
"""

from __future__ import annotations

import contextlib
import enum
import io
import sqlite3
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from prefrl.segments import Segment, is_frame_stack, pack_stacked, stacked_view


class Answer(str, enum.Enum):
    """A teacher's answer about a (left, right) pair, as the paper's contractors gave them."""

    LEFT = "left"
    RIGHT = "right"
    EQUAL = "equal"
    INCOMPARABLE = "incomparable"

    @property
    def target(self) -> float | None:
        """Probability that `left` is preferred, or None when the pair carries no label."""
        return {"left": 1.0, "right": 0.0, "equal": 0.5, "incomparable": None}[self.value]


@dataclass(frozen=True)
class Comparison:
    left_id: int
    right_id: int
    answer: Answer
    teacher: str
    created: float
    id: int | None = None
    query_id: int | None = None
    annotator: str | None = None


@dataclass(frozen=True)
class Query:
    """A pair waiting for (or given) a human answer."""

    id: int
    left_id: int
    right_id: int
    created: float


class ConflictingAnswer(ValueError):
    """This annotator already answered the query differently (undo first)."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    id INTEGER PRIMARY KEY,
    length INTEGER NOT NULL,
    obs BLOB NOT NULL,
    acts BLOB NOT NULL,
    true_rewards BLOB NOT NULL,
    render_states BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS comparisons (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    left_id INTEGER NOT NULL REFERENCES segments(id),
    right_id INTEGER NOT NULL REFERENCES segments(id),
    answer TEXT NOT NULL CHECK (answer IN ('left', 'right', 'equal', 'incomparable')),
    teacher TEXT NOT NULL,
    created REAL NOT NULL,
    query_id INTEGER REFERENCES queries(id),
    annotator TEXT
);
CREATE TABLE IF NOT EXISTS queries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    left_id INTEGER NOT NULL REFERENCES segments(id),
    right_id INTEGER NOT NULL REFERENCES segments(id),
    created REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_answer_per_annotator ON comparisons(query_id, annotator);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

SHARED_QUERY_ANSWERS = 2
"""A query already answered by someone is offered to other annotators until it has this many
answers, so annotators' agreement can be measured on shared queries."""


_ZLIB = b"ZLIB"
COMPRESS_ABOVE = 1 << 16
"""Blobs larger than this many bytes are stored zlib-compressed (level 1: fast, and pixel frames
and padded emulator states shrink several-fold)."""


def _to_blob(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, np.ascontiguousarray(array), allow_pickle=False)
    data = out.getvalue()
    return _ZLIB + zlib.compress(data, 1) if len(data) > COMPRESS_ABOVE else data


def _from_blob(blob: bytes) -> np.ndarray:
    if blob[:4] == _ZLIB:
        blob = zlib.decompress(blob[4:])
    return np.load(io.BytesIO(blob), allow_pickle=False)


def _obs_to_blob(obs: np.ndarray) -> bytes:
    """Stacked frames go in as their distinct frames (L+k-1 of them; see `_obs_from_blob`)."""
    return _to_blob(pack_stacked(obs) if is_frame_stack(obs) else obs)


def _obs_from_blob(blob: bytes, length: int) -> np.ndarray:
    obs = _from_blob(blob)
    if obs.shape[0] != length:  # distinct frames: L + k - 1 of them for L steps
        obs = stacked_view(obs, obs.shape[0] - length + 1)
    return obs


class PreferenceStore:
    """Comparisons and their segments in one SQLite file (normally `RUN_DIR/preferences.sqlite`)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "PreferenceStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _insert_segments(self, pairs: Sequence[tuple[Segment, Segment]]) -> None:
        segments = {s.id: s for pair in pairs for s in pair}
        self._db.executemany(
            "INSERT OR IGNORE INTO segments VALUES (?, ?, ?, ?, ?, ?)",
            [(s.id, s.length, _obs_to_blob(s.obs), _to_blob(s.acts), _to_blob(s.true_rewards),
              _to_blob(s.render_states)) for s in segments.values()],
        )

    def add_comparisons(
        self, pairs: Sequence[tuple[Segment, Segment]], answers: Sequence[Answer], teacher: str
    ) -> list[int]:
        """Store segments and answers in one transaction; returns the new comparison ids.

        Only after this returns may anything treat the labels as taken.
        """
        if len(pairs) != len(answers):
            raise ValueError(f"{len(pairs)} pairs but {len(answers)} answers")
        now = time.time()
        ids: list[int] = []
        with self._transaction():
            self._insert_segments(pairs)
            for (left, right), answer in zip(pairs, answers):
                cur = self._db.execute(
                    "INSERT INTO comparisons (left_id, right_id, answer, teacher, created)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (left.id, right.id, Answer(answer).value, teacher, now),
                )
                ids.append(int(cur.lastrowid))
        return ids

    # -- the human path: pending queries, answered one at a time -------------------------------

    def add_queries(self, pairs: Sequence[tuple[Segment, Segment]]) -> list[int]:
        """Store segments and pending queries about them in one transaction; returns query ids."""
        now = time.time()
        with self._transaction():
            self._insert_segments(pairs)
            return [int(self._db.execute(
                "INSERT INTO queries (left_id, right_id, created) VALUES (?, ?, ?)",
                (left.id, right.id, now)).lastrowid) for left, right in pairs]

    def query(self, query_id: int) -> Query | None:
        row = self._db.execute("SELECT id, left_id, right_id, created FROM queries WHERE id = ?",
                               (query_id,)).fetchone()
        return None if row is None else Query(*row)

    def answer_query(self, query_id: int, answer: Answer | str, annotator: str,
                     teacher: str = "human") -> tuple[int, bool]:
        """Commit an annotator's answer; returns (comparison id, whether it is new).

        The same answer sent again is recognised and stored once. KeyError for an unknown query;
        ConflictingAnswer if this annotator already gave a different answer."""
        answer = Answer(answer)
        with self._transaction():
            query = self.query(query_id)
            if query is None:
                raise KeyError(f"no query {query_id}")
            prior = self._db.execute(
                "SELECT id, answer FROM comparisons WHERE query_id = ? AND annotator = ?",
                (query_id, annotator)).fetchone()
            if prior is not None:
                if prior[1] != answer.value:
                    raise ConflictingAnswer(
                        f"query {query_id} was already answered '{prior[1]}' by {annotator!r}; undo it first")
                return int(prior[0]), False
            cur = self._db.execute(
                "INSERT INTO comparisons (left_id, right_id, answer, teacher, created, query_id, annotator)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (query.left_id, query.right_id, answer.value, teacher, time.time(), query_id, annotator))
            return int(cur.lastrowid), True

    def undo_last(self, annotator: str) -> int | None:
        """Withdraw this annotator's latest answer; returns its query id (pending again), or None."""
        with self._transaction():
            row = self._db.execute(
                "SELECT id, query_id FROM comparisons WHERE annotator = ? AND query_id IS NOT NULL"
                " ORDER BY id DESC LIMIT 1", (annotator,)).fetchone()
            if row is None:
                return None
            self._db.execute("DELETE FROM comparisons WHERE id = ?", (row[0],))
            self._db.execute(
                "INSERT INTO meta VALUES ('revision', '1') ON CONFLICT(key) DO UPDATE"
                " SET value = CAST(value AS INTEGER) + 1")
            return int(row[1])

    def revision(self) -> int:
        """Goes up whenever a stored answer is withdrawn, so readers know to reload."""
        return int(self.get_meta("revision") or 0)

    def next_queries(self, annotator: str, limit: int = 2) -> list[Query]:
        """What to show this annotator next: unanswered queries, oldest first; then queries others
        answered that this annotator has not, while they have fewer than SHARED_QUERY_ANSWERS."""
        rows = self._db.execute(
            """SELECT q.id, q.left_id, q.right_id, q.created,
                      COUNT(c.id) AS n, SUM(c.annotator = ?) AS mine
               FROM queries q LEFT JOIN comparisons c ON c.query_id = q.id
               GROUP BY q.id HAVING COALESCE(mine, 0) = 0 AND n < ?
               ORDER BY n > 0, q.id LIMIT ?""",
            (annotator, SHARED_QUERY_ANSWERS, limit)).fetchall()
        return [Query(*r[:4]) for r in rows]

    def query_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM queries").fetchone()[0])

    def pending_count(self) -> int:
        """Queries nobody has answered yet."""
        return int(self._db.execute(
            "SELECT COUNT(*) FROM queries q WHERE NOT EXISTS"
            " (SELECT 1 FROM comparisons c WHERE c.query_id = q.id)").fetchone()[0])

    @contextlib.contextmanager
    def _transaction(self):
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def comparisons(self, after_id: int = 0) -> list[Comparison]:
        rows = self._db.execute(
            "SELECT id, left_id, right_id, answer, teacher, created, query_id, annotator"
            " FROM comparisons WHERE id > ? ORDER BY id",
            (after_id,),
        ).fetchall()
        return [
            Comparison(left_id=r[1], right_id=r[2], answer=Answer(r[3]), teacher=r[4],
                       created=r[5], id=r[0], query_id=r[6], annotator=r[7])
            for r in rows
        ]

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM comparisons").fetchone()[0])

    def segments(self, ids: Iterable[int]) -> dict[int, Segment]:
        ids = sorted(set(int(i) for i in ids))
        out: dict[int, Segment] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT id, length, obs, acts, true_rewards, render_states FROM segments WHERE id IN ({marks})",
                chunk,
            ):
                out[row[0]] = Segment(id=row[0], obs=_obs_from_blob(row[2], row[1]), acts=_from_blob(row[3]),
                                      true_rewards=_from_blob(row[4]), render_states=_from_blob(row[5]))
        missing = set(ids) - set(out)
        if missing:
            raise KeyError(f"store {self.path} lacks segments {sorted(missing)[:5]}")
        return out

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]
