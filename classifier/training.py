"""Fine-tune the upper layers of the encoder with a linear head over mean-pooled tokens.

The lower layers stay frozen, so their outputs are computed once and cached; each training step
then runs only the upper layers. That is what makes several epochs fit a CPU budget. With every
layer frozen only the head is trained, over the encoder's own mean-pooled states.
"""

import copy
import hashlib
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from classifier.encoder import Encoder, Head, mean_pool


@dataclass
class TrainConfig:
    """Everything that decides a fine-tune; saved with the model."""

    max_tokens: int = 96
    frozen_layers: int = 6
    epochs: int = 8
    batch_size: int = 16
    encoder_lr: float = 1e-4
    head_lr: float = 2e-3
    weight_decay: float = 0.01
    warmup: float = 0.06
    patience: int = 2
    max_minutes: float = 25.0
    seed: int = 13
    # Freeze every layer and train the head alone over the encoder's own pooled output.
    head_only: bool = False
    # The teacher's layers a distilled student keeps, in order (classifier/distillation.py);
    # empty: the encoder is the base model itself.
    student_layers: tuple[int, ...] = ()
    distill_epochs: int = 3
    distill_lr: float = 2e-4

    def as_dict(self) -> dict[str, float | int]:
        """The settings as plain values."""
        return asdict(self)


def class_weights(labels: list[int], classes: int) -> torch.Tensor:
    """Square-root inverse-frequency weights, mean 1: rare units count more, not overwhelmingly."""
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    weights = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def cache_lower(
    encoder: Encoder, ids: list[list[int]], layers: int, batch: int = 64
) -> list[torch.Tensor]:
    """Each text's hidden states after the frozen layers, unpadded."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    cached: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            matrix, mask = encoder.pad([ids[i] for i in chunk])
            hidden = encoder.lower(matrix, mask, layers)
            for row, i in enumerate(chunk):
                cached[i] = hidden[row, : len(ids[i])].clone()
    return cached


def stack_states(cached: list[torch.Tensor], rows: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(cached[i].shape[0] for i in rows)
    hidden = torch.zeros((len(rows), width, cached[rows[0]].shape[1]))
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for r, i in enumerate(rows):
        hidden[r, : cached[i].shape[0]] = cached[i]
        mask[r, : cached[i].shape[0]] = 1
    return hidden, mask


def length_batches(
    count: int, size: int, rng: random.Random, lengths: list[int]
) -> list[list[int]]:
    """Shuffled batches of similar lengths (less padding), in shuffled order."""
    order = list(range(count))
    rng.shuffle(order)
    pool = size * 32
    batches = []
    for start in range(0, count, pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def upper_pooled(
    encoder: Encoder, cached: list[torch.Tensor], start: int, batch: int = 64
) -> torch.Tensor:
    """Mean-pooled states of the layers from `start` up over cached lower states, in eval mode."""
    encoder.eval()
    out = []
    with torch.inference_mode():
        for i in range(0, len(cached), batch):
            hidden, mask = stack_states(cached, list(range(i, min(i + batch, len(cached)))))
            out.append(mean_pool(encoder.upper(hidden, mask, start), mask))
    return torch.cat(out)


def warmup_decay(optimizer: torch.optim.Optimizer, total: int, warmup: float) -> Any:
    """A linear warm-up over the first `warmup` share of the steps, then a linear decay to 0."""
    rise = max(1, int(total * warmup))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / rise, max(0.0, (total - s) / max(1, total - rise)))
    )


@dataclass
class Trained:
    """The fine-tuned encoder and head, and how training went."""

    encoder: Encoder
    head: Head
    history: list[dict[str, float]]
    val_scores: np.ndarray
    # Mean-pooled states after the frozen layers (train rows, then validation rows): the same
    # states serving reads for similarity, so repeat detection can be trained on them for free.
    train_pooled: np.ndarray
    val_pooled: np.ndarray


def pooled(cached: list[torch.Tensor]) -> np.ndarray:
    """The mean of each text's cached token states."""
    return np.stack([states.mean(0).numpy() for states in cached]) if cached else np.zeros((0, 0))


