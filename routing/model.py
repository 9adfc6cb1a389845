"""The serving process's classifier, shared by routing, repeats and similar cases."""

import contextlib
import logging
import os
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
_pending: set[str] = set()  # texts the primer has yet to reach
_landed = threading.Condition()  # guards both; notified as each batch lands
_primer: threading.Thread | None = None
_stop = threading.Event()


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


def prime(texts: list[str], *, window: int = 256) -> int:
    """Analyse texts in batches ahead of their intake (a bulk load); how many it will analyse.

    A background thread works through the texts in the order given, a window at a time sorted
    by length (little padding), so a bulk load's intakes run meanwhile; served by ONNX Runtime,
    it runs its own copy of the active model (the same file) on every core, since a bulk load
    is a batch job that serves no requests. `analyse` waits for a text still to come and takes
    its result from here, as often as the text comes (a follow-up repeating it, a re-route
    after a return), while the same model is active and until `forget_primed` (or the next
    `prime`).
    """
    global _primer
    forget_primed()
    with _lock:
        served = _load()
    fresh = list(dict.fromkeys(texts))
    model, shared = served, True
    if served.runtime == "onnx":  # torch's thread count is the process's: no copy for torch
        try:
            cores = os.cpu_count() or 1
            model = Classifier(served.folder, threads=cores, quantized=served.quantized)
            shared = False
        except Exception as exc:  # the served model then analyses ahead between intakes
            log.warning("no copy of the model to prime with, the served one primes: %s", exc)
    with _landed:
        _pending.update(fresh)
    _primer = threading.Thread(
        target=_analyse_ahead, args=(model, shared, fresh, window), name="qisu-prime", daemon=True
    )
    _primer.start()
    return len(fresh)


def _analyse_ahead(model: Classifier, shared: bool, texts: list[str], window: int) -> None:
    """The primer's work: windows growing from 32 texts, so the first intake soon has its own;
    the served model itself (`shared`) is taken under the lock, one window at a time."""
    start, size = 0, 32
    try:
        while start < len(texts) and not _stop.is_set():
            chunk = texts[start : start + size]
            with _lock if shared else contextlib.nullcontext():
                probabilities, embeddings = model.analyse(chunk)
            with _landed:
                for text, row, vector in zip(chunk, probabilities, embeddings, strict=True):
                    _primed[text] = _analysis(model, row, vector)
                    _pending.discard(text)
                _landed.notify_all()
            start, size = start + size, min(size * 2, window)
    except Exception as exc:  # the rest are analysed one by one as they come
        log.warning("analysing texts ahead stopped: %s", exc)
    finally:
        with _landed:
            _pending.difference_update(texts)
            _landed.notify_all()


def forget_primed() -> None:
    """Stop analysing ahead and drop what `prime` analysed, once the bulk load is done."""
    global _primer
    if _primer is not None:
        _stop.set()
        _primer.join()
        _primer = None
        _stop.clear()
    with _landed:
        _primed.clear()
        _pending.clear()


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
    with _landed:  # a text the primer has yet to reach is worth the wait: it is on its way
        while text in _pending:
            _landed.wait()
        primed = _primed.get(text)
    # One inference at a time: the two cores are already used by torch's own threads.
    with _lock:
        model = _load()
        if primed is not None and primed.model_version == model.version:
            return primed
        try:
            probabilities, embeddings = model.analyse([text])
        except Exception as exc:  # a failure to run degrades routing, never intake
            raise ModelUnavailable(f"{type(exc).__name__}: {exc}") from exc
    return _analysis(model, probabilities[0], embeddings[0])
