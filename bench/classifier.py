"""Inference speed and accuracy of every serving path of a model and of its student, side by side.

torch fp32, torch dynamic int8, ONNX Runtime fp32 and ONNX Runtime int8 of the Jiading default
(the teacher) and, with --student, of a student folder take turns in every round, so that the
machine's load, which swings several-fold on this shared machine, falls on all of them alike.
Single texts and batches of 32 of Haikou test texts cut to about 100 characters: texts per second
and p50/p99 per call. Then accuracy on the Jiading held-out matters and, given a Haikou model, on
the Haikou test split (teacher only). Exits 1 unless the served model's ORT int8 (the student's,
when given) reaches 200 texts/s in batches and 8 ms p50 single, within 1 point of the teacher's
torch fp32 accuracy.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.haikou import DATA, load
from classifier.bootstrap import corpus
from classifier.inference import Classifier
from classifier.registry import active_name
from classifier.settings import get_classifier_settings

PATHS = {  # name: (runtime, quantized)
    "torch-fp32": ("torch", False),
    "torch-int8": ("torch", True),
    "ort-fp32": ("onnx", False),
    "ort-int8": ("onnx", True),
}
GOAL_BATCH, GOAL_P50, GOAL_DROP = 200.0, 8.0, 0.01


def load_avg() -> str:
    """The 1-, 5- and 15-minute load averages."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(classifier: Classifier, texts: list[str], batch: int, calls: int, at: int) -> list[float]:
    """Seconds per call of `calls` calls of `batch` texts, starting at text `at`."""
    latencies = []
    for n in range(calls):
        chunk = [texts[(at + n * batch + i) % len(texts)] for i in range(batch)]
        began = time.perf_counter()
        classifier.predict(chunk, batch=batch)
        latencies.append(time.perf_counter() - began)
    return latencies


def summary(latencies: list[float], batch: int) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "texts_per_s": batch * len(latencies) / sum(latencies),
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def accuracy(classifier: Classifier, texts: list[str], labels: list[str]) -> float:
    top = classifier.predict(texts, k=1)
    return float(np.mean([t[0].label == y for t, y in zip(top, labels, strict=True)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    settings = get_classifier_settings()
    default = settings.models_dir / (active_name(settings.models_dir) or "-")
    parser.add_argument("--model", type=Path, default=default, help="the Jiading default model")
    parser.add_argument("--haikou-model", type=Path, help="a model trained by bench/haikou.py")
    parser.add_argument("--student", type=Path, help="a student model folder, timed alongside")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--calls", type=int, default=40, help="single-text calls per round")
    args = parser.parse_args()
    _, _, haikou_x, haikou_y = load(args.data, 10)
    short = [text[:100] for text in haikou_x]
    threads = settings.torch_threads
    print(f"model {args.model.name}, {threads} threads, load average {load_avg()}", flush=True)
    models = {"teacher": args.model} | ({"student": args.student} if args.student else {})
    paths = {
        f"{who} {name}": Classifier(folder, threads=threads, quantized=q, runtime=r)
        for who, folder in models.items()
        for name, (r, q) in PATHS.items()
    }
    single: dict[str, list[float]] = {name: [] for name in paths}
    batched: dict[str, list[float]] = {name: [] for name in paths}
    for classifier in paths.values():
        classifier.predict(short[:32])  # warm up: first calls allocate
    for n in range(args.rounds):
        for name, classifier in paths.items():
            single[name] += timed(classifier, short, 1, args.calls, n * args.calls)
            batched[name] += timed(classifier, short, 32, max(args.calls // 5, 4), n * 977)
        print(f"round {n + 1}/{args.rounds} done, load average {load_avg()}", flush=True)
    jiading_x, jiading_y = corpus(held_out=True)
    header = f"{'path':<22}{'single t/s':>11}{'p50 ms':>8}{'p99 ms':>8}"
    header += f"{'batch32 t/s':>13}{'p50 ms':>8}{'p99 ms':>8}{'Jiading':>9}{'Haikou':>8}"
    print(header)
    figures: dict[str, dict[str, float]] = {}
    for name, classifier in paths.items():
        s, b = summary(single[name], 1), summary(batched[name], 32)
        jiading = accuracy(classifier, jiading_x, jiading_y)
        on_haikou = float("nan")
        if args.haikou_model is not None and name.startswith("teacher"):
            runtime, quantized = PATHS[name.split()[1]]
            other = Classifier(args.haikou_model, threads=threads, quantized=quantized,
                               runtime=runtime)  # fmt: skip
            on_haikou = accuracy(other, haikou_x, haikou_y)
        figures[name] = {"single": s["p50_ms"], "batch": b["texts_per_s"],
                         "jiading": jiading, "haikou": on_haikou}  # fmt: skip
        print(
            f"{name:<22}{s['texts_per_s']:>11.1f}{s['p50_ms']:>8.1f}{s['p99_ms']:>8.1f}"
            f"{b['texts_per_s']:>13.1f}{b['p50_ms']:>8.0f}{b['p99_ms']:>8.0f}"
            f"{jiading:>9.4f}{on_haikou:>8.4f}",
            flush=True,
        )
    print(f"Jiading: {len(jiading_x)} held-out matters' appeals; Haikou: {len(haikou_x)} test "
          f"texts; load average at the end {load_avg()}")  # fmt: skip
    served = "student" if args.student else "teacher"
    best, base = figures[f"{served} ort-int8"], figures["teacher torch-fp32"]
    drops = [base[part] - best[part] for part in ("jiading", "haikou") if best[part] == best[part]]
    checks = {
        f"{served} ORT int8 batch >= {GOAL_BATCH:.0f} texts/s": best["batch"] >= GOAL_BATCH,
        f"{served} ORT int8 single p50 <= {GOAL_P50:.0f} ms": best["single"] <= GOAL_P50,
        f"{served} ORT int8 within 1 point of teacher torch fp32": all(
            d <= GOAL_DROP for d in drops
        ),
    }
    for check, ok in checks.items():
        print(f"{check}: {'met' if ok else 'MISSED'}")
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
