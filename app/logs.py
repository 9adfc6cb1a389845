"""The log channel: the qisu.* loggers (notifications, sweeps, scheduler) write somewhere."""

import logging
import sys
from pathlib import Path
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
_MARK = "qisu_log_channel"


def configure_logging(
    level: str = "INFO", file: Path | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Give the `qisu` logger one handler (a file, or standard error) at `level`; idempotent."""
    root = logging.getLogger("qisu")
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
        old.close()
    handler: logging.Handler
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    setattr(handler, _MARK, True)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Written once, here; a root handler (a test's, a host's) must not print each line twice.
    root.propagate = False
    return handler
