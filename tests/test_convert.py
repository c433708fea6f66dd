"""convert_checkpoint: original GOT and Vary key layouts → docvlm, checked against references."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from safetensors.torch import save_file
from transformers import AutoTokenizer, GotOcr2ForConditionalGeneration, Qwen2ForCausalLM
from transformers.image_utils import (
    IMAGENET_DEFAULT_MEAN,
    IMAGENET_DEFAULT_STD,
    OPENAI_CLIP_MEAN,
    OPENAI_CLIP_STD,
)
from typer.testing import CliRunner

from docvlm.cli.app import app
from docvlm.errors import CheckpointError
from docvlm.finetune.manifest import Example, write_manifest
from docvlm.model import DocVLMConfig, DocVLMForConditionalGeneration
from docvlm.model.configuration_docvlm import from_got_ocr2_dict
from docvlm.model.convert import convert_checkpoint
from docvlm.model.processing_docvlm import TOKENIZER_DIR
from docvlm.model.runtime import load_runtime
from tests.test_modeling import (
    IMAGE_TOKENS,
    assert_same_as_got,
    randomize,
    tiny_got,
    tiny_got_config,
    tiny_inputs,
)

NECK = ("conv1", "layer_norm1", "conv2", "layer_norm2")
TINY_IDS = (259, 260, 261)  # <img>, </img>, <imgpad> in the committed tiny tokenizer


def original_sam_key(key: str, prefix: str) -> str:
    """docvlm SAM/projector key → the name in Vary's sam.py, under `prefix`."""
    if match := re.match(r"model\.multi_modal_projector\.conv_upsampler(\d)\.(.*)", key):
        return f"{prefix}net_{int(match[1]) + 1}.{match[2]}"
    key = key.removeprefix("model.vision_tower.")
    key = key.replace("patch_embed.projection.", "patch_embed.proj.")
    key = re.sub(r"layers\.(\d+)\.layer_norm(\d)\.", r"blocks.\1.norm\2.", key)
    key = re.sub(r"^layers\.", "blocks.", key)
    for index, name in enumerate(NECK):
        key = key.replace(f"neck.{name}.", f"neck.{index}.")
    return prefix + key


