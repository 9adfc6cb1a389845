"""Intake rate and latency of `qisu serve` on SQLite against the bare floor of the same stack.

Starts both servers in turn on temporary SQLite files, drives each with the same concurrent
load over real HTTP, prints rate and p50/p99, and fails (exit 1) below half the bare rate.

`--routed MODELS` serves with routing on (the registry's active model) instead: concurrent
clients take appeals in while one unit handler acknowledges dispatched tickets, and the bench
prints tickets/s, intake p50/p99 and the acknowledges' p50/p99. `--before TREE` serves an
earlier checkout's code (`git archive COMMIT | tar -x -C TREE`) in interleaved rounds with this
one, so a change is measured against what it replaced on the same load.
"""

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import ticket_payload


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    command: list[str], env: dict[str, str], ready_path: str, port: int, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180  # a routed server loads its model first
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server {' '.join(command)} did not start")


def drive(
    url: str,
    headers: dict[str, str],
    requests: int,
    concurrency: int,
    offset: int,
    body: Callable[[int], dict[str, Any]] | None = None,
) -> dict[str, float]:
    """POST `requests` intakes from `concurrency` threads; return rate and latency figures."""
    latencies: list[float] = []
    lock = threading.Lock()
    failures = 0

    def worker(index: int) -> None:
        nonlocal failures
        mine: list[float] = []
        with httpx.Client(timeout=60) as http:
            for n in range(index, requests, concurrency):
                payload = body(n) if body else ticket_payload(offset + n)
                began = time.perf_counter()
                status = http.post(url, json=payload, headers=headers).status_code
                mine.append(time.perf_counter() - began)
                if status != 201:
                    with lock:
                        failures += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise SystemExit(f"{failures} requests to {url} were not answered 201")
    quantiles = statistics.quantiles(latencies, n=100)
    return {
        "requests": requests,
        "rate_per_s": requests / elapsed,
        "p50_ms": quantiles[49] * 1000,
        "p99_ms": quantiles[98] * 1000,
    }


ROUTED_TEXTS = Path(__file__).resolve().parent / "data" / "routing-eval-v2" / "dev.yaml"


