"""Temperature scaling and the weighted ensemble of calibrated log-probabilities."""

import numpy as np


def log_softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row-wise log-softmax of scores divided by the temperature."""
    z = scores / temperature
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fit_temperature(scores: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood (a 1-D grid, then refined)."""
    rows = np.arange(len(labels))

    def nll(t: float) -> float:
        return float(-log_softmax(scores, t)[rows, labels].mean())

    grid = np.exp(np.linspace(np.log(0.01), np.log(100.0), 81))
    best = min(grid, key=nll)
    fine = best * np.exp(np.linspace(-0.06, 0.06, 25))
    return float(min(fine, key=nll))


def combine(parts: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Probabilities from a weighted sum of log-probabilities, renormalised."""
    mixed = sum(w * p for w, p in zip(weights, parts, strict=True))
    return np.exp(log_softmax(np.asarray(mixed)))


def fit_weight(first: np.ndarray, second: np.ndarray, labels: np.ndarray) -> float:
    """The weight of `first` (0..1, steps of 0.05) that maximises accuracy, then likelihood."""
    rows = np.arange(len(labels))

    def quality(w: float) -> tuple[float, float]:
        probs = combine([first, second], [w, 1.0 - w])
        return float((probs.argmax(1) == labels).mean()), float(
            np.log(probs[rows, labels] + 1e-12).mean()
        )

    return float(max(np.linspace(0.0, 1.0, 21), key=quality))
