"""Fused (sdpa) SAM attention equals the eager dense-bias path; all branches obey the setting."""

from __future__ import annotations

import pytest
import torch

from docvlm.model import DocVLMConfig, DocVLMForConditionalGeneration
from docvlm.model.attention import eager_rel_pos_attention, fused_rel_pos_attention
from docvlm.model.configuration_docvlm import DocVLMVisionConfig
from docvlm.model.sam import SamEncoder
from tests.test_modeling import randomize, tiny_inputs


@pytest.mark.parametrize("size", [(14, 14), (16, 16), (5, 9)])
def test_fused_attention_equals_eager(size):
    generator = torch.Generator().manual_seed(0)
    batch, heads, head_dim = 3, 2, 16
    tokens = size[0] * size[1]
    query, key, value = (
        torch.randn(batch, heads, tokens, head_dim, generator=generator) for _ in range(3)
    )
    rel_h = torch.randn(2 * size[0] - 1, head_dim, generator=generator)
    rel_w = torch.randn(2 * size[1] - 1, head_dim, generator=generator)
    args = (query, key, value, rel_h, rel_w, size, head_dim**-0.5)
    torch.testing.assert_close(
        fused_rel_pos_attention(*args), eager_rel_pos_attention(*args), atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize(
    "image_size",
    [224, 256],  # grid 14: windows fit exactly; grid 16: windows padded 16 → 28
)
def test_sam_encoder_sdpa_equals_eager_windowed_and_global(image_size):
    config = DocVLMVisionConfig(
        hidden_size=32,
        output_channels=16,
        num_hidden_layers=3,
        num_attention_heads=2,
        image_size=image_size,
        mlp_dim=64,
        global_attn_indexes=[1],
    )
    encoder = randomize(SamEncoder(config))
    pixel_values = torch.randn(2, 3, image_size, image_size)
    outputs = {}
    for implementation in ("eager", "sdpa"):
        config._attn_implementation = implementation
        with torch.no_grad():
            outputs[implementation] = encoder(pixel_values)
    torch.testing.assert_close(outputs["sdpa"], outputs["eager"], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("implementation", ["eager", "sdpa"])
def test_every_branch_honours_attn_implementation(tmp_path, implementation):
    model = randomize(DocVLMForConditionalGeneration(DocVLMConfig.from_preset("tiny")))
    model.save_pretrained(tmp_path)
    loaded = DocVLMForConditionalGeneration.from_pretrained(
        tmp_path, attn_implementation=implementation
    ).eval()
    branches = loaded.model
    assert branches.vision_tower.config._attn_implementation == implementation
    assert branches.clip_tower.config._attn_implementation == implementation
    assert branches.language_model.config._attn_implementation == implementation
    inputs = tiny_inputs(loaded.config)
    with torch.no_grad():
        torch.testing.assert_close(
            loaded(**inputs).logits, model.eval()(**inputs).logits, atol=1e-5, rtol=1e-5
        )


def test_set_attn_implementation_switches_the_sam_branch():
    model = DocVLMForConditionalGeneration(DocVLMConfig.from_preset("tiny"))
    model.set_attn_implementation("eager")
    assert model.model.vision_tower.config._attn_implementation == "eager"
    model.set_attn_implementation("sdpa")
    assert model.model.vision_tower.config._attn_implementation == "sdpa"
    assert model.model.language_model.config._attn_implementation == "sdpa"
