"""DocVLMForConditionalGeneration vs transformers' GotOcr2 / SAM / CLIP, tiny random weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers import (
    AutoModelForImageTextToText,
    BitsAndBytesConfig,
    CLIPVisionModel,
    GotOcr2Config,
    GotOcr2ForConditionalGeneration,
    SamVisionConfig,
    SamVisionModel,
)

from docvlm.model import DocVLMConfig, DocVLMForConditionalGeneration

IMAGE_TOKENS = 16  # tiny SAM: 256 px → 16×16 patches → 4×4 tokens


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights everywhere (zero-initialised rel-pos tables would hide bugs)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.1)
    return model.eval()


def tiny_got_config(image_token_index: int = 1023) -> GotOcr2Config:
    return GotOcr2Config(
        vision_config=dict(
            hidden_size=32,
            output_channels=16,
            num_hidden_layers=3,
            num_attention_heads=2,
            image_size=256,
            mlp_dim=64,
            global_attn_indexes=[1],
        ),
        text_config=dict(
            model_type="qwen2",
            vocab_size=1024,
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            num_key_value_heads=2,
            tie_word_embeddings=True,
        ),
        image_token_index=image_token_index,
    )


def tiny_got(image_token_index: int = 1023) -> GotOcr2ForConditionalGeneration:
    """A tiny transformers GOT-OCR2 model with random weights: the oracle."""
    return randomize(GotOcr2ForConditionalGeneration(tiny_got_config(image_token_index)))


def image_prompt(config_ids: tuple[int, int, int], views: int = 1, text: int = 4) -> torch.Tensor:
    """`x <img> <imgpad>×16·views </img> text…` as a (1, L) id tensor."""
    start, end, pad = config_ids
    body = [start] + [pad] * IMAGE_TOKENS * views + [end]
    return torch.tensor([[5, *body, *range(7, 7 + text)]])


GOT_IDS = (1021, 1022, 1023)


def assert_same_as_got(
    ours: DocVLMForConditionalGeneration, ref: nn.Module, ids: tuple[int, int, int] = GOT_IDS
) -> None:
    """Logits within 1e-4 and 32 greedy tokens identical."""
    input_ids = image_prompt(ids)
    pixel_values = torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = ref(input_ids=input_ids, pixel_values=pixel_values).logits
        actual = ours(input_ids=input_ids, pixel_values=pixel_values).logits
    torch.testing.assert_close(actual, expected, atol=1e-4, rtol=0)
    generate = dict(max_new_tokens=32, min_new_tokens=32, do_sample=False)
    expected_ids = ref.generate(input_ids=input_ids, pixel_values=pixel_values, **generate)
    actual_ids = ours.generate(input_ids=input_ids, pixel_values=pixel_values, **generate)
    assert actual_ids.shape[1] == input_ids.shape[1] + 32
    assert torch.equal(actual_ids, expected_ids)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A saved tiny dual-branch (Vary-like) docvlm model."""
    torch.manual_seed(0)
    model = randomize(DocVLMForConditionalGeneration(DocVLMConfig.from_preset("tiny")))
    path = tmp_path_factory.mktemp("tiny")
    model.save_pretrained(path)
    return path


def tiny_inputs(config: DocVLMConfig, views: int = 2) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    ids = (config.image_start_token_id, config.image_end_token_id, config.image_token_id)
    return {
        "input_ids": image_prompt(ids, views=views),
        "pixel_values": torch.randn(views, 3, 256, 256, generator=generator),
        "clip_pixel_values": torch.randn(views, 3, 56, 56, generator=generator),
    }


def test_presets_have_published_shapes():
    got = DocVLMConfig.from_preset("got-ocr2")
    assert got.clip_config is None and got.num_image_tokens == 256
    text = got.text_config
    assert (text.hidden_size, text.num_hidden_layers, text.num_attention_heads) == (1024, 24, 16)
    assert (text.num_key_value_heads, text.intermediate_size, text.vocab_size) == (16, 2816, 151860)
    assert text.rope_parameters["rope_theta"] == 1e6 and got.tie_word_embeddings
    assert (got.image_start_token_id, got.image_end_token_id, got.image_token_id) == (
        151857,
        151858,
        151859,
    )
    toy = DocVLMConfig.from_preset("vary-toy")
    assert toy.clip_config.image_size == 224 and toy.text_config.hidden_size == 2048
    assert DocVLMConfig.from_preset("vary-base").text_config.hidden_size == 4096
    assert DocVLMConfig.from_preset("tiny").num_image_tokens == IMAGE_TOKENS


def test_tiny_forward_gives_fused_features_per_view(tiny_dir):
    model = DocVLMForConditionalGeneration.from_pretrained(tiny_dir).eval()
    inputs = tiny_inputs(model.config, views=2)
    with torch.no_grad():
        out = model(**inputs)
    assert out.image_features.shape == (2, IMAGE_TOKENS, model.config.text_config.hidden_size)
    assert out.logits.shape == (1, inputs["input_ids"].shape[1], 1024)