def pooled_states(
    encoder: Encoder, ids: list[list[int]], layers: int, cache: Path | None, batch: int = 64
) -> np.ndarray:
    """Each text's mean-pooled states after `layers` layers, kept in a cache file when given.

    The base encoder's states of a text never change, so a rebuild (another seed, more data)
    encodes only the texts it has not seen."""
    keys = [hashlib.sha1(str((layers, row)).encode()).hexdigest() for row in ids]
    known: dict[str, np.ndarray] = {}
    if cache is not None and cache.is_file():
        with np.load(cache) as stored:
            known = dict(zip(stored["keys"].tolist(), stored["vectors"], strict=True))
    missing = [i for i, key in enumerate(keys) if key not in known]
    order = sorted(missing, key=lambda i: len(ids[i]))
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            chunk = order[start : start + batch]
            matrix, mask = encoder.pad([ids[i] for i in chunk])
            states = mean_pool(encoder.lower(matrix, mask, layers), mask).numpy()
            for row, i in enumerate(chunk):
                known[keys[i]] = states[row]
    if cache is not None and missing:
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            partial = cache.with_name(cache.name + ".partial.npz")
            np.savez(partial, keys=np.array(list(known)), vectors=np.stack(list(known.values())))
            partial.replace(cache)
        except OSError:
            pass  # a cache that cannot be written only costs time
    return np.stack([known[key] for key in keys]).astype(np.float32)


