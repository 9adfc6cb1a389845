"""The serving process's classifier, shared by routing, repeats and similar cases."""

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.inference import Classifier
from classifier.registry import ActiveModel, active_name
from classifier.repeat_scorer import RepeatScorer

log = logging.getLogger("qisu.routing")
_lock = threading.Lock()
_active: ActiveModel | None = None
_failed: tuple[str | None, str] | None = None  # the version that failed to load, and why
_primed: dict[str, "Analysis"] = {}  # texts analysed ahead of their intake, in batches


@dataclass(frozen=True)
class Analysis:
    """One text as the classifier sees it."""

    model_version: str
    probabilities: dict[str, float]
    embedding: np.ndarray
    repeat_scorer: RepeatScorer | None = None
    repeat_scorer_failure: str | None = None  # why there is none


class ModelUnavailable(Exception):
    """The active model could not be loaded or run."""


class NoModel(ModelUnavailable):
    """No model is active."""


def use(models_dir: Path | None, *, quantized: bool = False, runtime: str = "auto") -> None:
    """Serve the registry's active model from this folder (None: route without a model)."""
    global _active, _failed
    _failed = None
    _active = (
        ActiveModel(models_dir, quantized=quantized, runtime=runtime)
        if models_dir is not None
        else None
    )


def registry_dir() -> Path | None:
    """The model registry this process serves from, if one is configured."""
    return _active.models_dir if _active is not None else None


def warm() -> str | None:
    """Load the active model ahead of the first appeal; its version, or None (logged why)."""
    try:
        with _lock:
            loaded = _load()
            # One pass now also settles the embeddings' centre, which the first appeal would pay.
            loaded.embed(["预热"])
    except NoModel:
        return None
    except Exception as exc:  # a broken model must not stop the platform; routing degrades
        log.warning("the active model did not load, routing sends appeals to triage: %s", exc)
        return None
    return loaded.version


def _load() -> Classifier:
    """The active model; a version that failed to load is not retried until ACTIVE changes."""
    global _failed
    if _active is None:
        raise NoModel("no model registry is configured")
    name = active_name(_active.models_dir)
    if _failed is not None and _failed[0] == name:
        raise ModelUnavailable(_failed[1])
    try:
        model = _active.get()
    except Exception as exc:  # any failure to load degrades routing, never intake
        _failed = (name, f"{type(exc).__name__}: {exc}")
        raise ModelUnavailable(_failed[1]) from exc
    if model is None:
        raise NoModel("no model is active")
    return model


def prime(texts: list[str], *, batch: int = 32) -> int:
    """Analyse texts in batches ahead of their intake (a bulk load); how many were analysed.

    A batch of 32 costs far less than 32 single passes; `analyse` then takes each text's
    result from here, as often as the text comes (a follow-up repeating it, a re-route after a
    return), while the same model is active and until `forget_primed`.
    """
    with _lock:
        model = _load()
        fresh = [t for t in dict.fromkeys(texts) if t not in _primed]
        for start in range(0, len(fresh), batch):
            chunk = fresh[start : start + batch]
            probabilities, embeddings = model.analyse(chunk)
            for text, row, vector in zip(chunk, probabilities, embeddings, strict=True):
                _primed[text] = _analysis(model, row, vector)
    return len(fresh)


def forget_primed() -> None:
    """Drop what `prime` analysed, once the bulk load is done."""
    with _lock:
        _primed.clear()


def _analysis(model: Classifier, probabilities: np.ndarray, embedding: np.ndarray) -> Analysis:
    return Analysis(
        model_version=model.version,
        probabilities=dict(zip(model.labels, map(float, probabilities), strict=True)),
        embedding=embedding,
        repeat_scorer=model.repeat_scorer,
        repeat_scorer_failure=model.repeat_scorer_failure,
    )


def analyse(text: str) -> Analysis:
    """Probabilities over the model's labels and the embedding of one text."""
    # One inference at a time: the two cores are already used by torch's own threads.
    with _lock:
        model = _load()
        primed = _primed.get(text)
        if primed is not None and primed.model_version == model.version:
            return primed
        try:
            probabilities, embeddings = model.analyse([text])
        except Exception as exc:  # a failure to run degrades routing, never intake
            raise ModelUnavailable(f"{type(exc).__name__}: {exc}") from exc
    return _analysis(model, probabilities[0], embeddings[0])