def test_generate_with_cache_matches_no_cache(tiny_dir):
    model = DocVLMForConditionalGeneration.from_pretrained(tiny_dir).eval()
    inputs = tiny_inputs(model.config)
    kwargs = dict(max_new_tokens=12, min_new_tokens=12, do_sample=False)
    cached = model.generate(**inputs, use_cache=True, **kwargs)
    uncached = model.generate(**inputs, use_cache=False, **kwargs)
    assert torch.equal(cached, uncached)


def test_save_load_round_trip_and_auto_class(tiny_dir, tmp_path):
    model = DocVLMForConditionalGeneration.from_pretrained(tiny_dir).eval()
    model.save_pretrained(tmp_path)
    reloaded = AutoModelForImageTextToText.from_pretrained(tmp_path, device_map="cpu").eval()
    assert isinstance(reloaded, DocVLMForConditionalGeneration)
    inputs = tiny_inputs(model.config)
    with torch.no_grad():
        torch.testing.assert_close(reloaded(**inputs).logits, model(**inputs).logits)


def test_got_ocr2_hf_directory_loads_directly(tmp_path):
    ref = tiny_got()
    ref.save_pretrained(tmp_path)
    ours = DocVLMForConditionalGeneration.from_pretrained(tmp_path, attn_implementation="sdpa")
    assert ours.config.clip_config is None and ours.config.image_token_id == 1023
    assert_same_as_got(ours.eval(), ref)


def test_sam_branch_equals_transformers_sam_encoder_and_convs():
    model = randomize(DocVLMForConditionalGeneration(DocVLMConfig.from_preset("tiny")))
    vision = model.config.vision_config
    sam = SamVisionModel(
        SamVisionConfig(
            **{key: getattr(vision, key) for key in ("hidden_size", "output_channels")},
            num_hidden_layers=vision.num_hidden_layers,
            num_attention_heads=vision.num_attention_heads,
            image_size=vision.image_size,
            mlp_dim=vision.mlp_dim,
            window_size=vision.window_size,
            global_attn_indexes=list(vision.global_attn_indexes),
        )
    ).eval()
    sam.vision_encoder.load_state_dict(model.model.vision_tower.state_dict())
    projector = model.model.multi_modal_projector
    pixel_values = torch.randn(2, 3, 256, 256)
    with torch.no_grad():
        neck = sam(pixel_values).last_hidden_state
        compressed = projector.conv_upsampler2(projector.conv_upsampler1(neck))
        expected = projector.multimodal_projector(compressed.flatten(2).transpose(1, 2))
        features = model.get_image_features(pixel_values, torch.randn(2, 3, 56, 56))
    half = model.config.text_config.hidden_size // 2
    torch.testing.assert_close(features[..., half:], expected, atol=1e-5, rtol=1e-5)


def test_clip_branch_equals_penultimate_clip_layer_without_cls():
    model = randomize(DocVLMForConditionalGeneration(DocVLMConfig.from_preset("tiny")))
    clip = CLIPVisionModel(model.config.clip_config).eval()
    clip.load_state_dict(model.model.clip_tower.state_dict())
    clip_pixels = torch.randn(2, 3, 56, 56)
    with torch.no_grad():
        hidden = clip(clip_pixels, output_hidden_states=True).hidden_states[-2][:, 1:]
        expected = model.model.clip_projector(hidden)
        features = model.get_image_features(torch.randn(2, 3, 256, 256), clip_pixels)
    half = model.config.text_config.hidden_size // 2
    assert features.shape == (2, IMAGE_TOKENS, 2 * half)
    torch.testing.assert_close(features[..., :half], expected, atol=1e-5, rtol=1e-5)


def test_prompt_and_views_must_agree(tiny_dir):
    model = DocVLMForConditionalGeneration.from_pretrained(tiny_dir).eval()
    inputs = tiny_inputs(model.config, views=2)
    inputs["input_ids"] = inputs["input_ids"][:, :-IMAGE_TOKENS]
    with pytest.raises(ValueError, match="imgpad"):
        model(**inputs)


@pytest.mark.parametrize("bits", [4, 8])
def test_bitsandbytes_quantizes_llm_only(tiny_dir, bits):
    quantization = (
        BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")
        if bits == 4
        else BitsAndBytesConfig(load_in_8bit=True)
    )
    model = DocVLMForConditionalGeneration.from_pretrained(
        tiny_dir, quantization_config=quantization, device_map="cpu"
    ).eval()
    q_proj = model.model.language_model.layers[0].self_attn.q_proj
    assert type(q_proj).__name__ == ("Linear4bit" if bits == 4 else "Linear8bitLt")
    assert type(model.model.vision_tower.layers[0].attn.qkv) is nn.Linear
    assert type(model.model.clip_projector) is nn.Linear
    assert model.model.vision_tower.layers[0].attn.qkv.weight.dtype == torch.float32
    with torch.no_grad():
        logits = model(**tiny_inputs(model.config)).logits
    assert logits.shape[-1] == 1024 and torch.isfinite(logits).all()