def to_original_got(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """transformers GotOcr2 weights written with the original GOT-OCR2.0 key names."""
    original = {}
    for key, tensor in state_dict.items():
        if key.startswith(("model.vision_tower.", "model.multi_modal_projector.conv")):
            key = original_sam_key(key, "model.vision_tower_high.")
        elif key.startswith("model.multi_modal_projector.multimodal_projector."):
            key = key.replace(
                "model.multi_modal_projector.multimodal_projector.", "model.mm_projector_vary."
            )
        else:
            key = key.replace("model.language_model.", "model.")
        original[key] = tensor.clone()
    return original


def to_vary(
    sam_clip: dict[str, torch.Tensor], qwen2: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """Vary's layout: SAM/CLIP/projectors from a docvlm model, a Qwen-v1 LM from Qwen2 weights."""
    vary = {}
    for key, tensor in sam_clip.items():
        if key.startswith(("model.vision_tower.", "model.multi_modal_projector.conv")):
            vary[original_sam_key(key, "transformer.vision_tower_high.")] = tensor.clone()
        elif key.startswith("model.multi_modal_projector.multimodal_projector."):
            vary[
                key.replace(
                    "model.multi_modal_projector.multimodal_projector.",
                    "transformer.mm_projector_vary.",
                )
            ] = tensor.clone()
        elif key.startswith("model.clip_tower."):
            vary[key.replace("model.clip_tower.", "transformer.vision_tower.")] = tensor.clone()
        elif key.startswith("model.clip_projector."):
            vary[key.replace("model.clip_projector.", "transformer.mm_projector.")] = tensor.clone()
    vary["transformer.wte.weight"] = qwen2["model.embed_tokens.weight"].clone()
    vary["transformer.ln_f.weight"] = qwen2["model.norm.weight"].clone()
    vary["lm_head.weight"] = qwen2["lm_head.weight"].clone()
    layers = {int(k.split(".")[2]) for k in qwen2 if k.startswith("model.layers.")}
    for i in layers:
        src, dst = f"model.layers.{i}.", f"transformer.h.{i}."
        for kind in ("weight", "bias"):
            vary[f"{dst}attn.c_attn.{kind}"] = torch.cat(
                [qwen2[f"{src}self_attn.{p}_proj.{kind}"] for p in "qkv"], dim=0
            )
        vary[f"{dst}attn.c_proj.weight"] = qwen2[f"{src}self_attn.o_proj.weight"].clone()
        vary[f"{dst}ln_1.weight"] = qwen2[f"{src}input_layernorm.weight"].clone()
        vary[f"{dst}ln_2.weight"] = qwen2[f"{src}post_attention_layernorm.weight"].clone()
        vary[f"{dst}mlp.w1.weight"] = qwen2[f"{src}mlp.up_proj.weight"].clone()
        vary[f"{dst}mlp.w2.weight"] = qwen2[f"{src}mlp.gate_proj.weight"].clone()
        vary[f"{dst}mlp.c_proj.weight"] = qwen2[f"{src}mlp.down_proj.weight"].clone()
    return vary


def got_docvlm_config() -> DocVLMConfig:
    return DocVLMConfig(**from_got_ocr2_dict(tiny_got_config(TINY_IDS[2]).to_dict()))


def vary_config() -> DocVLMConfig:
    preset = DocVLMConfig.from_preset("tiny").to_dict()
    # Qwen-v1 has untied embeddings and no grouped-query attention.
    preset["text_config"].update(tie_word_embeddings=False, num_key_value_heads=4)
    return DocVLMConfig(**preset)


def original_got_checkpoint(folder: Path) -> GotOcr2ForConditionalGeneration:
    """A tiny original-layout GOT checkpoint with the tiny tokenizer in `folder`; the oracle."""
    ref = tiny_got(TINY_IDS[2])
    folder.mkdir(parents=True, exist_ok=True)
    save_file(to_original_got(ref.state_dict()), folder / "model.safetensors")
    AutoTokenizer.from_pretrained(TOKENIZER_DIR).save_pretrained(folder)
    return ref


def test_original_got_converts_with_a_processor_and_matches_transformers(tmp_path):
    ref = original_got_checkpoint(tmp_path / "src")
    dst = convert_checkpoint(tmp_path / "src", tmp_path / "out", "got", config=got_docvlm_config())
    assert {"config.json", "tokenizer_config.json", "processor_config.json"} <= {
        p.name for p in dst.iterdir()
    }
    runtime = load_runtime(dst, device="cpu")
    # The GOT-hf-style config named only <imgpad>; <img> and </img> came from the tokenizer.
    config = runtime.model.config
    assert (config.image_start_token_id, config.image_end_token_id) == TINY_IDS[:2]
    assert runtime.normalization == (list(OPENAI_CLIP_MEAN), list(OPENAI_CLIP_STD))
    assert_same_as_got(runtime.model, ref, TINY_IDS)


def test_source_tokenizer_needing_remote_code_asks_for_tokenizer(tmp_path):
    original_got_checkpoint(tmp_path / "src")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (tmp_path / "src" / name).unlink()
    (tmp_path / "src" / "qwen.tiktoken").write_text("")
    with pytest.raises(CheckpointError, match="--tokenizer"):
        convert_checkpoint(tmp_path / "src", tmp_path / "out", "got", config=got_docvlm_config())
    dst = convert_checkpoint(
        tmp_path / "src", tmp_path / "out", "got", config=got_docvlm_config(),
        tokenizer=TOKENIZER_DIR,
    )  # fmt: skip
    assert (dst / "processor_config.json").is_file()


@pytest.mark.parametrize(
    ("source", "normalization"),
    [("vary", (IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD)),
     ("vary-toy", (OPENAI_CLIP_MEAN, OPENAI_CLIP_STD))],
)  # fmt: skip
def test_converted_vary_reads_its_sam_branch_with_its_own_normalization(
    vary_checkpoint, tmp_path, source, normalization
):
    src, _, _ = vary_checkpoint
    dst = convert_checkpoint(src, tmp_path / "out", source, config=vary_config())
    assert load_runtime(dst, device="cpu").normalization == tuple(map(list, normalization))


def test_converted_checkpoint_finetunes_and_evaluates_end_to_end(tmp_path):
    original_got_checkpoint(tmp_path / "src")
    runner = CliRunner()
    # The CLI converts at the published size only; a tokenizer that is not GOT's is refused.
    refused = runner.invoke(
        app, ["convert", "--from", "got", str(tmp_path / "src"), str(tmp_path / "big")]
    )
    assert refused.exit_code == 1 and "<imgpad>" in refused.output
    convert_checkpoint(tmp_path / "src", tmp_path / "got", "got", config=got_docvlm_config())
    examples = []
    for index, word in enumerate(["alpha", "beta"]):
        image = Image.new("RGB", (160, 80), "white")
        ImageDraw.Draw(image).text((10, 30), word, fill="black")
        image.save(tmp_path / f"{index}.png")
        examples.append(Example(target=word, image=tmp_path / f"{index}.png"))
    manifest = write_manifest(examples, tmp_path / "train.jsonl")
    common = ["--model", str(tmp_path / "got")]
    tuned = runner.invoke(app, [
        "finetune", "--train", str(manifest), *common, "--mode", "lora", "--max-steps", "2",
        "--batch-size", "2", "--max-length", "512", "--out", str(tmp_path / "adapter"),
    ])  # fmt: skip
    assert tuned.exit_code == 0, tuned.output
    scored = runner.invoke(app, [
        "eval", "--manifest", str(manifest), *common, "--adapter", str(tmp_path / "adapter"),
        "--max-new-tokens", "8", "--report", str(tmp_path / "report.json"),
    ])  # fmt: skip
    assert scored.exit_code == 0, scored.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["examples"] == 2 and report["metrics"]["cer"] >= 0.0
    assert len(report["per_example"]) == 2


@pytest.fixture(scope="module")
def vary_checkpoint(tmp_path_factory):
    """A tiny Vary checkpoint (pytorch .bin) plus the Qwen2 LM its decoder was built from."""
    config = vary_config()
    towers = randomize(DocVLMForConditionalGeneration(config), seed=3)
    qwen2 = randomize(Qwen2ForCausalLM(config.text_config), seed=4)
    path = tmp_path_factory.mktemp("vary")
    vary = to_vary(towers.state_dict(), qwen2.state_dict())
    torch.save(vary, path / "pytorch_model.bin")
    AutoTokenizer.from_pretrained(TOKENIZER_DIR).save_pretrained(path)
    return path, vary, qwen2


def test_vary_converts_runs_and_matches_qwen_lm(vary_checkpoint, tmp_path):
    src, vary, qwen2 = vary_checkpoint
    model = DocVLMForConditionalGeneration.from_pretrained(
        convert_checkpoint(src, tmp_path / "out", "vary", config=vary_config())
    ).eval()
    text_ids = torch.tensor([[3, 17, 99, 250, 8]])
    inputs = tiny_inputs(model.config, views=2)
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids=text_ids).logits, qwen2(text_ids).logits)
        out = model(**inputs)
    assert out.image_features.shape == (2, IMAGE_TOKENS, model.config.text_config.hidden_size)
    assert torch.isfinite(out.logits).all()
    # Qwen-v1's MLP is c_proj(w1(x) * silu(w2(x))), computed here from the raw Vary tensors.
    x = torch.randn(4, model.config.text_config.hidden_size)
    w1, w2, c_proj = (vary[f"transformer.h.0.mlp.{n}.weight"] for n in ("w1", "w2", "c_proj"))
    expected = (x @ w1.T * F.silu(x @ w2.T)) @ c_proj.T
    with torch.no_grad():
        actual = model.model.language_model.layers[0].mlp(x)
    torch.testing.assert_close(actual, expected)


