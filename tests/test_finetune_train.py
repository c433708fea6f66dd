"""Training: loss falls for full / LoRA / QLoRA, adapters reload exactly, merge, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from docvlm.errors import CheckpointError, DocVLMError, ModelNotFoundError
from docvlm.finetune.data import Collator, encode_example
from docvlm.finetune.manifest import Example, read_manifest, write_manifest
from docvlm.finetune.modeling import merge_adapter, new_model, resize_vision
from docvlm.finetune.train import CARD, TrainConfig, train
from docvlm.model.configuration_docvlm import PRESETS
from docvlm.model.runtime import load_runtime

WORDS = ["alpha 12", "beta 345"]


def small_overrides() -> dict:
    """The tiny preset at 128 px (4 visual tokens per view) so each step takes milliseconds."""
    tiny = PRESETS["tiny"]()
    return {
        "vision_config": {**tiny["vision_config"], "image_size": 128},
        "clip_config": {**tiny["clip_config"], "image_size": 28},
    }


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Two shared cores: oversubscribed intra-op threads make tiny models several times slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("data")
    examples = []
    for index, word in enumerate(WORDS):
        image = Image.new("RGB", (160, 80), "white")
        ImageDraw.Draw(image).text((10, 30), word, fill="black")
        image.save(folder / f"{index}.png")
        target = word if index == 0 else {"word": word.split()[0], "number": word.split()[1]}
        examples.append(Example(target=target, image=folder / f"{index}.png"))
    return write_manifest(examples, folder / "train.jsonl")


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    model, processor = new_model("tiny", **small_overrides())
    folder = tmp_path_factory.mktemp("base")
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def config(manifest: Path, out: Path, **options) -> TrainConfig:
    defaults = dict(batch_size=2, log_steps=1, progress=False, render_size=128, max_length=512)
    return TrainConfig(train=manifest, out=out, **{**defaults, **options})


def batch_of(model_dir: Path, manifest_examples: list[Example]) -> dict[str, torch.Tensor]:
    processor = load_runtime(model_dir).processor
    features = [
        encode_example(processor, e.load_image(128), e.query, e.target_text)
        for e in manifest_examples
    ]
    return Collator(processor.tokenizer.pad_token_id)(features)


@pytest.mark.parametrize(
    ("mode", "lr"), [("full", 3e-3), ("lora", 5e-2), ("qlora", 5e-2)]
)  # fmt: skip
def test_loss_decreases_over_20_steps(
    mode: str, lr: float, manifest: Path, base_dir: Path, tmp_path: Path
) -> None:
    result = train(config(manifest, tmp_path, model=base_dir, mode=mode, lr=lr, max_steps=20))
    losses = [record["loss"] for record in result.history]
    assert result.steps == 20 and len(losses) == 20
    # Adapters on a random base move the loss less than full training; both must clearly fall.
    assert losses[-1] < (0.7 if mode == "full" else 0.95) * losses[0]
    assert losses[10] < losses[0]
    saved = {p.name for p in tmp_path.iterdir()}
    weights = "model.safetensors" if mode == "full" else "adapter_model.safetensors"
    assert {weights, "processor_config.json", CARD} <= saved
    card = json.loads((tmp_path / CARD).read_text())
    assert card["mode"] == mode and card["metrics"]["steps"] == 20
    assert len(card["data"]["train_sha256"]) == 64


def test_lora_adapter_reloads_to_same_logits_and_merges(
    manifest: Path, base_dir: Path, tmp_path: Path
) -> None:
    adapter = tmp_path / "adapter"
    result = train(config(manifest, adapter, model=base_dir, mode="lora", lr=2e-2, max_steps=5))
    batch = batch_of(base_dir, read_manifest(manifest))
    with torch.no_grad():
        in_memory = result.model(**batch).logits
        reloaded = load_runtime(base_dir, adapter=adapter).model
        from_disk = reloaded(**batch).logits
        base = load_runtime(base_dir).model
        untouched = base(**batch).logits
        merged_dir = merge_adapter(base_dir, adapter, tmp_path / "merged")
        merged = load_runtime(merged_dir).model
        merged_logits = merged(**batch).logits
    torch.testing.assert_close(from_disk, in_memory)
    assert not torch.allclose(untouched, in_memory, atol=1e-3)  # the adapter changed the model
    torch.testing.assert_close(merged_logits, from_disk, atol=1e-4, rtol=1e-4)
    assert not (merged_dir / "adapter_config.json").exists()


def test_resume_continues_step_count_and_loss_curve(manifest: Path, tmp_path: Path) -> None:
    options = dict(preset="tiny", preset_overrides=small_overrides(), lr=3e-3, save_steps=4)
    straight = train(config(manifest, tmp_path / "straight", max_steps=8, **options))
    interrupted = tmp_path / "resumed"
    # A run stopped after its step-4 checkpoint: the resumed run restarts from there.
    train(config(manifest, interrupted, max_steps=6, **options))
    resumed = train(config(manifest, interrupted, max_steps=8, resume=True, **options))
    assert resumed.steps == 8
    assert [r["step"] for r in resumed.history] == list(range(1, 9))
    straight_losses = [r["loss"] for r in straight.history]
    resumed_losses = [r["loss"] for r in resumed.history]
    assert resumed_losses == pytest.approx(straight_losses, rel=1e-4)


@pytest.fixture(scope="module")
def glyph_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from docvlm.finetune.builders import synth_text

    folder = tmp_path_factory.mktemp("glyphs")
    return synth_text(folder, 4, seed=1, size=(128, 128), lines=(1, 2), chars=(2, 5),
                      font_sizes=(14, 18), glyphs=True)  # fmt: skip


def test_glyph_loss_falls_and_resumes_with_its_head(glyph_manifest: Path, tmp_path: Path) -> None:
    options = dict(preset="tiny", preset_overrides=small_overrides(), lr=3e-3, glyph_weight=1.0)
    straight = train(config(glyph_manifest, tmp_path / "straight", max_steps=20, **options))
    glyph_losses = [record["glyph_loss"] for record in straight.history]
    assert len(glyph_losses) == 20 and glyph_losses[-1] < 0.7 * glyph_losses[0]
    interrupted = tmp_path / "resumed"
    train(config(glyph_manifest, interrupted, max_steps=12, save_steps=10, **options))
    resumed = train(config(glyph_manifest, interrupted, max_steps=20, resume=True, **options))
    # The head's weights and moments come back too, or the glyph loss would jump at step 11.
    assert [r["glyph_loss"] for r in resumed.history] == pytest.approx(glyph_losses, rel=1e-4)
    assert not any("glyph" in name for name in resumed.model.state_dict())  # not saved with it


def test_bad_options_are_typed_errors(manifest: Path, tmp_path: Path) -> None:
    with pytest.raises(DocVLMError, match="--model"):
        train(config(manifest, tmp_path, preset="tiny", mode="lora"))
    with pytest.raises(DocVLMError, match="exactly one"):
        train(config(manifest, tmp_path))
    with pytest.raises(ModelNotFoundError):
        train(config(manifest, tmp_path, model=tmp_path / "missing"))


def test_vlm_engine_with_adapter_generates_what_eval_generates(
    manifest: Path, base_dir: Path, tmp_path: Path
) -> None:
    from docvlm.engines.vlm import VLMEngine
    from docvlm.finetune.evaluate import predict

    adapter = tmp_path / "adapter"
    train(config(manifest, adapter, model=base_dir, mode="lora", lr=5e-2, max_steps=5))
    examples = [Example(target="", image=e.image) for e in read_manifest(manifest)]
    ours = predict(load_runtime(base_dir, adapter=adapter), examples, max_new_tokens=12,
                   render_size=128)  # fmt: skip
    engine = VLMEngine(base_dir, adapter=adapter, max_new_tokens=12, device="cpu", dtype="float32")
    theirs = [g.text for g in engine.generate([e.load_image(128) for e in examples])]
    assert theirs == ours and any(ours)


def test_freeze_keeps_encoders_fixed_with_gradient_checkpointing(
    manifest: Path, base_dir: Path, tmp_path: Path
) -> None:
    options = dict(model=base_dir, freeze=("vision", "projector"), gradient_checkpointing=True)
    result = train(config(manifest, tmp_path, lr=3e-3, max_steps=3, **options))
    base = load_runtime(base_dir).model
    before, after = dict(base.named_parameters()), dict(result.model.named_parameters())
    for name in ("model.vision_tower.patch_embed.projection.weight", "model.clip_projector.weight"):
        torch.testing.assert_close(after[name], before[name])
    llm = "model.language_model.layers.0.mlp.up_proj.weight"
    assert not torch.allclose(after[llm], before[llm])


def test_ctc_loss_is_low_when_visual_tokens_spell_the_target() -> None:
    from docvlm.finetune.train import CTCTargets

    blank, end, vocab = 0, 9, 10
    labels = torch.tensor([[-100, -100, 3, 4, 4, end]])  # target "3 4 4", then <|im_end|>
    spelled = [blank, 3, blank, 4, blank, 4, blank, blank]  # repeats need a blank between
    logits = torch.full((1, len(spelled), vocab), -20.0)
    logits[0, torch.arange(len(spelled)), torch.tensor(spelled)] = 20.0
    ctc = CTCTargets(end_token_id=end, blank_id=blank)
    assert ctc.loss(logits, labels) < 1e-3
    wrong = torch.full((1, len(spelled), vocab), -20.0)
    wrong[0, :, 5] = 20.0
    assert ctc.loss(wrong, labels) > 10


def test_resize_vision_carries_a_single_branch_model_to_a_larger_page(tmp_path: Path) -> None:
    torch.manual_seed(0)
    vision = {"vision_config": small_overrides()["vision_config"]}
    model, processor = new_model("tiny-got", system_prompt="", **vision)
    encoder = model.model.vision_tower
    with torch.no_grad():
        encoder.pos_embed.normal_()
        for layer in encoder.layers:
            layer.attn.rel_pos_h.normal_()
            layer.attn.rel_pos_w.normal_()
    image = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(image).text((20, 90), "resize me", fill="black")

    def logits(model, processor) -> torch.Tensor:
        with torch.no_grad():
            return model(**processor([image])).logits

    before = logits(model, processor)
    same = resize_vision(model, processor, 128)  # resampling onto the same grid changes nothing
    torch.testing.assert_close(logits(model, same), before, rtol=0, atol=1e-6)

    windowed, global_layer = encoder.layers  # the tiny preset: window 14, then one global layer
    window_table = windowed.attn.rel_pos_h.clone()
    bigger = resize_vision(model, processor, 256)
    assert encoder.pos_embed.shape[1:3] == (16, 16)
    assert global_layer.attn.rel_pos_h.shape[0] == 2 * 16 - 1
    torch.testing.assert_close(windowed.attn.rel_pos_h, window_table, rtol=0, atol=0)
    assert bigger.num_image_tokens == 16 and bigger.system_prompt == ""
    inputs = bigger([image])
    assert inputs["pixel_values"].shape[-1] == 256
    assert (inputs["input_ids"] == model.config.image_token_id).sum() == 16
    resized = logits(model, bigger)
    model.save_pretrained(tmp_path)
    bigger.save_pretrained(tmp_path)
    reloaded = load_runtime(tmp_path)
    torch.testing.assert_close(logits(reloaded.model, reloaded.processor), resized)

    with pytest.raises(CheckpointError, match="multiple of the patch"):
        resize_vision(model, bigger, 250)
    dual, dual_processor = new_model("tiny", **small_overrides())
    with pytest.raises(CheckpointError, match="CLIP"):
        resize_vision(dual, dual_processor, 256)


def test_tiled_positions_encode_each_block_of_a_page_like_a_crop() -> None:
    torch.manual_seed(0)
    vision = {**small_overrides()["vision_config"], "window_size": 8, "global_attn_indexes": []}
    model, processor = new_model("tiny-got", system_prompt="", vision_config=vision)
    encoder = model.model.vision_tower
    with torch.no_grad():
        encoder.pos_embed.normal_()
    captured: list[torch.Tensor] = []
    encoder.neck.register_forward_hook(lambda module, args, out: captured.append(args[0]))
    crops = torch.randn(4, 3, 128, 128)  # 8×8 patches: one window each
    with torch.no_grad():
        encoder(crops)
        resize_vision(model, processor, 256, positions="tile")
        page = torch.cat(
            [torch.cat([crops[0], crops[1]], -1), torch.cat([crops[2], crops[3]], -1)], -2
        )
        encoder(page[None])
    crop_states, page_states = captured  # (4, 8, 8, hidden) and (1, 16, 16, hidden)
    blocks = page_states[0].unflatten(0, (2, 8)).unflatten(2, (2, 8)).permute(0, 2, 1, 3, 4)
    torch.testing.assert_close(blocks.flatten(0, 1), crop_states, rtol=0, atol=1e-5)
    with pytest.raises(CheckpointError, match="multiple of 16"):
        resize_vision(model, processor, 384, positions="tile")


def test_crop_reader_moves_to_pages_without_a_system_turn(manifest: Path, tmp_path: Path) -> None:
    single = {"vision_config": small_overrides()["vision_config"]}
    crops = train(config(manifest, tmp_path / "crops", preset="tiny-got", preset_overrides=single,
                         system_turn=False, anchor_grid=0, max_steps=1))  # fmt: skip
    pages = train(config(manifest, tmp_path / "pages", model=crops.out, image_size=256,
                         max_steps=1))  # fmt: skip
    runtime = load_runtime(pages.out)
    model, processor = runtime.model, runtime.processor
    assert model.config.vision_config.image_size == 256
    assert model.model.vision_tower.pos_embed.shape[1:3] == (16, 16)
    assert processor.num_image_tokens == 16 and processor.system_prompt == ""
    assert processor.anchor_format == {"grid": 0}  # kept through the move to pages
    assert processor([Image.new("RGB", (90, 60))])["pixel_values"].shape[-1] == 256
    with pytest.raises(DocVLMError, match="--no-system-turn"):
        train(config(manifest, tmp_path / "x", model=crops.out, system_turn=False))
    with pytest.raises(DocVLMError, match="--anchor-grid"):
        train(config(manifest, tmp_path / "x", model=crops.out, join_anchor_lines=True))
