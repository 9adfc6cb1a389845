"""Read labelled or unlabelled texts from CSV (UTF-8 or GB18030) or JSONL."""

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from classifier.errors import ClassifierError


@dataclass
class Labelled:
    """Texts with their labels, and what was left out on the way."""

    texts: list[str]
    labels: list[str]
    fingerprint: str
    dropped_empty: int
    dropped_rare: dict[str, int]


def _decode(raw: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ClassifierError(f"{path}: neither UTF-8 nor GB18030 text")


def read_rows(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV or JSONL file as dictionaries of strings."""
    if not path.is_file():
        raise ClassifierError(f"{path}: no such file")
    text = _decode(path.read_bytes(), path)
    if not text.strip():
        raise ClassifierError(f"{path}: the file is empty")
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ClassifierError(f"{path}, line {number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ClassifierError(f"{path}, line {number}: expected a JSON object")
            rows.append({k: "" if v is None else str(v) for k, v in row.items()})
        return rows
    try:
        return [
            {k: v or "" for k, v in row.items() if k is not None}
            for row in csv.DictReader(io.StringIO(text))
        ]
    except csv.Error as exc:
        raise ClassifierError(f"{path}: not a readable CSV file ({exc})") from None


def _column(rows: list[dict[str, str]], name: str, path: Path) -> list[str]:
    if rows and name not in rows[0]:
        raise ClassifierError(f"{path}: no column {name!r}; the columns are {', '.join(rows[0])}")
    return [row.get(name, "").strip() for row in rows]


def _texts(
    rows: list[dict[str, str]], path: Path, text_col: str, title_col: str | None
) -> list[str]:
    texts = _column(rows, text_col, path)
    if title_col:
        titles = _column(rows, title_col, path)
        texts = [f"{title} {text}".strip() for title, text in zip(titles, texts, strict=True)]
    return texts


def read_texts(path: Path, *, text_col: str, title_col: str | None = None) -> list[str]:
    """One text per row: the title (if any) and the text, joined."""
    return _texts(read_rows(path), path, text_col, title_col)


def fingerprint(texts: list[str], labels: list[str]) -> str:
    """A SHA-256 of the examples, so a model says exactly what it learned from."""
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()


def read_labelled(
    path: Path,
    *,
    text_col: str,
    label_col: str,
    title_col: str | None = None,
    min_per_class: int = 10,
) -> Labelled:
    """Rows with a label, keeping labels with at least `min_per_class` examples."""
    rows = read_rows(path)
    texts = _texts(rows, path, text_col, title_col)
    labels = _column(rows, label_col, path)
    pairs = [(t, label) for t, label in zip(texts, labels, strict=True) if label]
    counts = Counter(label for _, label in pairs)
    rare = {label: n for label, n in counts.items() if n < min_per_class}
    kept = [(t, label) for t, label in pairs if label not in rare]
    if len({label for _, label in kept}) < 2:
        raise ClassifierError(
            f"{path}: fewer than two labels in column {label_col!r} "
            f"have at least {min_per_class} examples"
        )
    return Labelled(
        texts=[t for t, _ in kept],
        labels=[label for _, label in kept],
        fingerprint=fingerprint([t for t, _ in kept], [label for _, label in kept]),
        dropped_empty=len(texts) - len(pairs),
        dropped_rare=rare,
    )
