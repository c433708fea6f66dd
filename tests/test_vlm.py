"""The `vlm` engine and the repetition guard, on tiny models built (and briefly trained) here."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from transformers import AutoTokenizer, StoppingCriteriaList

from docvlm.document import Block, BlockType
from docvlm.engines.vlm import DEGENERATE, VLMEngine
from docvlm.errors import CheckpointError, ModelNotFoundError
from docvlm.model import DocVLMConfig, DocVLMForConditionalGeneration
from docvlm.model.generation import NoRepeatNGram, RepetitionGuard, newline_token_ids
from docvlm.model.processing_docvlm import TOKENIZER_DIR, DocVLMProcessor
from docvlm.pipeline import Parser
from docvlm.sources import open_source

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
REPORT_TEXT = "# Annual Report\n\nHello from the tiny model."
RESULTS_TEXT = "## Results\n\n| Year | Pages |\n|---|---|\n| 2024 | 12 |"
LOOP_LINE = "Stuck x\n"  # every character distinct, so "next char" is a permutation


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # Tiny matmuls on a shared CPU: extra threads only contend (1 thread is ~30× faster here).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_config() -> DocVLMConfig:
    """The tiny preset wired to the committed tiny tokenizer's ids."""
    config = DocVLMConfig.from_preset(
        "tiny", image_start_token_id=259, image_end_token_id=260, image_token_id=261
    )
    config.text_config.vocab_size = len(AutoTokenizer.from_pretrained(TOKENIZER_DIR))
    return config


def light_page() -> Image.Image:
    image = Image.new("RGB", (612, 792), "white")
    ImageDraw.Draw(image).rectangle((50, 50, 560, 120), fill="black")
    return image


def dark_page() -> Image.Image:
    return Image.new("RGB", (612, 792), (20, 20, 60))


def without_confidence(pages: list[list[Block]]) -> list[list[dict]]:
    return [[block.model_dump(exclude={"confidence"}) for block in page] for page in pages]


def confidences(pages: list[list[Block]]) -> list[float | None]:
    return [block.confidence for page in pages for block in page]