def fit_head(
    encoder: Encoder,
    train_ids: list[list[int]],
    train_labels: list[int],
    val_ids: list[list[int]],
    val_labels: list[int],
    classes: int,
    config: TrainConfig,
    progress: Callable[[str], None],
    cache: Path | None = None,
    states: tuple[np.ndarray, np.ndarray] | None = None,
) -> Trained:
    """Train the head alone over the encoder's own mean-pooled states (all layers frozen).

    One pass encodes every text (unless `states` brings the train and validation texts'
    pooled states already); the epochs then cost milliseconds, and serving reads the same
    states for similarity."""
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    if states is None:
        progress(f"encoding {len(train_ids) + len(val_ids)} texts with the frozen encoder …")
        states = (
            pooled_states(encoder, train_ids, encoder.depth, cache),
            pooled_states(encoder, val_ids, encoder.depth, cache),
        )
    train_x, val_x = states
    head = Head(encoder.width, classes)
    optimizer = torch.optim.AdamW(
        head.parameters(), lr=config.head_lr, weight_decay=config.weight_decay
    )
    loss_fn = nn.CrossEntropyLoss(weight=class_weights(train_labels, classes))
    x, y = torch.tensor(train_x), torch.tensor(train_labels)
    val_y = np.array(val_labels)
    best: tuple[float, dict, np.ndarray] | None = None
    history: list[dict[str, float]] = []
    stale = 0
    for epoch in range(1, config.epochs + 1):
        head.train()
        order = list(range(len(train_ids)))
        rng.shuffle(order)
        running = 0.0
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            loss = loss_fn(head(x[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running += loss.item() * len(rows)
        head.eval()
        with torch.inference_mode():
            scores = head(torch.tensor(val_x)).numpy()
        accuracy = float((scores.argmax(1) == val_y).mean())
        history.append({"epoch": epoch, "loss": running / len(order), "val_accuracy": accuracy})
        if best is None or accuracy > best[0]:
            best, stale = (accuracy, copy.deepcopy(head.state_dict()), scores), 0
        else:
            stale += 1
        if stale >= config.patience:
            break
    assert best is not None
    head.load_state_dict(best[1])
    head.eval()
    progress(f"head trained: {len(history)} epochs, best validation accuracy {best[0]:.4f}")
    return Trained(
        encoder=encoder,
        head=head,
        history=history,
        val_scores=best[2],
        train_pooled=train_x,
        val_pooled=val_x,
    )


def fine_tune(
    encoder: Encoder,
    train_ids: list[list[int]],
    train_labels: list[int],
    val_ids: list[list[int]],
    val_labels: list[int],
    classes: int,
    config: TrainConfig,
    progress: Callable[[str], None],
    cache: Path | None = None,
) -> Trained:
    """Train the upper layers and the head; keep the epoch with the best validation accuracy."""
    if config.head_only:
        return fit_head(
            encoder, train_ids, train_labels, val_ids, val_labels, classes, config, progress, cache
        )
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    start_layer = min(config.frozen_layers, encoder.depth - 1)  # train at least the top layer
    began = time.monotonic()
    progress(f"caching the {start_layer} frozen layers for {len(train_ids) + len(val_ids)} texts …")
    train_cache = cache_lower(encoder, train_ids, start_layer)
    val_cache = cache_lower(encoder, val_ids, start_layer)
    for p in encoder.parameters():
        p.requires_grad_(False)
    upper = [p for layer in encoder.bert.encoder.layer[start_layer:] for p in layer.parameters()]
    for p in upper:
        p.requires_grad_(True)
    head = Head(encoder.width, classes)
    optimizer = torch.optim.AdamW(
        [
            {"params": upper, "lr": config.encoder_lr},
            {"params": head.parameters(), "lr": config.head_lr},
        ],
        weight_decay=config.weight_decay,
    )
    steps_per_epoch = math.ceil(len(train_ids) / config.batch_size)
    total = steps_per_epoch * config.epochs
    schedule = warmup_decay(optimizer, total, config.warmup)
    loss_fn = nn.CrossEntropyLoss(weight=class_weights(train_labels, classes))
    targets = torch.tensor(train_labels)
    lengths = [len(ids) for ids in train_ids]
    val_y = np.array(val_labels)
    best: tuple[float, dict, dict, np.ndarray] | None = None
    history: list[dict[str, float]] = []
    step, stale, deadline = 0, 0, began + config.max_minutes * 60
    for epoch in range(1, config.epochs + 1):
        encoder.train()
        head.train()
        running = 0.0
        for n, rows in enumerate(
            length_batches(len(train_ids), config.batch_size, rng, lengths), start=1
        ):
            hidden, mask = stack_states(train_cache, rows)
            logits = head(mean_pool(encoder.upper(hidden, mask, start_layer), mask))
            loss = loss_fn(logits, targets[rows])
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(upper + list(head.parameters()), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            running += loss.item()
            if n % 50 == 0 or n == steps_per_epoch:
                per_step = (time.monotonic() - began) / step
                left = per_step * (total - step) / 60
                progress(
                    f"epoch {epoch}/{config.epochs} step {n}/{steps_per_epoch} "
                    f"loss {running / n:.3f} ~{left:.0f} min left at most"
                )
        head.eval()
        with torch.inference_mode():
            scores = head(upper_pooled(encoder, val_cache, start_layer)).numpy()
        accuracy = float((scores.argmax(1) == val_y).mean())
        history.append(
            {
                "epoch": epoch,
                "loss": running / steps_per_epoch,
                "val_accuracy": accuracy,
                "minutes": (time.monotonic() - began) / 60,
            }
        )
        progress(f"epoch {epoch}: validation accuracy {accuracy:.4f}")
        if best is None or accuracy > best[0]:
            layers = encoder.bert.encoder.layer[start_layer:]
            best = (
                accuracy,
                copy.deepcopy(layers.state_dict()),
                copy.deepcopy(head.state_dict()),
                scores,
            )
            stale = 0
        else:
            stale += 1
        if stale >= config.patience:
            progress(f"stopping early: no gain for {stale} epochs")
            break
        if time.monotonic() + (time.monotonic() - began) / epoch > deadline:
            progress(f"stopping: another epoch would pass the {config.max_minutes:g}-minute budget")
            break
    assert best is not None
    encoder.bert.encoder.layer[start_layer:].load_state_dict(best[1])
    head.load_state_dict(best[2])
    encoder.eval()
    head.eval()
    return Trained(
        encoder=encoder,
        head=head,
        history=history,
        val_scores=best[3],
        train_pooled=pooled(train_cache),
        val_pooled=pooled(val_cache),
    )
