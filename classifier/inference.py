"""The one inference interface: top-k labels with probabilities, and normalised embeddings."""

import json
import pickle
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from classifier.calibration import log_softmax
from classifier.encoder import Encoder, Head, load_tokenizer, mean_pool, token_ids
from classifier.errors import ClassifierError
from classifier.ngram_model import FILE as NGRAM_FILE
from classifier.ngram_model import NgramModel
from classifier.ngram_model import load as load_ngram_arrays
from classifier.ort_runner import OrtRunner
from classifier.repeat_scorer import RepeatScorer
from classifier.repeat_scorer import load as load_repeat_scorer

FORMAT = "qisu-classifier/1"
HELDOUT = "heldout.jsonl"  # the validation rows, kept to compare a later model against this one
COMPONENTS = ("ensemble", "encoder", "ngram")
CENTRE_TEXTS = 64  # held-out texts averaged for the common direction of embeddings


LENGTH_SPREAD = 1.25  # a chunk's longest text at most this many times its shortest


def length_chunks(order: list[int], lengths: list[int], batch: int) -> list[list[int]]:
    """Cut indices sorted by length into chunks of at most `batch` texts of similar length.

    Every text in a chunk is padded to the chunk's longest, so a batch of mixed lengths spends
    a third of its work on padding (bench batches: 56 tokens on average, 85 padded); chunks
    whose lengths stay within LENGTH_SPREAD cut that to a tenth for a few more, smaller runs.
    """
    chunks: list[list[int]] = []
    for i in order:
        last = chunks[-1] if chunks else None
        if last and len(last) < batch and lengths[i] <= LENGTH_SPREAD * lengths[last[0]]:
            last.append(i)
        else:
            chunks.append([i])
    return chunks


@dataclass(frozen=True)
class Scored:
    """One label and its probability."""

    label: str
    probability: float


def read_card(folder: Path) -> dict[str, Any]:
    """The model.json of a model folder, checked."""
    path = folder / "model.json"
    if not path.is_file():
        raise ClassifierError(f"{folder}: not a qisu model folder (no model.json)")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ClassifierError(f"{path}: unreadable ({exc})") from None
    if card.get("format") != FORMAT:
        raise ClassifierError(f"{path}: format {card.get('format')!r}, expected {FORMAT!r}")
    return dict(card)


RUNTIMES = ("auto", "onnx", "torch")


def load_ngram(folder: Path) -> NgramModel:
    """The folder's n-gram model: its arrays, or the scikit-learn pickle of a folder built
    before them (read through scikit-learn, which only such a folder makes serving import)."""
    if (folder / NGRAM_FILE).is_file() or not (folder / "ngram.pkl").is_file():
        return load_ngram_arrays(folder / NGRAM_FILE)
    from classifier.ngram import arrays_of

    try:
        with (folder / "ngram.pkl").open("rb") as handle:
            return arrays_of(pickle.load(handle))
    except (OSError, pickle.UnpicklingError) as exc:
        raise ClassifierError(f"{folder}: damaged model folder ({exc})") from None


