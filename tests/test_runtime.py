"""The model runtime: hub ids from a real huggingface_hub cache layout, offline, and generate()
against transformers' GotOcr2ForConditionalGeneration (the oracle for GOT-hf checkpoints)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import constants, scan_cache_dir
from PIL import Image, ImageDraw
from transformers import AutoTokenizer, GotOcr2Config, GotOcr2ForConditionalGeneration

from docvlm.errors import ModelNotFoundError
from docvlm.model.processing_docvlm import IMG_END, IMG_PAD, IMG_START, TOKENIZER_DIR
from docvlm.model.runtime import is_hub_id, load_runtime, resolve_checkpoint

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
REPO_ID = "tiny-org/tiny-got-hf"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def tiny_got_hf(tokenizer) -> GotOcr2ForConditionalGeneration:
    """A random GOT-OCR-2.0-hf model sized for the tiny tokenizer, whose `<img>` is not 151857."""
    config = GotOcr2Config(
        vision_config=dict(
            hidden_size=32, output_channels=16, num_hidden_layers=2, num_attention_heads=2,
            image_size=256, mlp_dim=64, global_attn_indexes=[1],
        ),
        text_config=dict(
            model_type="qwen2", vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
            num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            tie_word_embeddings=True,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids(IMG_PAD),
    )  # fmt: skip
    generator = torch.Generator().manual_seed(0)
    model = GotOcr2ForConditionalGeneration(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
    return model.eval()


def write_hub_cache(hub_cache: Path, repo_id: str, files: Path, commit: str) -> Path:
    """`files` laid out as huggingface_hub lays out a download: content-addressed blobs,
    a snapshot folder of relative symlinks per commit, and refs/main naming the commit."""
    repo = hub_cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    for path in sorted(p for p in files.rglob("*") if p.is_file()):
        data = path.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snapshot / path.relative_to(files)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(TOKENIZER_DIR)


@pytest.fixture(scope="module")
def hf_home(tmp_path_factory, tokenizer) -> Path:
    """An HF_HOME whose hub cache holds REPO_ID: GOT-hf weights, config and tokenizer files."""
    from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import (
        GotOcr2ImageProcessorPil,
    )

    files = tmp_path_factory.mktemp("download")
    tiny_got_hf(tokenizer).save_pretrained(files)
    tokenizer.save_pretrained(files)
    GotOcr2ImageProcessorPil(size={"height": 256, "width": 256}).save_pretrained(files)
    home = tmp_path_factory.mktemp("hf_home")
    write_hub_cache(home / "hub", REPO_ID, files, COMMIT)
    return home


@pytest.fixture
def offline_cache(hf_home: Path, monkeypatch) -> Path:
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return hf_home / "hub"


def page() -> Image.Image:
    image = Image.new("RGB", (300, 400), "white")
    ImageDraw.Draw(image).text((20, 40), "Invoice 42", fill="black")
    return image


def test_the_cache_is_what_huggingface_hub_itself_reads(hf_home: Path) -> None:
    [repo] = scan_cache_dir(hf_home / "hub").repos
    assert repo.repo_id == REPO_ID and repo.refs["main"].commit_hash == COMMIT
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {
        file.file_name for file in repo.refs["main"].files
    }


def test_hub_id_resolves_offline_to_its_cached_snapshot(offline_cache: Path) -> None:
    assert is_hub_id(REPO_ID) and not is_hub_id(str(SAMPLES)) and not is_hub_id("./a/b")
    snapshot = resolve_checkpoint(REPO_ID)
    assert snapshot == offline_cache / f"models--{REPO_ID.replace('/', '--')}/snapshots/{COMMIT}"


def test_offline_and_not_cached_is_one_clear_line(offline_cache: Path) -> None:
    with pytest.raises(ModelNotFoundError) as raised:
        load_runtime("nobody/not-downloaded")
    message = str(raised.value)
    assert "\n" not in message and "HF_HUB_OFFLINE=1" in message
    assert "'nobody/not-downloaded'" in message and str(offline_cache) in message


def test_got_hf_from_the_hub_generates_what_transformers_gotocr2_generates(
    offline_cache: Path, tokenizer
) -> None:
    runtime = load_runtime(REPO_ID, device="cpu")
    # GOT-hf configs name only <imgpad>; <img> and </img> come from this tokenizer.
    config = runtime.model.config
    assert config.image_start_token_id == tokenizer.convert_tokens_to_ids(IMG_START) != 151857
    assert config.image_end_token_id == tokenizer.convert_tokens_to_ids(IMG_END)
    inputs = runtime.processor([page(), page().rotate(90, expand=True)])
    [ours, ours_rotated] = runtime.generate(inputs, max_new_tokens=24)

    oracle = GotOcr2ForConditionalGeneration.from_pretrained(runtime.source).eval()
    reference = {k: v for k, v in inputs.items() if k != "num_views"}
    end_id = runtime.processor.end_token_id
    output = oracle.generate(
        **reference, max_new_tokens=24, do_sample=False, no_repeat_ngram_size=20,
        eos_token_id=end_id, pad_token_id=tokenizer.pad_token_id,
        return_dict_in_generate=True, output_scores=True,
    )  # fmt: skip
    prompt_length = inputs["input_ids"].shape[1]
    for row, generation in enumerate([ours, ours_rotated]):
        expected = output.sequences[row, prompt_length:].tolist()
        if end_id in expected:
            expected = expected[: expected.index(end_id)]
        expected = [t for t in expected if t != tokenizer.pad_token_id]
        assert list(generation.token_ids) == expected and len(expected) > 0
        # Per-token confidences: the log-probability of each chosen token.
        log_probs = torch.stack(output.scores, dim=1)[row].log_softmax(-1)
        chosen = log_probs[torch.arange(len(expected)), torch.tensor(expected)]
        torch.testing.assert_close(
            torch.tensor(generation.token_log_probs), chosen, atol=1e-4, rtol=0
        )


def test_cli_parses_a_pdf_with_a_hub_id_offline(hf_home: Path) -> None:
    environment = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    environment.pop("HF_HUB_CACHE", None)
    command = [sys.executable, "-m", "docvlm.cli", "parse", str(SAMPLES / "report.pdf")]
    command += ["--engine", "vlm", "--pages", "1", "--max-new-tokens", "8"]
    found = subprocess.run(
        [*command, "--model", REPO_ID], capture_output=True, text=True, timeout=180,
        env=environment,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert "error" not in found.stderr.lower()
    missing = subprocess.run(
        [*command, "--model", "nobody/not-downloaded"], capture_output=True, text=True,
        timeout=180, env=environment,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "HF_HUB_OFFLINE=1" in missing.stderr and "Traceback" not in missing.stderr
