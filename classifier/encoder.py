"""A BERT encoder that runs in two parts: the frozen lower layers and the fine-tuned upper ones."""

from pathlib import Path

import torch
from torch import nn
from transformers import AutoTokenizer, BertModel, PreTrainedTokenizerBase
from transformers.masking_utils import create_bidirectional_mask

from classifier.errors import ClassifierError

PREFIX = "query: "  # e5 was trained with this prefix on both sides of a symmetric task


class Encoder(nn.Module):
    """The tokenizer and the BERT stack of one model folder."""

    def __init__(self, bert: BertModel, tokenizer: PreTrainedTokenizerBase) -> None:
        super().__init__()
        self.bert = bert
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, folder: Path) -> "Encoder":
        """Load a local HuggingFace BERT folder; never reaches out to a hub."""
        if not (folder / "config.json").is_file():
            raise ClassifierError(f"{folder}: not a model folder (no config.json)")
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            bert = BertModel.from_pretrained(folder, local_files_only=True, add_pooling_layer=False)
        except (OSError, ValueError) as exc:
            raise ClassifierError(f"{folder}: cannot load the encoder ({exc})") from None
        return cls(bert.eval(), tokenizer)

    @property
    def depth(self) -> int:
        """The number of transformer layers."""
        return len(self.bert.encoder.layer)

    @property
    def width(self) -> int:
        """The hidden size."""
        return int(self.bert.config.hidden_size)

    def token_ids(self, texts: list[str], max_tokens: int) -> list[list[int]]:
        """Token ids of each prefixed text, cut to `max_tokens` (a long text keeps its head)."""
        return token_ids(self.tokenizer, texts, max_tokens)

    def pad(self, ids: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """A padded id matrix and its attention mask."""
        width = max(len(row) for row in ids)
        pad_id = self.tokenizer.pad_token_id or 0
        matrix = torch.full((len(ids), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(ids), width), dtype=torch.long)
        for i, row in enumerate(ids):
            matrix[i, : len(row)] = torch.tensor(row)
            mask[i, : len(row)] = 1
        return matrix, mask

    def lower(self, ids: torch.Tensor, mask: torch.Tensor, layers: int) -> torch.Tensor:
        """Hidden states after the embeddings and the first `layers` layers."""
        hidden = self.bert.embeddings(input_ids=ids)
        return self.upper(hidden, mask, 0, layers)

    def upper(
        self, hidden: torch.Tensor, mask: torch.Tensor, start: int, stop: int | None = None
    ) -> torch.Tensor:
        """Run layers `start`..`stop` over hidden states."""
        attention = create_bidirectional_mask(
            config=self.bert.config, inputs_embeds=hidden, attention_mask=mask
        )
        for layer in self.bert.encoder.layer[start:stop]:
            hidden = layer(hidden, attention)
        return hidden


def load_tokenizer(folder: Path) -> PreTrainedTokenizerBase:
    """The tokenizer of a local model folder alone (ONNX Runtime serves without the weights)."""
    try:
        return AutoTokenizer.from_pretrained(folder, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ClassifierError(f"{folder}: cannot load the tokenizer ({exc})") from None


def token_ids(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], max_tokens: int
) -> list[list[int]]:
    """Token ids of each prefixed text, cut to `max_tokens` (a long text keeps its head)."""
    encoded = tokenizer([PREFIX + t for t in texts], truncation=True, max_length=max_tokens)
    return [list(ids) for ids in encoded["input_ids"]]


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of the token vectors that are not padding."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


class Head(nn.Module):
    """Dropout and a linear layer over the mean-pooled upper hidden states."""

    def __init__(self, width: int, classes: int) -> None:
        super().__init__()
        self.dropout = nn.Dropout(0.1)
        self.linear = nn.Linear(width, classes)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        """Class scores."""
        return self.linear(self.dropout(pooled))
