"""The real default model routes the labelled Jiading dev set through intake (slow: trains it)."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from bench.routing import run, score
from classifier import default_model
from classifier.bootstrap import STYLES, corpus, renderings
from classifier.data import fingerprint
from classifier.inference import Classifier
from routing.model import ServingModel
from routing.settings import RoutingSettings

# Measured on the dev part with the committed default: lead 0.925 at coverage 0.930, top-3
# 0.988, 街镇 1.000, repeats precision 1.000, recall 0.973 (in sample: the pair scorer is weighted
# on this part; bench/repeat_cv.py's enterprise folds give 0.979 and 0.973 at its threshold, 0.50).
# The model this test trains in CI measured lead 0.912 at coverage 0.994 and top-3 0.936 there.
LEAD_ACCURACY, COVERAGE, TOP3 = 0.88, 0.85, 0.92
REPEAT_PRECISION, REPEAT_RECALL = 0.80, 0.30
# Measured on the 330 held-out matters' appeals with a default built here: ORT fp32 and torch
# fp32 differed by at most 1.6e-6 in any probability (int8 by 0.20, its accuracy +0.3 points).
ORT_MAX_ABS_DIFF = 1e-4
DEV = Path(__file__).parents[2] / "bench" / "data" / "routing-eval-v2" / "dev.yaml"


@pytest.mark.slow
def test_the_default_model_meets_the_routing_goals(real_base: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    rows = renderings(held_out=False, styles=STYLES)
    texts, labels = [r.text for r in rows], [r.label for r in rows]
    folder = models / "jiading-ci"
    report = default_model.train(
        texts,
        labels,
        base=real_base,
        out=folder,
        max_minutes=8.0,
        fingerprint=fingerprint(texts, labels),
        progress=lambda _: None,
        groups=[r.matter for r in rows],  # validation holds whole matters out, as the CLI does
    )
    default_model.fit_repeat_scorer(
        folder, rows, report.similarity, labelled=[DEV], confirmed=None, threads=2,
        progress=lambda _: None,
    )  # fmt: skip
    (models / "ACTIVE").write_text("jiading-ci\n", encoding="utf-8")
    data = yaml.safe_load(DEV.read_text(encoding="utf-8"))
    registered = {k: e.get("registered") for k, e in data["enterprises"].items()}
    routed = run(
        data,
        database=tmp_path / "routing.db",
        routing=RoutingSettings(),
        serving=ServingModel(models, quantized=RoutingSettings().quantized),  # as served
    )
    figures = score(routed, registered)
    assert figures["cases"] == 172
    # What the committed default measured on this part (README, "Measured"), less a little slack
    # for another machine; the goals are checked by bench/routing.py, not pinned here.
    assert figures["lead_accuracy"] >= LEAD_ACCURACY, figures
    assert figures["coverage"] >= COVERAGE, figures
    assert figures["top3"] >= TOP3, figures
    assert figures["subdistrict_knowable"] >= 0.95, figures
    assert figures["repeat_precision"] >= REPEAT_PRECISION, figures
    assert figures["repeat_recall"] >= REPEAT_RECALL, figures
    # The serving path routing used above is ONNX Runtime's; hold it against torch's.
    texts, truth = corpus(held_out=True)
    served = Classifier(folder)
    assert served.runtime == "onnx"
    reference = Classifier(folder, runtime="torch").probabilities(texts)
    assert np.abs(served.probabilities(texts) - reference).max() <= ORT_MAX_ABS_DIFF
    fast = Classifier(folder, quantized=True)
    int8 = fast.probabilities(texts)
    # Each text int8-analysed on its own (batched, the activations' range spans its neighbours).
    alone = np.concatenate([fast.probabilities([text]) for text in texts[:40]])
    assert np.array_equal(int8[:40], alone)
    accuracy = {name: float(np.mean([served.labels[i] for i in p.argmax(1)] == np.array(truth)))
                for name, p in (("fp32", reference), ("int8", int8))}  # fmt: skip
    assert accuracy["int8"] >= accuracy["fp32"] - 0.01, accuracy
