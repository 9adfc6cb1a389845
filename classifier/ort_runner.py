"""Run a model folder's exported encoder and head with ONNX Runtime: no torch at serving time."""

from pathlib import Path

import numpy as np

from classifier.errors import ClassifierError


class OrtRunner:
    """One ONNX Runtime session over folder/onnx/encoder(-int8).onnx, a fixed thread count."""

    def __init__(self, path: Path, *, threads: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # The file is already fused offline; the online pass adds only the cheap rewrites.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.log_severity_level = 3
        # Idle threads sleep instead of spinning: on two shared cores a spinning pool takes the
        # CPU from the web server's threads and from everything else between calls.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ClassifierError(f"{path}: ONNX Runtime cannot load it ({exc})") from None
        self.path = path

    def run(self, ids: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The head's scores and the similarity layer's mean-pooled states of a batch."""
        width = max(len(row) for row in ids)
        matrix = np.full((len(ids), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            matrix[i, : len(row)] = row
            mask[i, : len(row)] = 1
        scores, similarity = self.session.run(
            ["scores", "similarity"], {"input_ids": matrix, "attention_mask": mask}
        )
        return scores, similarity
