"""DocVLMImageProcessor / DocVLMProcessor: views, normalization, prompt layout, batching."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image
from transformers import AutoTokenizer
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
from transformers.models.got_ocr2.image_processing_pil_got_ocr2 import GotOcr2ImageProcessorPil

from docvlm.errors import CheckpointError, DocVLMError
from docvlm.model.processing_docvlm import (
    SAM_NORMALIZATION,
    SYSTEM_PROMPT,
    TOKENIZER_DIR,
    DocVLMImageProcessor,
    DocVLMProcessor,
    build_query,
)

SIZE = 64  # SAM view side for the tests; the real presets use 1024
TOKENS = 4  # <imgpad> per view


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))


def tiny_config(clip_size: int | None = 32) -> SimpleNamespace:
    """The fields a processor reads from a DocVLMConfig, with the tiny tokenizer's ids."""
    return SimpleNamespace(
        vision_config=SimpleNamespace(image_size=SIZE),
        clip_config=SimpleNamespace(image_size=clip_size) if clip_size else None,
        num_image_tokens=TOKENS,
        image_token_id=261,
        image_start_token_id=259,
        image_end_token_id=260,
    )


@pytest.fixture(scope="module")
def processor() -> DocVLMProcessor:
    return DocVLMProcessor.from_config(tiny_config())


@pytest.mark.parametrize(
    ("width", "height", "max_tiles"),
    [(300, 700, 6), (900, 200, 6), (256, 256, 6), (500, 330, 12), (64, 640, 3), (90, 100, 2)],
)
def test_multi_crop_equals_transformers_got_ocr2(width: int, height: int, max_tiles: int) -> None:
    image = noise(width, height)
    # torchvision is not installed here, so transformers' GotOcr2 processor is its PIL variant.
    reference = GotOcr2ImageProcessorPil(
        size={"height": SIZE, "width": SIZE}, crop_to_patches=True, max_patches=max_tiles
    )(image, return_tensors="pt")
    ours = DocVLMImageProcessor(
        size={"height": SIZE, "width": SIZE}, crop_to_patches=True, max_patches=max_tiles
    )(image, return_tensors="pt")
    assert ours["num_views"].tolist() == reference["num_patches"].tolist()
    torch.testing.assert_close(ours["pixel_values"], reference["pixel_values"], rtol=0, atol=0)


def test_tall_page_is_tiled_row_major_with_thumbnail_last() -> None:
    # Left half black, right half white: a 2-column grid puts black tiles first in each row.
    image = Image.new("RGB", (200, 300), "white")
    image.paste((0, 0, 0), (0, 0, 100, 300))
    views = DocVLMImageProcessor(
        size={"height": SIZE, "width": SIZE}, crop_to_patches=True, max_patches=6
    )(image, return_tensors="pt")["pixel_values"]
    means = views.mean(dim=(1, 2, 3))
    assert len(views) == 7  # 2 columns × 3 rows + thumbnail
    assert all(means[i] < means[i + 1] for i in (0, 2, 4))  # black then white, row by row
    assert means[0] < means[6] < means[1]  # thumbnail holds both halves


def test_single_view_matches_got_resize_and_clip_normalization() -> None:
    image = noise(333, 517, seed=1)
    reference = GotOcr2ImageProcessorPil(size={"height": SIZE, "width": SIZE})(
        image, return_tensors="pt"
    )
    ours = DocVLMImageProcessor(size={"height": SIZE, "width": SIZE})(image, return_tensors="pt")
    assert ours["num_views"].tolist() == [1]
    torch.testing.assert_close(ours["pixel_values"], reference["pixel_values"], rtol=0, atol=0)


@pytest.mark.parametrize("preset", ["got-ocr2", "vary-toy", "vary-base"])
def test_sam_view_normalization_per_preset(preset: str) -> None:
    mean, std = SAM_NORMALIZATION[preset]
    color = (200, 100, 50)
    processor = DocVLMProcessor.from_config(tiny_config(), normalization=(mean, std))
    pixels = processor.image_processor(Image.new("RGB", (80, 120), color), return_tensors="pt")
    expected = [(c / 255 - m) / s for c, m, s in zip(color, mean, std, strict=True)]
    per_channel = pixels["pixel_values"][0].mean(dim=(1, 2))
    torch.testing.assert_close(per_channel, torch.tensor(expected), rtol=0, atol=1e-5)
    if preset == "vary-base":
        assert mean[0] == pytest.approx(0.485)  # ImageNet statistics, not CLIP's


