"""A tiny randomly initialised BERT with a character tokenizer, and a small labelled corpus."""

import csv
import itertools
from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel
from transformers.models.bert.tokenization_bert import BertTokenizer

TOPICS = {
    "hrss": ["拖欠工资", "社保缴纳", "劳动合同", "工伤认定"],
    "market_regulation": ["营业执照", "食品安全", "商标侵权", "价格欺诈"],
    "water": ["停水", "水管破裂", "水压太低", "水费异常"],
    "power": ["停电", "电压不稳", "变压器", "电费"],
    "planning": ["规划许可", "用地审批", "建筑退界", "规划调整"],
}
OPENINGS = ["企业来电反映", "我司", "市民企业反映：", "您好，", "紧急！"]
CLOSINGS = ["请尽快处理。", "望相关部门解决。", "已经很久了。", "谢谢。"]


def corpus() -> list[tuple[str, str, str]]:
    """(title, text, label) rows: 20 a label, with its topic words in varied sentences."""
    rows = []
    for label, words in TOPICS.items():
        combos = itertools.islice(itertools.product(words, OPENINGS, CLOSINGS), 20)
        for n, (word, opening, closing) in enumerate(combos):
            rows.append((f"{word}问题", f"{opening}{word}的问题第{n}次出现，{closing}", label))
    return rows


def write_csv(path: Path, rows: list[tuple[str, str, str]], encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["标题", "内容", "单位"])
        writer.writerows(rows)
    return path


def build_tiny_bert(folder: Path, characters: set[str], layers: int = 2) -> Path:
    """A 32-wide BERT of `layers` layers over these characters; random weights, fixed seed."""
    vocab = sorted(characters | set("query:0123456789"))
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (folder / "vocab.txt").write_text("\n".join(specials + vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizer(vocab_file=str(folder / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(specials) + len(vocab),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny BERT over the corpus' characters."""
    characters = {c for row in corpus() for c in row[0] + row[1]}
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), characters)


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny 4-layer BERT over the corpus' characters, to distil students from."""
    characters = {c for row in corpus() for c in row[0] + row[1]}
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-teacher"), characters, layers=4)


@pytest.fixture(scope="session")
def labelled_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(tmp_path_factory.mktemp("data") / "appeals.csv", corpus())
