"""Inference speed of a trained model, fp32 against dynamic int8, and the accuracy of each.

Single texts and batches of 32 (Haikou test texts cut to about 100 characters): texts per
second and p50/p99 latency per call; then accuracy on the Haikou test split. Exits 1 unless the
faster path reaches 100 texts/s in batches within 1 point of fp32's accuracy.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.haikou import DATA, load
from classifier.inference import Classifier
from classifier.settings import get_classifier_settings


def timed(classifier: Classifier, texts: list[str], batch: int, calls: int) -> dict[str, float]:
    """Latency per call and texts per second over `calls` calls of `batch` texts."""
    latencies = []
    classifier.predict(texts[:batch])  # warm up
    for n in range(calls):
        chunk = [texts[(n * batch + i) % len(texts)] for i in range(batch)]
        began = time.perf_counter()
        classifier.predict(chunk)
        latencies.append(time.perf_counter() - began)
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "texts_per_s": batch * calls / sum(latencies),
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("var/haikou-model"))
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--calls", type=int, default=60, help="timed calls per measurement")
    args = parser.parse_args()
    _, _, test_x, test_y = load(args.data, 10)
    short = [text[:100] for text in test_x]
    threads = get_classifier_settings().torch_threads
    figures: dict[str, dict[str, Any]] = {}
    for name, quantized in (("fp32", False), ("int8", True)):
        classifier = Classifier(args.model, threads=threads, quantized=quantized)
        single = timed(classifier, short, 1, args.calls)
        batched = timed(classifier, short, 32, max(args.calls // 4, 5))
        top = classifier.predict(test_x, k=1)
        accuracy = float(np.mean([t[0].label == y for t, y in zip(top, test_y, strict=True)]))
        figures[name] = {"single": single, "batch32": batched, "accuracy": accuracy}
        print(
            f"{name}: single {single['texts_per_s']:.1f} texts/s "
            f"(p50 {single['p50_ms']:.1f} ms, p99 {single['p99_ms']:.1f} ms); "
            f"batch 32 {batched['texts_per_s']:.1f} texts/s "
            f"(p50 {batched['p50_ms']:.0f} ms, p99 {batched['p99_ms']:.0f} ms); "
            f"accuracy {accuracy:.4f} on {len(test_x)} Haikou test texts",
            flush=True,
        )
    fast, full = figures["int8"], figures["fp32"]
    speedup = fast["batch32"]["texts_per_s"] / full["batch32"]["texts_per_s"]
    drop = full["accuracy"] - fast["accuracy"]
    ok = fast["batch32"]["texts_per_s"] >= 100 and drop <= 0.01
    print(
        f"int8 / fp32 batch throughput {speedup:.2f}x, accuracy {-drop * 100:+.2f} points: "
        f"{'meets' if ok else 'MISSES'} the goal (>= 100 texts/s, within 1 point)"
    )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
