"""Distil the base encoder into a shallower student that gives the same mean-pooled vector.

The student keeps the teacher's embeddings and first layers as they are (frozen, so their
states are computed once) and starts its upper layers as copies of some of the teacher's upper
ones; those are trained to give the teacher's mean-pooled last layer, which the build computes
(and caches) for the head anyway. So distillation costs only the student's own training, and
the student's vector serves routing's head and repeat detection alike, as the teacher's did.
"""

import copy
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import BertModel

from classifier.encoder import Encoder, mean_pool
from classifier.errors import ClassifierError
from classifier.training import (
    TrainConfig,
    cache_lower,
    length_batches,
    stack_states,
    upper_pooled,
    warmup_decay,
)


@dataclass
class Distilled:
    """The trained student, its pooled states of every text (in order), and how it went."""

    encoder: Encoder
    states: np.ndarray
    record: dict[str, Any]


def student(teacher: Encoder, layers: Sequence[int]) -> Encoder:
    """A shallower copy of the teacher: its embeddings and tokenizer and the named layers."""
    if not layers or not all(0 <= i < teacher.depth for i in layers):
        raise ClassifierError(f"student layers {list(layers)} are not among the teacher's")
    config = copy.deepcopy(teacher.bert.config)
    config.num_hidden_layers = len(layers)
    bert = BertModel(config, add_pooling_layer=False)
    bert.embeddings.load_state_dict(teacher.bert.embeddings.state_dict())
    for mine, theirs in enumerate(layers):
        bert.encoder.layer[mine].load_state_dict(teacher.bert.encoder.layer[theirs].state_dict())
    return Encoder(bert.eval(), teacher.tokenizer)


def frozen_prefix(layers: Sequence[int]) -> int:
    """How many of the student's first layers are the teacher's first ones (kept frozen);
    the top layer is always trained."""
    kept = 0
    while kept < len(layers) - 1 and layers[kept] == kept:
        kept += 1
    return kept


def _centred_cosine(a: torch.Tensor, b: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    # Every text's pooled state points roughly one way; the centred cosine is what similarity
    # reads (Classifier._similarity_vectors), so that is what the student must keep.
    return nn.functional.cosine_similarity(a - centre, b - centre, dim=1)


def distill(
    teacher: Encoder,
    ids: list[list[int]],
    targets: np.ndarray,
    train: list[int],
    val: list[int],
    config: TrainConfig,
    progress: Callable[[str], None],
) -> Distilled:
    """Train the student's upper layers on the train texts' teacher vectors (centred cosine
    plus relative squared error); keep the epoch whose validation texts' cosine is best."""
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    began = time.monotonic()
    layers = list(config.student_layers)
    model = student(teacher, layers)
    start = frozen_prefix(layers)
    progress(
        f"distilling into {len(layers)} layers (teacher's {layers}; the first {start} frozen) "
        f"on {len(train)} texts …"
    )
    cached = cache_lower(model, ids, start)
    for p in model.parameters():
        p.requires_grad_(False)
    upper = [p for layer in model.bert.encoder.layer[start:] for p in layer.parameters()]
    for p in upper:
        p.requires_grad_(True)
    target = torch.tensor(targets, dtype=torch.float32)
    centre = target[train].mean(0)
    spread = ((target[train] - centre) ** 2).sum(1).mean()
    optimizer = torch.optim.AdamW(upper, lr=config.distill_lr, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    schedule = warmup_decay(optimizer, steps_per_epoch * config.distill_epochs, config.warmup)
    lengths = [len(ids[i]) for i in train]
    val_cached = [cached[i] for i in val]
    best: tuple[float, dict[str, Any]] | None = None
    history: list[dict[str, float]] = []
    deadline = began + config.max_minutes * 60
    for epoch in range(1, config.distill_epochs + 1):
        model.train()
        running = 0.0
        for rows in length_batches(len(train), config.batch_size, rng, lengths):
            chosen = [train[r] for r in rows]
            hidden, mask = stack_states(cached, chosen)
            pooled = mean_pool(model.upper(hidden, mask, start), mask)
            goal = target[chosen]
            relative = ((pooled - goal) ** 2).sum(1).mean() / spread
            loss = (1 - _centred_cosine(pooled, goal, centre)).mean() + relative
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(upper, 1.0)
            optimizer.step()
            schedule.step()
            running += loss.item()
        cosine = float(_centred_cosine(upper_pooled(model, val_cached, start), target[val],
                                       centre).mean())  # fmt: skip
        minutes = (time.monotonic() - began) / 60
        history.append({"epoch": epoch, "loss": running / steps_per_epoch,
                        "val_cosine": cosine, "minutes": minutes})  # fmt: skip
        progress(f"distillation epoch {epoch}: validation texts' centred cosine {cosine:.4f}")
        if best is None or cosine > best[0]:
            best = (cosine, copy.deepcopy(model.bert.encoder.layer[start:].state_dict()))
        if time.monotonic() + (time.monotonic() - began) / epoch > deadline:
            progress(f"stopping: another epoch would pass the {config.max_minutes:g}-minute budget")
            break
    assert best is not None
    model.bert.encoder.layer[start:].load_state_dict(best[1])
    states = upper_pooled(model, cached, start).numpy().astype(np.float32)
    record = {
        "teacher_layers": layers,
        "frozen_layers": start,
        "texts": len(train),
        "val_cosine": best[0],
        "history": history,
        "minutes": round((time.monotonic() - began) / 60, 2),
    }
    return Distilled(encoder=model, states=states, record=record)
