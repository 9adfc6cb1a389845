"""How a model's serving paths cut a batch: one text a pass, fixed batches, or length chunks.

For ORT fp32 and ORT int8 of the active model, on Haikou test texts cut to about 100
characters: how far each cut's probabilities stray from one text a pass (the answer an intake
gets), and texts per second in batches of 32, the cuts taking turns in every round so that the
machine's load falls on all alike. Dynamic int8 scales activations by the whole batch, so only
one text a pass gives an int8 text its own answer; `Classifier` serves int8 that way.
"""

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import classifier.inference as inference
from bench.haikou import DATA, load
from classifier.registry import active_name

Cut = Callable[[list[int], list[int], int], list[list[int]]]


def one_at_a_time(order: list[int], lengths: list[int], batch: int) -> list[list[int]]:
    """Every text its own pass."""
    return [[i] for i in order]


def fixed(order: list[int], lengths: list[int], batch: int) -> list[list[int]]:
    """`batch` texts a pass in length order, whatever their spread."""
    return [order[start : start + batch] for start in range(0, len(order), batch)]


CUTS: dict[str, Cut] = {"one": one_at_a_time, "fixed": fixed, "length": inference.length_chunks}


def probabilities(model: inference.Classifier, texts: list[str], cut: Cut) -> np.ndarray:
    """The model's probabilities with its batches cut this way (int8's one-a-pass rule off)."""
    inference.length_chunks = cut  # type: ignore[assignment]  # what _encoded calls
    quantized, model.quantized = model.quantized, False
    try:
        return model.probabilities(texts, batch=32)
    finally:
        model.quantized = quantized
        inference.length_chunks = CUTS["length"]  # type: ignore[assignment]


def main() -> int:
    """Print the agreement and the speed of every cut, for fp32 and int8."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=Path("var/models"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--texts", type=int, default=256, help="texts compared for agreement")
    args = parser.parse_args()
    name = active_name(args.models)
    if name is None:
        print(f"no active model under {args.models}; run `qisu model build-default`")
        return 1
    _, _, haikou, _ = load(DATA, 10)
    short = [text[:100] for text in haikou]
    print(f"model {name}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    for quantized in (False, True):
        path = "int8" if quantized else "fp32"
        model = inference.Classifier(args.models / name, quantized=quantized, runtime="onnx")
        sample = short[: args.texts]
        alone = probabilities(model, sample, one_at_a_time)
        for cut in ("fixed", "length"):
            other = probabilities(model, sample, CUTS[cut])
            agree = float((other.argmax(1) == alone.argmax(1)).mean())
            stray = float(np.abs(other - alone).max())
            print(
                f"{path} {cut:<6} vs one a pass: top label agrees {agree:.3f}, max diff {stray:.2g}"
            )
        speeds: dict[str, list[float]] = {cut: [] for cut in CUTS}
        for n in range(args.rounds):
            for cut, fn in CUTS.items():
                chunk = [short[(n * 160 + i) % len(short)] for i in range(160)]
                began = time.perf_counter()
                for start in range(0, 160, 32):
                    probabilities(model, chunk[start : start + 32], fn)
                speeds[cut].append(160 / (time.perf_counter() - began))
        figures = "  ".join(f"{cut} {min(v):.1f}-{max(v):.1f}" for cut, v in speeds.items())
        load_now = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"{path} texts/s in calls of 32: {figures}  (load {load_now})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
