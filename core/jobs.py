"""What every scheduled job shares: a failed run is logged and retried at the next tick."""

import logging
from collections.abc import Callable


def guarded(name: str, job: Callable[[], object], log: logging.Logger) -> Callable[[], None]:
    """The job, its failure logged under `name` instead of ending the scheduler's thread."""

    def run() -> None:
        try:
            job()
        except Exception:  # a failed run is logged and retried at the next tick
            log.exception("%s 失败，下个周期重试", name)

    return run
