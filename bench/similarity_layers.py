"""Which layer of the base encoder tells repeats from other matters, on the training corpus.

Pairs come from the bootstrap corpus only (never an evaluation set): each matter's renderings,
follow-ups included, are repeats of each other; the same unit's other matters and the same
enterprise's other matters are not. For every layer of the base encoder (the `query: ` prefix,
mean-pooled), prints the ROC AUC of the raw cosine and of the cosine with the common direction
taken out, and the median cosine of repeats and of the two kinds of non-repeats.
"""

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from classifier.bootstrap import STYLES, renderings
from classifier.encoder import Encoder, mean_pool
from classifier.pairs import corpus_pairs
from classifier.settings import get_classifier_settings


def layer_states(encoder: Encoder, texts: list[str], max_tokens: int) -> np.ndarray:
    """Mean-pooled states [layers + 1, texts, width]: the embeddings, then every layer."""
    ids = encoder.token_ids(texts, max_tokens)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((encoder.depth + 1, len(ids), encoder.width), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), 32):
            chunk = order[start : start + 32]
            matrix, mask = encoder.pad([ids[i] for i in chunk])
            hidden = encoder.bert.embeddings(input_ids=matrix)
            out[0, chunk] = mean_pool(hidden, mask).numpy()
            for depth in range(encoder.depth):
                hidden = encoder.upper(hidden, mask, depth, depth + 1)
                out[depth + 1, chunk] = mean_pool(hidden, mask).numpy()
    return out


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """The chance that a random repeat scores above a random non-repeat."""
    scores = np.concatenate([positive, negative])
    ranks = scores.argsort().argsort() + 1
    return float(
        (ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2)
        / (len(positive) * len(negative))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, default=None, help="The base encoder folder.")
    parser.add_argument("--max-tokens", type=int, default=96)
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = renderings(held_out=False, styles=STYLES)
    encoder = Encoder.load(args.base or get_classifier_settings().effective_base_model)
    states = layer_states(encoder, [r.text for r in rows], args.max_tokens)
    pairs = corpus_pairs(rows, seed=5)
    kinds = np.array([p.kind for p in pairs])
    a = np.array([p.earlier for p in pairs])
    b = np.array([p.later for p in pairs])
    print(
        f"{len(rows)} renderings, {len(pairs)} pairs: "
        + ", ".join(
            f"{k} {int((kinds == k).sum())}" for k in ("repeat", "same unit", "same enterprise")
        )
    )
    print(f"{'layer':>5} {'AUC raw':>8} {'AUC centred':>12} {'repeat':>7} {'unit':>6} {'ent':>6}")
    for layer in range(states.shape[0]):
        for centred in (False, True):
            x = states[layer] - (states[layer].mean(0) if centred else 0)
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
            cos = (x[a] * x[b]).sum(1)
            if not centred:
                raw = auc(cos[kinds == "repeat"], cos[kinds != "repeat"])
                continue
            med = {
                k: statistics.median(cos[kinds == k])
                for k in ("repeat", "same unit", "same enterprise")
            }
            centred_auc = auc(cos[kinds == "repeat"], cos[kinds != "repeat"])
            print(
                f"{layer:>5} {raw:>8.4f} {centred_auc:>12.4f}"
                f" {med['repeat']:>7.3f} {med['same unit']:>6.3f} {med['same enterprise']:>6.3f}"
            )


if __name__ == "__main__":
    main()
