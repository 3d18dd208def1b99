"""``metrics.csv``: one row per log point per seed, appended and flushed each chunk so that an
interrupted run keeps every row it finished."""

from __future__ import annotations

import csv
import pathlib

from rlx.experiment.paths import naming


class CsvLog:
    def __init__(self, path: pathlib.Path, append: bool = False):
        self.path = pathlib.Path(path)
        self.columns: list[str] | None = None
        if append and self.path.exists():
            with open(self.path, newline="") as f:
                self.columns = next(csv.reader(f), None)
        self._file = open(self.path, "a" if append else "w", newline="")  # noqa: SIM115  (open until close())
        self._writer = None

    def write(self, rows: list[dict]):
        if not rows:
            return
        if self.columns is None:
            self.columns = list(rows[0])
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, self.columns, extrasaction="ignore")
            if self._file.tell() == 0:
                self._writer.writeheader()
        with naming(self.path):
            self._writer.writerows(rows)
            self._file.flush()

    def close(self):
        with naming(self.path):
            self._file.close()
