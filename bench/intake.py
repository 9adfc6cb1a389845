"""Intake rate and latency of `qisu serve` on SQLite against the bare floor of the same stack.

Starts both servers in turn on temporary SQLite files, drives each with the same concurrent
load over real HTTP, prints rate and p50/p99, and fails (exit 1) below half the bare rate.
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
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.conftest import ticket_payload


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(
    command: list[str], env: dict[str, str], ready_path: str, port: int
) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server {' '.join(command)} did not start")


def drive(
    url: str, headers: dict[str, str], requests: int, concurrency: int, offset: int
) -> dict[str, float]:
    """POST `requests` intakes from `concurrency` threads; return rate and latency figures."""
    latencies: list[float] = []
    lock = threading.Lock()
    failures = 0

    def worker(index: int) -> None:
        nonlocal failures
        mine: list[float] = []
        with httpx.Client(timeout=30) as http:
            for n in range(index, requests, concurrency):
                body = ticket_payload(offset + n)
                began = time.perf_counter()
                status = http.post(url, json=body, headers=headers).status_code
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
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        qisu_env = {"QISU_DATA_DIR": tmp, "QISU_DATABASE_URL": f"sqlite:///{tmp}/qisu.db"}
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
