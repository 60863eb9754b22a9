"""The run's SB3 logger: CSV (continued across resumes) and TensorBoard in the run folder."""

from __future__ import annotations

import csv
from pathlib import Path

from stable_baselines3.common.logger import CSVOutputFormat, Logger, TensorBoardOutputFormat


class ContinuedCSVOutputFormat(CSVOutputFormat):
    """SB3's CSV writer, but an existing file is continued rather than overwritten: rows past
    `keep_until_step` (logged after the checkpoint being resumed, and about to be redone) go."""

    def __init__(self, filename: Path, keep_until_step: int | None) -> None:
        filename = Path(filename)
        if keep_until_step is None or not filename.exists() or filename.stat().st_size == 0:
            super().__init__(str(filename))
            return
        with filename.open(newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            step_col = header.index("charts/env_steps") if "charts/env_steps" in header else None
            rows = [r for r in reader
                    if step_col is None or (r[step_col] and float(r[step_col]) <= keep_until_step)]
        with filename.open("w", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        self.file = filename.open("r+")
        self.file.seek(0, 2)
        self.keys = header
        self.separator = ","
        self.quotechar = '"'


def run_logger(run_dir: Path, keep_until_step: int | None = None) -> Logger:
    run_dir = Path(run_dir)
    return Logger(folder=str(run_dir), output_formats=[
        ContinuedCSVOutputFormat(run_dir / "progress.csv", keep_until_step),
        TensorBoardOutputFormat(str(run_dir)),
    ])
