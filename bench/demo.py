"""Where a demo load's time goes: `qisu demo load` on a fresh SQLite database, counted.

Usage: `.venv/bin/python -m bench.demo [--profile FILE] [--no-model] [--no-quantized]
[--appeals N] [--prime-first] [--now ISO]`. It loads the demo into a new SQLite file under a
temporary folder with the default model of QISU_DATA_DIR (default `var`), and prints the wall
and CPU seconds (the whole process's, and the main thread's: the replay without the primer's thread)
and the SQL statements issued with their time, by verb and table. `--profile` writes
cProfile's stats of the main thread's CPU time.
"""

import argparse
import cProfile
import os
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event

from app.demo import load_demo
from app.demo import replay as replay_module
from app.setup import prepare_database
from core.config import get_settings
from core.db import make_engine
from deadlines.policy import load_policy
from routing.model import ServingModel
from routing.settings import RoutingSettings


def _kind(statement: str) -> str:
    """A statement's verb and table, enough to tell where they come from."""
    words = statement.split()
    verb = words[0].upper() if words else "?"
    table = "?"
    for marker in ("FROM", "INTO", "UPDATE"):
        if marker in words[:40]:
            at = words.index(marker) + 1
            table = words[at] if at < len(words) else "?"
            break
    return f"{verb} {table}"


def main() -> None:
    """Load once and print what it cost."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--no-model", action="store_true")
    parser.add_argument(
        "--quantized",
        action=argparse.BooleanOptionalAction,
        default=RoutingSettings().quantized,
        help="the int8 encoder (the serving default) or, with --no-quantized, fp32",
    )
    parser.add_argument("--appeals", type=int, default=2000)
    parser.add_argument(
        "--prime-first", action="store_true", help="let the primer finish before the replay"
    )
    parser.add_argument(
        "--now",
        type=datetime.fromisoformat,
        help="the replay's end (ISO, with an offset): "
        "two loads at the same instant are the same district, to compare before and after",
    )
    args = parser.parse_args()
    settings = get_settings()
    folder = Path(tempfile.mkdtemp(prefix="qisu-demo-bench-"))
    engine = make_engine(f"sqlite:///{folder / 'qisu.db'}")
    prepare_database(engine)
    counts: Counter[str] = Counter()
    spent: dict[str, float] = defaultdict(float)  # seconds in the database, by kind
    began: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, many: bool) -> None:
        counts[_kind(statement)] += 1
        began.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _time(_c: Any, _cur: Any, statement: str, _p: Any, _ctx: Any, many: bool) -> None:
        spent[_kind(statement)] += time.perf_counter() - began.pop()

    serving = ServingModel(
        None if args.no_model else settings.data_dir / "models", quantized=args.quantized
    )
    if not args.no_model:
        print("model:", serving.warm())
    if args.prime_first:  # the replay's own cost, without the primer beside it
        start = replay_module.prime_model

        def primed_first(script: Any, serving: ServingModel, progress: Any) -> str | None:
            found = start(script, serving, progress)
            for appeal in script.appeals:
                serving.analyse(replay_module._words(appeal))
            progress("  primer done")
            return found

        replay_module.prime_model = primed_first
    # The main thread's CPU: the primer's thread is left out of the profile and of `replay`.
    profiler = cProfile.Profile(time.thread_time) if args.profile else None
    wall, cpu, replay = time.perf_counter(), time.process_time(), time.thread_time()
    if profiler:
        profiler.enable()
    loaded = load_demo(
        engine,
        policy=load_policy(settings.sla_policy),
        routing=RoutingSettings(),
        serving=serving,
        appeals=args.appeals,
        now=args.now,
        progress=lambda line: print(
            f"{time.perf_counter() - wall:6.1f} s {time.process_time() - cpu:6.1f} s CPU "
            f"{time.thread_time() - replay:6.1f} s replay  {line}",
            flush=True,
        ),
    )
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    replay = time.thread_time() - replay
    print(
        f"{loaded.appeals} appeals, {loaded.steps} steps, {loaded.sweeps} sweeps: "
        f"{wall:.1f} s wall, {cpu:.1f} s CPU ({replay:.1f} s in the main thread), "
        f"load {os.getloadavg()[0]:.2f}"
    )
    print(f"database: {folder / 'qisu.db'}")
    print(f"{sum(counts.values())} statements, {sum(spent.values()):.1f} s in the database")
    for kind, n in counts.most_common(30):
        print(f"  {n:7d}  {spent[kind]:6.2f} s  {kind}")


if __name__ == "__main__":
    main()