def test_clip_view_equals_clip_image_processor() -> None:
    image = noise(120, 90, seed=2)
    reference = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size=32)(
        image, return_tensors="pt"
    )
    ours = DocVLMImageProcessor(size={"height": SIZE, "width": SIZE}, clip_size=32)(
        image, return_tensors="pt"
    )
    assert ours["clip_pixel_values"].shape == (1, 3, 32, 32)
    torch.testing.assert_close(ours["clip_pixel_values"], reference["pixel_values"])


def test_every_view_gets_a_clip_view(processor: DocVLMProcessor) -> None:
    inputs = processor([noise(100, 300)], crop=True, max_tiles=3)
    assert inputs["pixel_values"].shape == (4, 3, SIZE, SIZE)
    assert inputs["clip_pixel_values"].shape == (4, 3, 32, 32)
    assert inputs["num_views"].tolist() == [4]


def test_prompt_layout_single_view(processor: DocVLMProcessor) -> None:
    inputs = processor([noise(100, 140)])
    ids = inputs["input_ids"][0].tolist()
    assert ids.count(259) == 1 and ids.count(260) == 1
    start, end = ids.index(259), ids.index(260)
    assert ids[start + 1 : end] == [261] * TOKENS
    text = processor.tokenizer.decode(ids)
    expected = (
        f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|><|im_start|>user\n"
        f"<img>{'<imgpad>' * TOKENS}</img>\nOCR: <|im_end|><|im_start|>assistant\n"
    )
    assert text == expected


def test_empty_system_prompt_drops_the_system_turn_and_survives_saving(tmp_path) -> None:
    processor = DocVLMProcessor.from_config(tiny_config(), system_prompt="")
    text = processor.tokenizer.decode(processor([noise(100, 140)])["input_ids"][0])
    assert text == (
        f"<|im_start|>user\n<img>{'<imgpad>' * TOKENS}</img>\nOCR: <|im_end|>"
        "<|im_start|>assistant\n"
    )
    processor.save_pretrained(tmp_path)
    assert DocVLMProcessor.from_pretrained(tmp_path).system_prompt == ""
    # Folders saved before the setting existed keep GOT's system turn.
    config_file = tmp_path / "processor_config.json"
    config_file.write_text(config_file.read_text().replace('"system_prompt": ""', '"x": 0'))
    assert DocVLMProcessor.from_pretrained(tmp_path).system_prompt == SYSTEM_PROMPT


def test_prompt_layout_multi_crop_wraps_all_views_in_one_image_slot(
    processor: DocVLMProcessor,
) -> None:
    inputs = processor([noise(100, 300)], task="format", crop=True, max_tiles=3)
    ids = inputs["input_ids"][0].tolist()
    views = int(inputs["num_views"][0])
    start, end = ids.index(259), ids.index(260)
    # GOT's crop mode: one <img> … </img> holding num_image_tokens pads per view.
    assert ids[start + 1 : end] == [261] * (TOKENS * views)
    assert processor.tokenizer.decode(ids[end + 1 :]).startswith(
        "\nOCR with format upon the patch reference: <|im_end|>"
    )


def test_queries_match_got() -> None:
    assert build_query("ocr") == "OCR: "
    assert build_query("format") == "OCR with format: "
    assert build_query("ocr", box=[10, 20, 300, 400]) == "[10, 20, 300, 400] OCR: "
    assert build_query("format", color="red") == "[red] OCR with format: "
    with pytest.raises(DocVLMError, match="unknown task"):
        build_query("translate")