def test_missing_key_is_named(vary_checkpoint, tmp_path):
    _, vary, _ = vary_checkpoint
    save_file(
        {k: v for k, v in vary.items() if k != "transformer.ln_f.weight"},
        tmp_path / "m.safetensors",
    )
    with pytest.raises(CheckpointError, match="model.language_model.norm.weight"):
        convert_checkpoint(
            tmp_path, tmp_path / "out", "vary", config=vary_config(), tokenizer=TOKENIZER_DIR
        )


def test_unexpected_key_is_named(vary_checkpoint, tmp_path):
    _, vary, _ = vary_checkpoint
    save_file({**vary, "transformer.extra.weight": torch.zeros(2)}, tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match="transformer.extra.weight"):
        convert_checkpoint(
            tmp_path, tmp_path / "out", "vary", config=vary_config(), tokenizer=TOKENIZER_DIR
        )


def test_shape_mismatch_is_named(vary_checkpoint, tmp_path):
    _, vary, _ = vary_checkpoint
    broken = {**vary, "transformer.mm_projector.weight": torch.zeros(3, 3)}
    save_file(broken, tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match=r"model.clip_projector.weight.*\(3, 3\)"):
        convert_checkpoint(
            tmp_path, tmp_path / "out", "vary", config=vary_config(), tokenizer=TOKENIZER_DIR
        )


def test_bad_source_and_empty_directory(tmp_path):
    with pytest.raises(CheckpointError, match="unknown source"):
        convert_checkpoint(tmp_path, tmp_path / "out", "llava")
    with pytest.raises(CheckpointError, match="no \\*.safetensors"):
        convert_checkpoint(
            tmp_path, tmp_path / "out", "got", config=got_docvlm_config(), tokenizer=TOKENIZER_DIR
        )
