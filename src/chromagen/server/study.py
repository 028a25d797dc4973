"""The "real or colorized?" study: trials and answers in SQLite, and the fooled rate with its confidence interval.

A trial is drawn server-side (photo and truth), so the page never knows the answer before it is given;
answers survive restarts because they live in the database file, not in memory.
"""

import math
import random
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from chromagen.errors import ChromagenError
from chromagen.media.walker import IMAGE, KINDS, walk

SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (id TEXT PRIMARY KEY, photo TEXT NOT NULL, real INTEGER NOT NULL,
                                   created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS answers (trial TEXT PRIMARY KEY REFERENCES trials(id), said_real INTEGER NOT NULL,
                                    answered REAL NOT NULL);
"""
Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sensible at small n and near 0 or 1)."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denom = 1 + z * z / trials
    center = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return max(0.0, center - half), min(1.0, center + half)


@dataclass(frozen=True)
class Trial:
    id: str
    photo: str  # file name relative to the study folder
    real: bool


class StudyStore:
    """Trials and answers in one SQLite file (one connection, serialized: the traffic is human-paced)."""

    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ChromagenError(f"--study-db {path}: cannot open the study database ({exc})") from exc
        self._lock = threading.Lock()

    def new_trial(self, photo: str, real: bool) -> Trial:
        trial = Trial(uuid.uuid4().hex, photo, real)
        with self._lock:
            self._db.execute("INSERT INTO trials VALUES (?, ?, ?, ?)", (trial.id, photo, int(real), time.time()))
        return trial

    def trial(self, trial_id: str) -> Trial | None:
        with self._lock:
            row = self._db.execute("SELECT id, photo, real FROM trials WHERE id = ?", (trial_id,)).fetchone()
        return Trial(row[0], row[1], bool(row[2])) if row else None

    def answer(self, trial_id: str, said_real: bool) -> bool:
        """Record the first answer to a trial; False when it was already answered."""
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO answers VALUES (?, ?, ?)",
                                      (trial_id, int(said_real), time.time()))
        return cursor.rowcount == 1

    def results(self) -> dict[str, object]:
        """Fooled rate = colorized photos judged real; real photos judged real as the baseline."""
        with self._lock:
            rows = self._db.execute("SELECT t.real, a.said_real, COUNT(*) FROM answers a JOIN trials t "
                                    "ON t.id = a.trial GROUP BY t.real, a.said_real").fetchall()
        counts = {(bool(real), bool(said)): n for real, said, n in rows}
        shown_fake = counts.get((False, True), 0) + counts.get((False, False), 0)
        fooled = counts.get((False, True), 0)
        shown_real = counts.get((True, True), 0) + counts.get((True, False), 0)
        real_judged_real = counts.get((True, True), 0)
        low, high = wilson_interval(fooled, shown_fake)
        real_low, real_high = wilson_interval(real_judged_real, shown_real)
        return {
            "answers": shown_fake + shown_real,
            "colorized_shown": shown_fake, "fooled": fooled,
            "fooled_rate": fooled / shown_fake if shown_fake else None,
            "fooled_ci95": [low, high],
            "real_shown": shown_real, "real_judged_real": real_judged_real,
            "real_judged_real_rate": real_judged_real / shown_real if shown_real else None,
            "real_judged_real_ci95": [real_low, real_high],
            "interval": "Wilson score, 95%",
        }

    def close(self) -> None:
        self._db.close()


def study_photos(folder: Path) -> list[str]:
    """Image files directly or deeper in the study folder, as relative names (sorted: stable across restarts)."""
    return [item.rel.as_posix() for item in walk([folder], kinds={IMAGE: KINDS[IMAGE]}).items]  # the one walker


def draw(photos: list[str], rng: random.Random) -> tuple[str, bool]:
    """A photo at random, shown real or colorized with equal odds."""
    return rng.choice(photos), rng.random() < 0.5