def test_box_is_given_in_pixels_and_sent_in_0_to_1000(processor: DocVLMProcessor) -> None:
    inputs = processor([noise(200, 400)], boxes=[(50, 100, 150, 300)], colors=["green"])
    text = processor.tokenizer.decode(inputs["input_ids"][0])
    assert "</img>\n[green] [250, 250, 750, 750] OCR: <|im_end|>" in text


def test_batch_is_left_padded_and_each_row_equals_its_single_run(
    processor: DocVLMProcessor,
) -> None:
    short, tall = noise(100, 100), noise(100, 300, seed=3)
    batch = processor([short, tall], crop=True, max_tiles=3)
    ids, mask = batch["input_ids"], batch["attention_mask"]
    assert batch["num_views"].tolist() == [1, 4]
    padding = int((mask[0] == 0).sum())
    assert padding == TOKENS * 3  # three more views in the tall page
    assert mask[0, :padding].eq(0).all() and mask[0, padding:].eq(1).all()
    assert ids[0, :padding].eq(processor.tokenizer.pad_token_id).all()
    assert ids[:, -1].eq(ids[0, -1]).all()  # every prompt ends at the same position
    for row, image in enumerate([short, tall]):
        single = processor([image], crop=True, max_tiles=3)["input_ids"][0]
        assert ids[row][mask[row].bool()].tolist() == single.tolist()
    singles = [processor([im], crop=True, max_tiles=3)["pixel_values"] for im in (short, tall)]
    torch.testing.assert_close(batch["pixel_values"], torch.cat(singles))


def test_batch_decode_strips_prompt_and_stops_at_im_end(processor: DocVLMProcessor) -> None:
    tokenizer = processor.tokenizer
    prompt = processor([noise(64, 64)])["input_ids"]
    answers = ["# Title\n\nSome text.<|im_end|>ignored", "Line one\nLine two"]
    new = tokenizer(answers, padding=True, padding_side="right", return_tensors="pt")["input_ids"]
    sequences = torch.cat([prompt.repeat(2, 1), new], dim=1)
    texts = processor.batch_decode(sequences, prompt_length=prompt.shape[1])
    assert texts == ["# Title\n\nSome text.", "Line one\nLine two"]


def test_save_and_load_round_trip(tmp_path) -> None:
    processor = DocVLMProcessor.from_config(
        tiny_config(), normalization=SAM_NORMALIZATION["vary-base"], max_tiles=9
    )
    processor.save_pretrained(tmp_path)
    loaded = DocVLMProcessor.from_pretrained(tmp_path)
    image = noise(150, 420, seed=4)
    for kwargs in ({}, {"crop": True}):
        a, b = processor([image], **kwargs), loaded([image], **kwargs)
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert loaded.image_processor.max_patches == 9
    assert loaded.num_image_tokens == TOKENS


def test_tokenizer_mismatch_with_config_is_a_checkpoint_error() -> None:
    config = tiny_config()
    config.image_token_id = 151859
    with pytest.raises(CheckpointError, match="<imgpad>"):
        DocVLMProcessor.from_config(config)


def test_tiny_tokenizer_round_trips_text_and_has_fixed_special_ids() -> None:
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<imgpad>"]
    assert tokenizer.convert_tokens_to_ids(specials) == list(range(256, 262))
    text = "Résumé: 42 × 3 — 中文 | a |\n\ttab"
    ids = tokenizer(text)["input_ids"]
    assert max(ids) < 256 and tokenizer.decode(ids) == text
    assert tokenizer.pad_token == "<|endoftext|>" and tokenizer.eos_token == "<|im_end|>"


def test_auto_processor_loads_a_docvlm_folder(tmp_path) -> None:
    from transformers import AutoImageProcessor, AutoProcessor

    from docvlm.model import DocVLMConfig

    DocVLMConfig.from_preset("tiny").save_pretrained(tmp_path)
    DocVLMProcessor.from_config(tiny_config()).save_pretrained(tmp_path)
    assert isinstance(AutoProcessor.from_pretrained(tmp_path), DocVLMProcessor)
    image_processor = AutoImageProcessor.from_pretrained(tmp_path)
    assert type(image_processor).__name__ == "DocVLMImageProcessor"