def save_checkpoint(model: DocVLMForConditionalGeneration, directory: Path) -> Path:
    model.save_pretrained(directory)
    DocVLMProcessor.from_config(model.config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def reader_dir(tmp_path_factory) -> Path:
    """A tiny model trained to write REPORT_TEXT for light pages and RESULTS_TEXT for dark ones."""
    config = tiny_config()
    torch.manual_seed(0)
    model = DocVLMForConditionalGeneration(config)
    processor = DocVLMProcessor.from_config(config)
    inputs = processor([light_page(), dark_page()])
    inputs.pop("num_views")
    prompt_length = inputs["input_ids"].shape[1]
    targets = processor.tokenizer(
        [REPORT_TEXT + "<|im_end|>", RESULTS_TEXT + "<|im_end|>"],
        padding=True,
        padding_side="right",
        return_tensors="pt",
    )
    input_ids = torch.cat([inputs["input_ids"], targets["input_ids"]], dim=1)
    mask = torch.cat([inputs["attention_mask"], targets["attention_mask"]], dim=1)
    labels = input_ids.masked_fill(mask == 0, -100)
    labels[:, :prompt_length] = -100
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(60):
        loss = model(
            input_ids=input_ids,
            attention_mask=mask,
            pixel_values=inputs["pixel_values"],
            clip_pixel_values=inputs["clip_pixel_values"],
            labels=labels,
        ).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return save_checkpoint(model.eval(), tmp_path_factory.mktemp("reader"))


def looping_model() -> DocVLMForConditionalGeneration:
    """A tiny model that writes LOOP_LINE forever: the LM only sees the last token's embedding
    (all blocks' output projections zeroed) and its head maps each character to the next."""
    config = tiny_config()
    config.text_config.tie_word_embeddings = config.tie_word_embeddings = False
    torch.manual_seed(0)
    model = DocVLMForConditionalGeneration(config).eval()
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    cycle = tokenizer(LOOP_LINE)["input_ids"]
    embeddings = model.get_input_embeddings().weight
    with torch.no_grad():
        for layer in model.model.language_model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        head = torch.randn_like(embeddings) * 0.02
        for current, following in zip(cycle, cycle[1:] + cycle[:1], strict=True):
            head[following] = embeddings[current] * 10
        model.lm_head.weight.copy_(head)
    return model


@pytest.fixture(scope="module")
def loop_dir(tmp_path_factory) -> Path:
    return save_checkpoint(looping_model(), tmp_path_factory.mktemp("loop"))


@pytest.fixture(scope="module")
def image_pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    pages = []
    for name, image in [("light", light_page()), ("dark", dark_page()), ("light2", light_page())]:
        image.save(folder / f"{name}.png")
        pages.append(open_source(folder / f"{name}.png").page(1))
    return pages


def test_parses_a_report_page_into_blocks(reader_dir: Path) -> None:
    engine = VLMEngine(reader_dir, max_new_tokens=64)
    with open_source(SAMPLES / "report.pdf") as source:
        blocks = engine.parse(source.page(1))
    assert [(b.type, b.text) for b in blocks] == [
        (BlockType.HEADING, "Annual Report"),
        (BlockType.PARAGRAPH, "Hello from the tiny model."),
    ]
    assert all(b.engine == "vlm" and b.page == 1 and not b.flags for b in blocks)


def test_markdown_tables_become_table_blocks(reader_dir: Path, image_pages) -> None:
    blocks = VLMEngine(reader_dir, max_new_tokens=64).parse(image_pages[1])
    assert [b.type for b in blocks] == [BlockType.HEADING, BlockType.TABLE]
    assert blocks[1].table.rows() == [["Year", "Pages"], ["2024", "12"]]


@pytest.mark.parametrize("crop", [False, True])
def test_batch_equals_single_page_runs(reader_dir: Path, image_pages, crop: bool) -> None:
    engine = VLMEngine(reader_dir, max_new_tokens=64, batch_size=3, crop=crop, max_tiles=4)
    batched = engine.parse_batch(image_pages)
    singles = [engine.parse(page) for page in image_pages]
    assert without_confidence(batched) == without_confidence(singles)
    # Padding changes the float sums slightly, never the chosen tokens.
    assert confidences(batched) == pytest.approx(confidences(singles), rel=1e-5)
    if not crop:
        texts = [b[0].text for b in batched]
        assert texts == ["Annual Report", "Results", "Annual Report"]


def test_batch_size_splits_without_changing_results(reader_dir: Path, image_pages) -> None:
    images = [page.render() for page in image_pages]
    whole = VLMEngine(reader_dir, max_new_tokens=64, batch_size=3).generate(images)
    split = VLMEngine(reader_dir, max_new_tokens=64, batch_size=2).generate(images)
    assert [replace(g, confidence=None) for g in whole] == [
        replace(g, confidence=None) for g in split
    ]
    assert [g.confidence for g in whole] == pytest.approx([g.confidence for g in split], rel=1e-5)
    assert [g.text for g in whole] == [REPORT_TEXT, RESULTS_TEXT, REPORT_TEXT]
    assert not any(g.truncated or g.degenerate for g in whole)


def test_running_out_of_tokens_flags_truncated(reader_dir: Path, image_pages) -> None:
    blocks = VLMEngine(reader_dir, max_new_tokens=8).parse(image_pages[0])
    assert blocks and all("truncated" in b.flags for b in blocks)


def test_guard_stops_a_looping_model_long_before_max_new_tokens() -> None:
    model = looping_model()
    processor = DocVLMProcessor.from_config(model.config)
    inputs = processor([light_page(), dark_page()])
    inputs.pop("num_views")
    prompt_length = inputs["input_ids"].shape[1]
    guard = RepetitionGuard(prompt_length, newline_token_ids(processor.tokenizer))
    with torch.inference_mode():
        sequences = model.generate(
            **inputs,
            max_new_tokens=1000,
            do_sample=False,
            pad_token_id=processor.tokenizer.pad_token_id,
            stopping_criteria=StoppingCriteriaList([guard]),
        )
    assert guard.looped.tolist() == [True, True]
    assert sequences.shape[1] - prompt_length < 200
    assert processor.batch_decode(sequences, prompt_length)[0].startswith(LOOP_LINE * 4)


@pytest.mark.parametrize("crop", [False, True])
def test_looping_page_is_cut_and_every_block_flagged_degenerate(
    loop_dir: Path, image_pages, crop: bool
) -> None:
    # Without crop GOT's no-repeat-20-gram rule garbles the loop; the line rule still sees it.
    engine = VLMEngine(loop_dir, max_new_tokens=1000, crop=crop, max_tiles=2)
    [generation] = engine.generate([image_pages[0].render()])
    assert generation.degenerate and not generation.truncated
    assert len(generation.text) < 400
    blocks = engine.parse(image_pages[0])
    assert blocks and all(DEGENERATE in b.flags for b in blocks)


def test_guard_leaves_real_page_text_alone() -> None:
    tokenizer = AutoTokenizer.from_pretrained(TOKENIZER_DIR)
    guard = RepetitionGuard(0, newline_token_ids(tokenizer))
    table = "| Item | Qty | Price |\n|---|---|---|\n" + "".join(
        f"| Widget {i} | {i % 7 + 1} | {i * 3.75:.2f} |\n" for i in range(60)
    )
    contents = "".join(
        f"{i}. Chapter {i} {'.' * (40 - len(str(i)))} {i * 7}\n" for i in range(1, 40)
    )
    latex = "\\begin{tabular}{|l|r|}\n\\hline\n" + "".join(
        f"Row {i} & {i * i} \\\\\n\\hline\n" for i in range(40)
    )
    pages = [(SAMPLES / "expected" / "report.md").read_text(), table, contents, latex]
    for text in pages:
        ids = np.array(tokenizer(text)["input_ids"])
        assert not any(guard.is_looping(ids[:end]) for end in range(8, len(ids) + 1, 4))


def test_auto_mode_falls_back_when_the_model_loops(loop_dir: Path) -> None:
    parser = Parser("auto", model=loop_dir, max_new_tokens=600)
    page = parser.parse(SAMPLES / "report_scanned.pdf", pages=[1]).pages[0]
    assert page.status == "fallback" and page.engine == "ocr"
    assert "degenerate" in page.reason
    assert page.blocks and not any(DEGENERATE in b.flags for b in page.blocks)


def test_missing_model_folder_says_how_to_point_model_at_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="--model"):
        VLMEngine(tmp_path / "nowhere")
    (tmp_path / "config.json").write_text('{"model_type": "docvlm"}')
    with pytest.raises(ModelNotFoundError, match="no weights"):
        VLMEngine(tmp_path)


