"""Export a trained encoder and head to ONNX at build time: fp32 with ORT's transformer fusions,
and a dynamically quantised int8 copy of it.

The graph takes token ids and their mask and gives the head's scores and the mean-pooled states
of the similarity layer, so serving reads both from one pass without torch.
"""

import logging
import math
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from classifier.encoder import Encoder, Head, mean_pool

FOLDER = "onnx"
FP32 = "encoder.onnx"
INT8 = "encoder-int8.onnx"
INPUTS = ("input_ids", "attention_mask")
OUTPUTS = ("scores", "similarity")
OPSET = 17


def _layer(layer: Any, x: torch.Tensor, additive: torch.Tensor, heads: int) -> torch.Tensor:
    """One BERT layer written out as the classic HuggingFace graph, the pattern ORT's fusions
    (Attention, SkipLayerNormalization, BiasGelu) recognise; the weights are the layer's own."""
    attention, size = layer.attention, x.size()
    shape = (size[0], size[1], heads, size[2] // heads)

    def split(linear: Any) -> torch.Tensor:
        return linear(x).view(shape).permute(0, 2, 1, 3)

    query, key, value = (split(getattr(attention.self, n)) for n in ("query", "key", "value"))
    scores = torch.matmul(query, key.transpose(-1, -2)) / math.sqrt(shape[3])
    probs = torch.softmax(scores + additive, dim=-1)
    context = torch.matmul(probs, value).permute(0, 2, 1, 3).contiguous().view(size)
    x = attention.output.LayerNorm(attention.output.dense(context) + x)
    inner = layer.intermediate.intermediate_act_fn(layer.intermediate.dense(x))
    return layer.output.LayerNorm(layer.output.dense(inner) + x)


class _Serving(nn.Module):
    """The encoder and the head as one function of ids and mask (eval mode, no dropout)."""

    def __init__(self, encoder: Encoder, head: Head, similarity_layer: int) -> None:
        super().__init__()
        self.bert, self.linear, self.split = encoder.bert, head.linear, similarity_layer
        self.heads = int(encoder.bert.config.num_attention_heads)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.bert.embeddings(input_ids=ids)
        # The additive mask BERT always used; ORT's attention fusion recognises this shape.
        additive = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * -10000.0
        middle = hidden
        for n, layer in enumerate(self.bert.encoder.layer, start=1):
            hidden = _layer(layer, hidden, additive, self.heads)
            if n == self.split:
                middle = hidden
        return self.linear(mean_pool(hidden, mask)), mean_pool(middle, mask)


def _export_fp32(module: nn.Module, encoder: Encoder, path: Path) -> None:
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 8, 2, 1, 1]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.long)
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}}
    axes |= {"scores": {0: "batch"}, "similarity": {0: "batch"}}
    with warnings.catch_warnings(), torch.inference_mode(False), torch.no_grad():
        warnings.simplefilter("ignore")  # tracing warnings about Python control flow and shapes
        torch.onnx.export(
            module,
            (ids, mask),
            str(path),
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter: its graphs are what ORT's fusions expect
        )


def _optimize(path: Path, out: Path, heads: int, hidden: int) -> dict[str, int]:
    """ORT's BERT fusions (attention, LayerNorm, GELU, embeddings); the fused operator counts."""
    from onnxruntime.transformers.optimizer import optimize_model

    # The library logs every fusion at INFO and warns about shapes it cannot infer.
    logging.getLogger("onnxruntime.transformers").setLevel(logging.ERROR)
    optimized = optimize_model(
        str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0
    )
    optimized.save_model_to_file(str(out))
    return {k: int(v) for k, v in optimized.get_fused_operator_statistics().items() if v}


def _quantize(path: Path, out: Path) -> None:
    """Dynamic int8: weights stored as int8, activations quantised per call."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger("root").setLevel(logging.ERROR)
    quantize_dynamic(
        str(path),
        str(out),
        weight_type=QuantType.QInt8,
        # The embedding table (Gather) stays fp32: a lookup gains nothing from int8.
        op_types_to_quantize=["MatMul", "Attention"],
        per_channel=True,
        # Fused operators (Attention, SkipLayerNormalization) hide their output types from
        # ONNX's shape inference; they are all float.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


def export(
    folder: Path,
    encoder: Encoder,
    head: Head,
    *,
    similarity_layer: int,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Write folder/onnx/{encoder,encoder-int8}.onnx; what was written, for the model card."""
    began = time.monotonic()
    target = folder / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    module = _Serving(encoder, head, similarity_layer).eval()
    raw = target / "encoder-raw.onnx"
    _export_fp32(module, encoder, raw)
    config = encoder.bert.config
    fused = _optimize(raw, target / FP32, config.num_attention_heads, config.hidden_size)
    raw.unlink()
    _quantize(target / FP32, target / INT8)
    seconds = time.monotonic() - began
    progress(f"ONNX export with {fused or 'no fusions'} and its int8 copy: {seconds:.0f} s")
    return {
        "fp32": f"{FOLDER}/{FP32}",
        "int8": f"{FOLDER}/{INT8}",
        "similarity_layer": similarity_layer,
        "fused": fused,
        "opset": OPSET,
    }