class Classifier:
    """A trained model folder, loaded once; batched, no gradients, a fixed thread count.

    `runtime` "auto" serves the folder's ONNX export with ONNX Runtime when it has one and
    torch otherwise (folders built before the export); `quantized` picks the int8 weights.
    """

    def __init__(
        self, folder: Path, *, threads: int = 2, quantized: bool = False, runtime: str = "auto"
    ) -> None:
        if runtime not in RUNTIMES:
            raise ClassifierError(f"runtime {runtime!r} is not one of {', '.join(RUNTIMES)}")
        self.folder = folder
        self.card = read_card(folder)
        self.labels: list[str] = self.card["labels"]
        self.max_tokens = int(self.card["train_config"]["max_tokens"])
        calibration = self.card["calibration"]
        self.t_encoder = float(calibration["encoder_temperature"])
        self.t_ngram = float(calibration["ngram_temperature"])
        self.weight = float(calibration["encoder_weight"])
        self.quantized = quantized
        self.ngram = load_ngram(folder)
        exported = self.card.get("onnx") or {}
        onnx_file = folder / exported.get("int8" if quantized else "fp32", "-")
        if runtime == "onnx" and not onnx_file.is_file():
            raise ClassifierError(f"{folder}: no ONNX export ({onnx_file.name})")
        self.runtime = "onnx" if runtime != "torch" and onnx_file.is_file() else "torch"
        self.ort: OrtRunner | None = None
        self.encoder: Encoder | None = None
        if self.runtime == "onnx":
            self.tokenizer = load_tokenizer(folder / "encoder")
            self.ort = OrtRunner(onnx_file, threads=threads)
            self.width = int(self.ort.session.get_outputs()[1].shape[1])
            self._similarity_layer = int(exported["similarity_layer"])
        else:
            self._load_torch(folder, threads=threads, quantized=quantized)
        self.version = folder.name
        # Repeat detection's pair scorer; routing falls back (and says why) when it is missing.
        self.repeat_scorer: RepeatScorer | None = None
        self.repeat_scorer_failure: str | None = None
        try:
            self.repeat_scorer = load_repeat_scorer(folder)
        except ClassifierError as exc:
            self.repeat_scorer_failure = str(exc)

    def _load_torch(self, folder: Path, *, threads: int, quantized: bool) -> None:
        torch.set_num_threads(threads)
        encoder = Encoder.load(folder / "encoder")
        self.tokenizer, self.width = encoder.tokenizer, encoder.width
        self.head = Head(encoder.width, len(self.labels))
        try:
            self.head.load_state_dict(load_file(str(folder / "head.safetensors")))
        except (OSError, RuntimeError, SafetensorError) as exc:
            raise ClassifierError(f"{folder}: damaged model folder ({exc})") from None
        self.head.eval()
        if quantized:
            # int8 weights for the Linear layers, activations quantised on the fly. torch marks
            # this eager API deprecated in favour of torchao, which is not a dependency here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=DeprecationWarning)
                warnings.simplefilter("ignore", category=UserWarning)
                encoder = torch.ao.quantization.quantize_dynamic(
                    encoder, {torch.nn.Linear}, dtype=torch.qint8
                )
        self.encoder = encoder
        self._similarity_layer = self._card_similarity_layer(encoder.depth)

    @property
    def name(self) -> str:
        """Which path serves: torch or ONNX Runtime, fp32 or int8."""
        runtime = "ort" if self.runtime == "onnx" else "torch"
        return f"{runtime}-{'int8' if self.quantized else 'fp32'}"

    @property
    def similarity_layer(self) -> int:
        """The layer whose states embed a text for similarity."""
        return self._similarity_layer

    def _card_similarity_layer(self, depth: int) -> int:
        """The layer the card names.

        A model card names it: the last frozen layer, e5's own states (the `query: ` prefix,
        before routing's fine-tune), so one pass gives both. Older cards fall back to three
        quarters of the way up, where the fine-tuned states still tell matters apart.
        """
        named = self.card.get("similarity", {}).get("layer")
        return int(named) if named else max(1, round(depth * 3 / 4))

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids as the encoder reads them."""
        return token_ids(self.tokenizer, texts, self.max_tokens)

    def _encoded(self, texts: list[str], batch: int) -> tuple[np.ndarray, np.ndarray]:
        """The head's scores and the similarity layer's pooled states, batched by length."""
        ids = self.token_ids(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        scores = np.empty((len(ids), len(self.labels)), dtype=np.float32)
        middle = np.empty((len(ids), self.width), dtype=np.float32)
        pad_id = self.tokenizer.pad_token_id or 0
        if self.quantized:
            # Dynamic int8 scales activations by the whole batch's range, padding included: a
            # text's answer would depend on its neighbours (top label changed for 5-8 % of texts
            # against one at a time). One text a pass gives each text its own answer, the one an
            # intake gets, and costs nothing here: on two cores a pass of one is as fast per text.
            batch = 1
        for chunk in length_chunks(order, [len(row) for row in ids], batch):
            rows = [ids[i] for i in chunk]
            if self.ort is not None:
                scores[chunk], middle[chunk] = self.ort.run(rows, pad_id)
            else:
                scores[chunk], middle[chunk] = self._torch_pass(rows)
        return scores, middle

    def _torch_pass(self, rows: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        assert self.encoder is not None
        with torch.inference_mode():
            matrix, mask = self.encoder.pad(rows)
            states = self.encoder.lower(matrix, mask, self.similarity_layer)
            middle = mean_pool(states, mask)
            states = self.encoder.upper(states, mask, self.similarity_layer)
            return self.head(mean_pool(states, mask)).numpy(), middle.numpy()

    @cached_property
    def _centre(self) -> np.ndarray:
        """What all texts' states share (the card's, else the held-out texts' mean).

        Every text's state points roughly the same way, so raw cosines crowd near 1; taking
        the common direction away spreads them and lets one threshold separate repeats.
        """
        stored = self.card.get("similarity", {}).get("centre")
        if stored:
            return np.array(stored, dtype=np.float32)
        path = self.folder / HELDOUT
        lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
        texts = [json.loads(line)["text"] for line in lines if line.strip()][:CENTRE_TEXTS]
        if not texts:
            return np.zeros(self.width, dtype=np.float32)
        return self._encoded(texts, 32)[1].mean(0)

    def _similarity_vectors(self, middle: np.ndarray) -> np.ndarray:
        centred = middle - self._centre
        norms = np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
        return (centred / norms).astype(np.float32)

    def components(self, texts: list[str], batch: int = 32) -> dict[str, np.ndarray]:
        """Probabilities [texts, labels] of the encoder, the n-gram model and the ensemble."""
        if not texts:
            empty = np.zeros((0, len(self.labels)), dtype=np.float32)
            return dict.fromkeys(COMPONENTS, empty)
        return self._mix(texts, self._encoded(texts, batch)[0])

    def _mix(self, texts: list[str], scores: np.ndarray) -> dict[str, np.ndarray]:
        encoder = log_softmax(scores, self.t_encoder)
        ngram = log_softmax(self.ngram.scores(texts, len(self.labels)), self.t_ngram)
        mixed = log_softmax(self.weight * encoder + (1 - self.weight) * ngram)
        return {"ensemble": np.exp(mixed), "encoder": np.exp(encoder), "ngram": np.exp(ngram)}

    def figures(self, texts: list[str], labels: list[str]) -> dict[str, dict[str, Any]]:
        """Every component's figures on texts whose labels the model knows."""
        index = {label: i for i, label in enumerate(self.labels)}
        truth = np.array([index[label] for label in labels])
        parts = self.components(texts)
        from classifier.metrics import evaluate  # for model reports, not for serving

        return {name: evaluate(parts[name], truth, self.labels) for name in COMPONENTS}

    def probabilities(self, texts: list[str], batch: int = 32) -> np.ndarray:
        """The ensemble's probabilities [texts, labels]."""
        return self.components(texts, batch)["ensemble"]

    def top(self, probabilities: np.ndarray, k: int = 5) -> list[list[Scored]]:
        """The k most probable labels of each row, best first."""
        best = np.argsort(-probabilities, axis=1)[:, :k]
        return [
            [Scored(self.labels[j], round(float(row[j]), 6)) for j in picks]
            for row, picks in zip(probabilities, best, strict=True)
        ]

    def predict(self, texts: list[str], k: int = 5, batch: int = 32) -> list[list[Scored]]:
        """Top-k labels with probabilities for each text."""
        return self.top(self.probabilities(texts, batch), k)

    def truncated(self, texts: list[str]) -> int:
        """How many texts fill the token limit, so that only their beginning is read."""
        return sum(len(ids) >= self.max_tokens for ids in self.token_ids(texts))

    def embed(self, texts: list[str], batch: int = 32) -> np.ndarray:
        """Unit-length, centred embeddings for similarity (cosine is their dot product)."""
        if not texts:
            return np.zeros((0, self.width), dtype=np.float32)
        return self._similarity_vectors(self._encoded(texts, batch)[1])

    def analyse(self, texts: list[str], batch: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """The ensemble's probabilities and the embeddings, from one pass of the encoder."""
        if not texts:
            return self.probabilities([]), self.embed([])
        scores, middle = self._encoded(texts, batch)
        return self._mix(texts, scores)["ensemble"], self._similarity_vectors(middle)