def test_original_got_checkpoint_asks_for_conversion(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"model_type": "GOT"}')
    (tmp_path / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="docvlm convert --from got"):
        VLMEngine(tmp_path)


def test_checkpoint_without_processor_files_uses_its_tokenizer(
    reader_dir: Path, tmp_path: Path, image_pages
) -> None:
    # A GOT-OCR-2.0-hf style folder: config, weights and tokenizer, no DocVLMProcessor config.
    model = DocVLMForConditionalGeneration.from_pretrained(reader_dir)
    model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(reader_dir).save_pretrained(tmp_path)
    engine = VLMEngine(tmp_path, max_new_tokens=64)
    assert engine.parse(image_pages[1])[0].text == "Results"


def test_cli_parses_a_pdf_with_the_vlm_engine(reader_dir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "docvlm.cli", "parse", "--engine", "vlm", "--model", reader_dir]
        + ["--max-new-tokens", "64", "--pages", "1", SAMPLES / "report.pdf"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# Annual Report\n\nHello from the tiny model.")


def test_lora_adapter_changes_what_the_engine_writes(
    reader_dir: Path, tmp_path: Path, image_pages
) -> None:
    from peft import LoraConfig, get_peft_model

    model = DocVLMForConditionalGeneration.from_pretrained(reader_dir)
    processor = DocVLMProcessor.from_pretrained(reader_dir)
    lora = get_peft_model(model, LoraConfig(r=8, target_modules=["q_proj", "v_proj", "o_proj"]))
    inputs = processor([light_page()])
    inputs.pop("num_views")
    target = processor.tokenizer("Adapted.<|im_end|>", return_tensors="pt")["input_ids"]
    input_ids = torch.cat([inputs["input_ids"], target], dim=1)
    labels = input_ids.clone()
    labels[:, : inputs["input_ids"].shape[1]] = -100
    optimizer = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=1e-2)
    lora.train()
    for _ in range(40):
        loss = lora(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            pixel_values=inputs["pixel_values"],
            clip_pixel_values=inputs["clip_pixel_values"],
            labels=labels,
        ).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    lora.save_pretrained(tmp_path / "adapter")

    engine = VLMEngine(reader_dir, adapter=tmp_path / "adapter", max_new_tokens=32)
    assert [b.text for b in engine.parse(image_pages[0])] == ["Adapted."]
    with pytest.raises(ModelNotFoundError, match="adapter_config.json"):
        VLMEngine(reader_dir, adapter=tmp_path / "missing")