def create_user(env: dict[str, str], cwd: Path, *args: str) -> str:
    """A bearer token from `qisu users create`, run by the served tree's code."""
    command = [sys.executable, "-m", "app.cli", "users", "create", *args]
    done = subprocess.run(
        command, env={**os.environ, **env}, cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def drive_routed(
    port: int, operator: dict[str, str], handler: dict[str, str], texts: list[str],
    requests: int, concurrency: int, offset: int,
) -> dict[str, float]:  # fmt: skip
    """Intakes from `concurrency` clients while a handler acknowledges tickets one by one."""
    base = f"http://127.0.0.1:{port}/api/v1"
    with httpx.Client(timeout=60) as http:
        # Tickets for the handler: the default body's text goes to market_regulation.
        to_ack = []
        for n in range(40):
            first = ticket_payload(offset + 90_000 + n)
            ticket = http.post(f"{base}/tickets", json=first, headers=operator).json()
            if ticket.get("lead_unit") == "market_regulation":
                to_ack.append(ticket["id"])
    if len(to_ack) < 10:
        raise SystemExit(f"only {len(to_ack)} of 40 tickets went to market_regulation")
    acks: list[float] = []
    stop = threading.Event()

    def acknowledger() -> None:
        with httpx.Client(timeout=60) as http:
            for ticket_id in to_ack:
                if stop.is_set():
                    break
                began = time.perf_counter()
                status = http.post(f"{base}/tickets/{ticket_id}/acknowledge", headers=handler)
                acks.append(time.perf_counter() - began)
                if status.status_code != 200:
                    raise SystemExit(f"acknowledge {ticket_id}: {status.status_code}")
                time.sleep(0.05)  # an operator's pace, spread over the intakes

    def body(n: int) -> dict[str, Any]:
        return ticket_payload(offset + n, title=None, text=texts[n % len(texts)])

    ack = threading.Thread(target=acknowledger)
    ack.start()
    figures = drive(f"{base}/tickets", operator, requests, concurrency, 0, body=body)
    stop.set()
    ack.join()
    cuts = statistics.quantiles(acks, n=100) if len(acks) > 1 else [acks[0]] * 99
    return {**figures, "acks": len(acks), "ack_p50_ms": cuts[49] * 1000,
            "ack_p99_ms": cuts[98] * 1000}  # fmt: skip


def routed(args: argparse.Namespace) -> None:
    """Routing on: this tree (and the --before tree) in interleaved rounds."""
    texts = [c["text"] for c in yaml.safe_load(ROUTED_TEXTS.read_text(encoding="utf-8"))["cases"]]
    here = Path(__file__).resolve().parent.parent
    trees = {"this tree": here} | ({"before": args.before.resolve()} if args.before else {})
    rounds: list[dict[str, dict[str, float]]] = []
    for round_no in range(args.rounds):
        results: dict[str, dict[str, float]] = {}
        for name, tree in trees.items():
            with tempfile.TemporaryDirectory() as tmp:
                (Path(tmp) / "models").symlink_to(args.routed.resolve(), target_is_directory=True)
                env = {"QISU_DATA_DIR": tmp, "QISU_DATABASE_URL": f"sqlite:///{tmp}/qisu.db"}
                operator = create_user(env, tree, "--name", "desk", "--role", "operator")
                handler = create_user(
                    env, tree, "--name", "market", "--role", "unit_handler",
                    "--unit", "market_regulation",
                )  # fmt: skip
                port = free_port()
                command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
                process = start(command, env, "/readyz", port, cwd=tree)
                try:
                    offset = round_no * 200_000 + 1
                    results[name] = drive_routed(
                        port, {"Authorization": f"Bearer {operator}"},
                        {"Authorization": f"Bearer {handler}"}, texts,
                        args.requests, args.concurrency, offset,
                    )  # fmt: skip
                finally:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
        rounds.append(results)
        print(f"round {round_no + 1} done, load average {os.getloadavg()[0]:.2f}", flush=True)
    print(
        f"{'round':>5} {'server':10} {'intakes':>8} {'tickets/s':>10} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'acks':>5} {'ack p50':>8} {'ack p99':>8}"
    )
    for round_no, results in enumerate(rounds, start=1):
        for name, f in results.items():
            print(
                f"{round_no:>5} {name:10} {args.requests:>8} {f['rate_per_s']:>10.1f} "
                f"{f['p50_ms']:>8.0f} {f['p99_ms']:>8.0f} {f['acks']:>5.0f} "
                f"{f['ack_p50_ms']:>8.0f} {f['ack_p99_ms']:>8.0f}"
            )
    print(json.dumps({"rounds": rounds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=2000, help="intakes per server (default 2000)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--warmup", type=int, default=200, help="unmeasured intakes first (default 200)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--routed", type=Path, help="serve with routing on, this model registry")
    parser.add_argument("--before", type=Path, help="with --routed: an earlier tree to compare")
    args = parser.parse_args()
    if args.routed:
        routed(args)
        return

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        qisu_env = {"QISU_DATA_DIR": tmp, "QISU_DATABASE_URL": f"sqlite:///{tmp}/qisu.db"}
        subprocess.run(
            [sys.executable, "-m", "app.cli", "db", "upgrade"],
            env={**os.environ, **qisu_env},
            check=True,
            capture_output=True,
        )
        token = (
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "app.cli",
                    "users",
                    "create",
                    "--name",
                    "bench",
                    "--role",
                    "operator",
                ],
                env={**os.environ, **qisu_env},
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        headers = {"Authorization": f"Bearer {token}"}
        servers = {
            "qisu intake": (
                [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                qisu_env,
                "/readyz",
                f"http://127.0.0.1:{port}/api/v1/tickets",
            ),
            "bare insert": (
                # Same logging as `qisu serve`: uvicorn's default, with its access log.
                [sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--port", str(port)],
                {"BARE_DATABASE_URL": f"sqlite:///{tmp}/bare.db"},
                "/docs",
                f"http://127.0.0.1:{port}/rows",
            ),
        }
        # Interleaved rounds, so that a noisy neighbour hits both servers alike.
        rounds: list[dict[str, dict[str, float]]] = []
        for round_no in range(args.rounds):
            results: dict[str, dict[str, float]] = {}
            for name, (command, env, ready, url) in servers.items():
                process = start(command, env, ready, port)
                try:
                    offset = round_no * 200_000  # credit codes take six digits
                    drive(url, headers, args.warmup, args.concurrency, offset=offset + 100_000)
                    results[name] = drive(url, headers, args.requests, args.concurrency, offset)
                finally:
                    process.send_signal(signal.SIGTERM)
                    process.wait(timeout=30)
            rounds.append(results)

    print(f"{'round':>5} {'server':14} {'requests':>9} {'rate/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    ratios = []
    for round_no, results in enumerate(rounds, start=1):
        for name, figures in results.items():
            rate, p50, p99 = figures["rate_per_s"], figures["p50_ms"], figures["p99_ms"]
            print(
                f"{round_no:>5} {name:14} {args.requests:>9} {rate:>9.1f} {p50:>8.1f} {p99:>8.1f}"
            )
        ratios.append(results["qisu intake"]["rate_per_s"] / results["bare insert"]["rate_per_s"])
    ratio = statistics.median(ratios)
    verdict = "PASS" if ratio >= 0.5 else "FAIL"
    listed = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"qisu / bare rate per round: {listed}; median {ratio:.2f} (target >= 0.50): {verdict}")
    print(json.dumps({"rounds": rounds, "ratios": ratios, "median_ratio": ratio}))
    sys.exit(0 if ratio >= 0.5 else 1)


if __name__ == "__main__":
    main()
