"""The classifier an app or a command serves, shared by routing, repeats and similar cases."""

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
from fastapi import Depends, Request

from classifier.inference import Classifier
from classifier.registry import ActiveModel, active_name
from classifier.repeat_scorer import RepeatScorer
from routing.settings import RoutingSettings

log = logging.getLogger("qisu.routing")


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


class ServingModel:
    """The registry's active model served from one folder (None: route without a model),
    loaded at its first use or by `warm`, and the texts a bulk load analysed ahead (`prime`)."""

    def __init__(
        self, models_dir: Path | None, *, quantized: bool = False, runtime: str = "auto"
    ) -> None:
        self._active = (
            ActiveModel(models_dir, quantized=quantized, runtime=runtime)
            if models_dir is not None
            else None
        )
        self._lock = threading.Lock()  # one inference at a time
        self._failed: tuple[str | None, str] | None = None  # the version that failed, and why
        self._primed: dict[str, Analysis] = {}  # texts analysed ahead of their intake
        self._pending: set[str] = set()  # texts the primer has yet to reach
        self._landed = threading.Condition()  # guards both; notified as each batch lands
        self._primer: threading.Thread | None = None
        self._stop = threading.Event()

    @classmethod
    def served(cls, data_dir: Path, routing: RoutingSettings) -> "ServingModel":
        """The model `qisu serve` serves: the data folder's registry, on the settings' encoder."""
        return cls(data_dir / "models", quantized=routing.quantized, runtime=routing.runtime)

    @property
    def registry_dir(self) -> Path | None:
        """The model registry this serves from, if one is configured."""
        return self._active.models_dir if self._active is not None else None

    def warm(self) -> str | None:
        """Load the active model ahead of the first appeal; its version, or None (logged why)."""
        try:
            with self._lock:
                loaded = self._load()
                # One pass now also settles the embeddings' centre, which the first appeal pays.
                loaded.embed(["预热"])
        except NoModel:
            return None
        except Exception as exc:  # a broken model must not stop the platform; routing degrades
            log.warning("the active model did not load, routing sends appeals to triage: %s", exc)
            return None
        return loaded.version

    def _load(self) -> Classifier:
        """The active model; a version that failed to load is not retried until ACTIVE changes."""
        if self._active is None:
            raise NoModel("no model registry is configured")
        name = active_name(self._active.models_dir)
        if self._failed is not None and self._failed[0] == name:
            raise ModelUnavailable(self._failed[1])
        try:
            model = self._active.get()
        except Exception as exc:  # any failure to load degrades routing, never intake
            self._failed = (name, f"{type(exc).__name__}: {exc}")
            raise ModelUnavailable(self._failed[1]) from exc
        if model is None:
            raise NoModel("no model is active")
        return model

    def prime(self, texts: list[str], *, window: int = 256) -> int:
        """Analyse texts in batches ahead of their intake (a bulk load); how many it will analyse.

        A background thread works through the texts in the order given, a window at a time
        sorted by length (little padding), so a bulk load's intakes run meanwhile; served by ONNX
        Runtime, it runs its own copy of the active model (the same file) on every core, since a
        bulk load is a batch job that serves no requests. `analyse` waits for a text still to
        come and takes its result from here, as often as the text comes (a follow-up repeating
        it, a re-route after a return), while the same model is active and until
        `forget_primed` (or the next `prime`).
        """
        self.forget_primed()
        with self._lock:
            served = self._load()
        fresh = list(dict.fromkeys(texts))
        model, shared = served, True
        if served.runtime == "onnx":  # torch's thread count is the process's: no copy for torch
            try:
                cores = os.cpu_count() or 1
                model = Classifier(served.folder, threads=cores, quantized=served.quantized)
                shared = False
            except Exception as exc:  # the served model then analyses ahead between intakes
                log.warning("no copy of the model to prime with, the served one primes: %s", exc)
        with self._landed:
            self._pending.update(fresh)
        self._primer = threading.Thread(
            target=self._analyse_ahead,
            args=(model, shared, fresh, window),
            name="qisu-prime",
            daemon=True,
        )
        self._primer.start()
        return len(fresh)

    def _analyse_ahead(
        self, model: Classifier, shared: bool, texts: list[str], window: int
    ) -> None:
        """The primer's work: windows growing from 32 texts, so the first intake soon has its
        own; the served model itself (`shared`) is taken under the lock, one window at a time."""
        start, size = 0, 32
        try:
            while start < len(texts) and not self._stop.is_set():
                chunk = texts[start : start + size]
                with self._lock if shared else contextlib.nullcontext():
                    probabilities, embeddings = model.analyse(chunk)
                with self._landed:
                    for text, row, vector in zip(chunk, probabilities, embeddings, strict=True):
                        self._primed[text] = _analysis(model, row, vector)
                        self._pending.discard(text)
                    self._landed.notify_all()
                start, size = start + size, min(size * 2, window)
        except Exception as exc:  # the rest are analysed one by one as they come
            log.warning("analysing texts ahead stopped: %s", exc)
        finally:
            with self._landed:
                self._pending.difference_update(texts)
                self._landed.notify_all()

    def forget_primed(self) -> None:
        """Stop analysing ahead and drop what `prime` analysed, once the bulk load is done."""
        if self._primer is not None:
            self._stop.set()
            self._primer.join()
            self._primer = None
            self._stop.clear()
        with self._landed:
            self._primed.clear()
            self._pending.clear()

    def analyse(self, text: str) -> Analysis:
        """Probabilities over the model's labels and the embedding of one text."""
        with self._landed:  # a text the primer has yet to reach is worth the wait: on its way
            while text in self._pending:
                self._landed.wait()
            primed = self._primed.get(text)
        # One inference at a time: the two cores are already used by torch's own threads.
        with self._lock:
            model = self._load()
            if primed is not None and primed.model_version == model.version:
                return primed
            try:
                probabilities, embeddings = model.analyse([text])
            except Exception as exc:  # a failure to run degrades routing, never intake
                raise ModelUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return _analysis(model, probabilities[0], embeddings[0])


def _analysis(model: Classifier, probabilities: np.ndarray, embedding: np.ndarray) -> Analysis:
    return Analysis(
        model_version=model.version,
        probabilities=dict(zip(model.labels, map(float, probabilities), strict=True)),
        embedding=embedding,
        repeat_scorer=model.repeat_scorer,
        repeat_scorer_failure=model.repeat_scorer_failure,
    )


def app_serving_model(request: Request) -> ServingModel:
    """The model the app serves (made at its start)."""
    served: ServingModel = request.app.state.serving_model
    return served


ServingModelDep = Annotated[ServingModel, Depends(app_serving_model)]