@pytest.mark.parametrize("quantize", ["8bit", "4bit"])
def test_quantized_llm_keeps_towers_in_full_precision(
    reader_dir: Path, image_pages, quantize: str
) -> None:
    import bitsandbytes as bnb

    engine = VLMEngine(reader_dir, quantize=quantize, max_new_tokens=64)
    q_proj = engine.model.model.language_model.layers[0].self_attn.q_proj
    assert isinstance(q_proj, bnb.nn.Linear8bitLt if quantize == "8bit" else bnb.nn.Linear4bit)
    projector = engine.model.model.clip_projector
    assert type(projector) is torch.nn.Linear and projector.weight.dtype == torch.float32
    assert engine.parse(image_pages[0])[0].text == "Annual Report"


@pytest.mark.parametrize("ngram_size", [2, 3, 20])
def test_incremental_no_repeat_ngram_bans_exactly_what_transformers_bans(ngram_size: int) -> None:
    from transformers.generation.logits_process import NoRepeatNGramLogitsProcessor

    generator = torch.Generator().manual_seed(ngram_size)
    # A 3-token alphabet and a copied stretch make n-grams recur, so there is a lot to ban.
    input_ids = torch.randint(0, 3, (3, 150), generator=generator)
    input_ids[1, 40:] = input_ids[1, :110].clone()
    ours, reference = NoRepeatNGram(ngram_size), NoRepeatNGramLogitsProcessor(ngram_size)
    banned = 0
    for length in range(2, input_ids.shape[1] + 1):
        scores = torch.randn(3, 5, generator=generator)
        expected = reference(input_ids[:, :length], scores)
        torch.testing.assert_close(ours(input_ids[:, :length], scores), expected, rtol=0, atol=0)
        banned += int(expected.isinf().sum())
    assert banned >= 20


def test_crop_mode_renders_enough_pixels_for_every_tile(reader_dir: Path, tmp_path: Path) -> None:
    import pymupdf

    document = pymupdf.open()
    document.new_page(width=200, height=1000).insert_text((20, 40), "A tall receipt")
    document.save(tmp_path / "tall.pdf")
    engine = VLMEngine(reader_dir, max_new_tokens=4, crop=True, max_tiles=6)
    with open_source(tmp_path / "tall.pdf") as source:
        image = engine.page_image(source.page(1))
    # 1 column × 5 rows of 256 px tiles: rendered 1280 px tall, not the source's 1024.
    assert image.size == (256, 1280)
    assert engine.generate([image])[0].num_views == 6


def test_confidence_separates_a_sure_model_from_a_guessing_one(
    reader_dir: Path, tmp_path: Path, image_pages
) -> None:
    sure = VLMEngine(reader_dir, max_new_tokens=64).parse(image_pages[0])
    torch.manual_seed(1)
    guessing_dir = save_checkpoint(DocVLMForConditionalGeneration(tiny_config()), tmp_path)
    guessing = VLMEngine(guessing_dir, max_new_tokens=64, crop=True).generate(
        [image_pages[0].render()]
    )[0]
    assert all(b.confidence is not None and b.confidence > 0.5 for b in sure)
    assert guessing.confidence is not None and guessing.confidence < 0.1
