"""Manifests, loss masking, the collator, exports and the data engines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from docvlm.errors import DocVLMError
from docvlm.finetune.builders import from_pdfs, synth_forms, synth_text
from docvlm.finetune.data import (
    IGNORE_INDEX,
    Collator,
    ManifestDataset,
    encode_example,
    glyph_slot_labels,
)
from docvlm.finetune.export import export_manifest
from docvlm.finetune.manifest import (
    JSON_QUERY,
    Example,
    ManifestError,
    manifest_hash,
    read_manifest,
    write_manifest,
)
from docvlm.model.processing_docvlm import IM_END, SYSTEM_PROMPT, DocVLMProcessor

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


class TinyConfig:
    """What the processor reads from a model config: 128 px views, 4 tokens, tiny ids."""

    class vision_config:  # noqa: N801
        image_size = 128

    clip_config = None
    num_image_tokens = 4
    image_token_id = 261
    image_start_token_id = 259
    image_end_token_id = 260


@pytest.fixture(scope="module")
def processor() -> DocVLMProcessor:
    return DocVLMProcessor.from_config(TinyConfig(), max_tiles=4)


@pytest.fixture()
def page(tmp_path: Path) -> Path:
    path = tmp_path / "page.png"
    Image.new("RGB", (300, 120), "white").save(path)
    return path


def test_labels_mask_exactly_the_prompt_and_image_tokens(processor: DocVLMProcessor) -> None:
    image = Image.new("RGB", (300, 120), "white")
    encoded = encode_example(processor, image, "OCR: ", "Total: $12.50")
    ids, labels = encoded["input_ids"], encoded["labels"]
    tokenizer = processor.tokenizer
    prompt_length = int((labels == IGNORE_INDEX).sum())
    prompt = tokenizer.decode(ids[:prompt_length])
    assert prompt.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}")
    assert prompt.endswith("OCR: <|im_end|><|im_start|>assistant\n")
    # Masked positions are one contiguous prefix holding every image token.
    assert (labels[:prompt_length] == IGNORE_INDEX).all()
    assert (labels[prompt_length:] != IGNORE_INDEX).all()
    image_positions = ids == processor.image_token_id
    assert int(image_positions.sum()) == processor.num_image_tokens
    assert (labels[image_positions] == IGNORE_INDEX).all()
    assert tokenizer.decode(labels[prompt_length:]) == "Total: $12.50" + IM_END


def test_prompt_loss_labels_the_prompt_text_but_never_image_tokens(
    processor: DocVLMProcessor,
) -> None:
    image = Image.new("RGB", (300, 120), "white")
    anchors = "Name: Ada\nCode: 704"
    plain = encode_example(processor, image, JSON_QUERY, '{"name":"Ada"}', anchors=anchors)
    encoded = encode_example(
        processor, image, JSON_QUERY, '{"name":"Ada"}', anchors=anchors, prompt_loss=True
    )
    ids, labels = encoded["input_ids"], encoded["labels"]
    assert ids.tolist() == plain["input_ids"].tolist()
    image_ids = processor.tokenizer.convert_tokens_to_ids(["<img>", "<imgpad>", "</img>"])
    is_image = torch.isin(ids, torch.tensor(image_ids))
    assert int(is_image.sum()) == processor.num_image_tokens + 2
    assert (labels[is_image] == IGNORE_INDEX).all()
    assert (labels[~is_image] == ids[~is_image]).all()  # every text token, prompt and target
    targets = plain["labels"] != IGNORE_INDEX
    assert (labels[targets] == plain["labels"][targets]).all()


def test_multi_crop_examples_get_one_image_slot_per_view(processor: DocVLMProcessor) -> None:
    processor.image_processor.crop_to_patches = True
    try:
        encoded = encode_example(processor, Image.new("RGB", (400, 100)), "OCR: ", "x")
    finally:
        processor.image_processor.crop_to_patches = False
    views = encoded["num_views"]
    assert views > 1 and encoded["pixel_values"].shape[0] == views
    assert int((encoded["input_ids"] == processor.image_token_id).sum()) == 4 * views
    prompt = processor.tokenizer.decode(encoded["input_ids"][encoded["labels"] == IGNORE_INDEX])
    assert "OCR upon the patch reference: " in prompt  # the query GOT uses with tiles


def test_truncation_keeps_the_prompt(processor: DocVLMProcessor) -> None:
    image = Image.new("RGB", (64, 64))
    full = encode_example(processor, image, "OCR: ", "y" * 200)
    prompt_length = int((full["labels"] == IGNORE_INDEX).sum())
    cut = encode_example(processor, image, "OCR: ", "y" * 200, max_length=prompt_length + 10)
    assert len(cut["input_ids"]) == prompt_length + 10
    with pytest.raises(ManifestError, match="max-length"):
        encode_example(processor, image, "OCR: ", "y", max_length=prompt_length)


def test_collator_right_pads_and_stacks_views_in_order(processor: DocVLMProcessor) -> None:
    dark, light = Image.new("RGB", (64, 64), "black"), Image.new("RGB", (64, 64), "white")
    features = [
        encode_example(processor, dark, "OCR: ", "a long target"),
        encode_example(processor, light, "OCR: ", "b"),
    ]
    batch = Collator(processor.tokenizer.pad_token_id)(features)
    short = len(features[1]["input_ids"])
    assert batch["input_ids"].shape == (2, len(features[0]["input_ids"]))
    assert (batch["attention_mask"][1, short:] == 0).all()
    assert (batch["attention_mask"][1, :short] == 1).all()
    assert (batch["labels"][1, short:] == IGNORE_INDEX).all()
    assert (batch["input_ids"][1, short:] == processor.tokenizer.pad_token_id).all()
    means = batch["pixel_values"].mean(dim=(1, 2, 3))
    assert means[0] < means[1]  # first example's view first


def test_manifest_round_trip_defaults_and_pdf_pages(tmp_path: Path, page: Path) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes((SAMPLES / "report.pdf").read_bytes())
    examples = [
        Example(target={"total": "12.50"}, image=page),
        Example(target="# Title", pdf=pdf, page=2, prompt="OCR with format: "),
    ]
    manifest = write_manifest(examples, tmp_path / "m.jsonl")
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert rows[0] == {"image": "page.png", "target": {"total": "12.50"}}
    assert rows[1]["pdf"] == "doc.pdf" and rows[1]["page"] == 2
    read = read_manifest(manifest)
    assert read[0].query == JSON_QUERY and read[0].target_text == '{"total":"12.50"}'
    assert read[1].query == "OCR with format: "
    rendered = read[1].load_image(size=400)
    assert max(rendered.size) == 400
    before = manifest_hash(manifest)
    page.write_bytes(page.read_bytes() + b"\0")
    assert manifest_hash(manifest) != before  # the hash covers the images, not just the JSONL


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"image": "page.png"}', "'target'"),
        ('{"image": "page.png", "pdf": "x.pdf", "target": "t"}', "exactly one"),
        ('{"image": "missing.png", "target": "t"}', "does not exist"),
        ('{"image": "page.png", "target": "t", "prompt": 3}', "'prompt'"),
        ('{"image": "page.png", "target": "t", "glyphs": [["a", 0.1]]}', "'glyphs'"),
        ('{"image": "page.png", "target": "t", "glyphs": [["a", 0, 0, "x", 1]]}', "'glyphs'"),
    ],
)
def test_bad_manifest_lines_name_the_line(tmp_path: Path, page: Path, line: str, message: str):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"image": "page.png", "target": "ok"}\n' + line + "\n")
    with pytest.raises(ManifestError, match=message) as error:
        read_manifest(manifest)
    assert "m.jsonl:2" in str(error.value)


@pytest.mark.parametrize("export_format", ["swift", "llamafactory", "trl"])
def test_export_formats(tmp_path: Path, page: Path, export_format: str) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes((SAMPLES / "invoice.pdf").read_bytes())
    manifest = write_manifest(
        [Example(target={"total": 5}, image=page), Example(target="text", pdf=pdf)],
        tmp_path / "m.jsonl",
    )
    out = export_manifest(manifest, tmp_path / "out" / "train.jsonl", export_format)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 2
    for row in rows:
        assert set(row) == {"messages", "images"}
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert len(row["images"]) == 1 and Path(row["images"][0]).is_absolute()
        assert Image.open(row["images"][0]).size[0] > 0  # PDF pages were rasterized to files
    user, assistant = rows[0]["messages"][0]["content"], rows[0]["messages"][1]["content"]
    if export_format == "trl":
        assert user == [{"type": "image"}, {"type": "text", "text": JSON_QUERY}]
        assert assistant == [{"type": "text", "text": '{"total":5}'}]
    else:
        # One <image> tag per image, as ms-swift and LLaMA-Factory require.
        assert user == "<image>" + JSON_QUERY and assistant == '{"total":5}'
    if export_format == "llamafactory":
        info = json.loads((out.parent / "dataset_info.json").read_text())
        assert info["train"]["file_name"] == "train.jsonl"
        assert info["train"]["formatting"] == "sharegpt"
        assert info["train"]["columns"] == {"messages": "messages", "images": "images"}


def test_synth_text_targets_are_fully_visible(tmp_path: Path, processor) -> None:
    manifest = synth_text(tmp_path, 12, seed=3, size=(160, 64), lines=(1, 3), chars=(4, 30))
    examples = read_manifest(manifest)
    assert len(examples) == 12
    assert len({e.target for e in examples}) == 12  # random, no repeated prior
    for example in examples:
        image = example.load_image().convert("L")
        assert image.size == (160, 64)
        assert image.getextrema()[0] < 100  # there is ink
        edge = [image.getpixel((x, y)) for x in (0, 159) for y in range(64)]
        assert min(edge) > 150  # and none of it was cut off at the border
    dataset = ManifestDataset(examples, processor)
    assert processor.tokenizer.decode(dataset[0]["labels"][-3:]).endswith(IM_END)


def test_synth_forms_writes_json_targets(tmp_path: Path) -> None:
    manifest = synth_forms(tmp_path, 3, layouts=("claim", "invoice"), png_size=300)
    examples = read_manifest(manifest)
    assert [type(e.target) for e in examples] == [dict] * 3
    assert "claim_number" in examples[0].target and "invoice_number" in examples[1].target
    assert max(examples[0].load_image().size) == 300


def test_restyled_template_forms_keep_its_fields_but_draw_a_look_of_their_own() -> None:
    """`v<n>` forms print template n's fields (its schema), each in its own field order and
    style; `t<n>` forms all share the template's."""
    from docvlm.finetune.synth import form_schema, synth_form

    assert form_schema("v3") == form_schema("t3")
    keys = set(form_schema("t3")["properties"])
    fixed = {tuple(synth_form("t3", seed).values) for seed in range(6)}
    restyled = [synth_form("v3", seed) for seed in range(6)]
    assert len(fixed) == 1
    assert all(set(form.values) == keys for form in restyled)
    assert len({tuple(form.values) for form in restyled}) > 1


def test_from_pdfs_pairs_pages_with_text_layer_markdown(tmp_path: Path) -> None:
    (tmp_path / "pdfs").mkdir()
    (tmp_path / "pdfs" / "invoice.pdf").write_bytes((SAMPLES / "invoice.pdf").read_bytes())
    examples = read_manifest(from_pdfs(tmp_path / "pdfs", tmp_path / "out", render_size=400))
    assert len(examples) == 1
    assert examples[0].prompt == "OCR with format: "
    assert "Northwind" in examples[0].target and "|" in examples[0].target  # has the table
    assert isinstance(examples[0].load_image(), Image.Image)


def test_glyph_labels_name_each_cells_characters_in_reading_order() -> None:
    ids = {char: ord(char) for char in "abcdefgh"}
    glyphs = [
        # One line across cells (0, 0) and (0, 1) of a 4×4 grid; a second, lower line in (0, 0).
        ("b", 0.10, 0.02, 0.15, 0.06),
        ("a", 0.02, 0.02, 0.08, 0.06),
        (" ", 0.16, 0.02, 0.18, 0.06),
        ("c", 0.30, 0.02, 0.35, 0.06),
        ("d", 0.02, 0.12, 0.08, 0.16),
        # Centre x = 0.4: the shifted cell boundary (1 − 0.375) / 4 puts it in column 1, not 2.
        ("e", 0.39, 0.52, 0.41, 0.56),
        ("?", 0.90, 0.90, 0.95, 0.95),  # no single token id: its cell is not labelled
        *[(char, 0.6 + 0.01 * i, 0.3, 0.61 + 0.01 * i, 0.32) for i, char in enumerate("abc")],
    ]
    labels = glyph_slot_labels(glyphs, grid=4, slots=3, token_id=ids.get, empty_id=0)
    assert labels.shape == (16, 3)
    assert labels[0].tolist() == [ord("a"), ord("b"), ord("d")]  # full: no end marker
    assert labels[1].tolist() == [ord("c"), 0, IGNORE_INDEX]
    assert labels[2 * 4 + 1].tolist() == [ord("e"), 0, IGNORE_INDEX]
    assert labels[15].tolist() == [IGNORE_INDEX] * 3
    assert labels[1 * 4 + 2].tolist() == [ord("a"), ord("b"), ord("c")]
    assert labels[5].tolist() == [0, IGNORE_INDEX, IGNORE_INDEX]  # blank paper: one "empty"
    crowded = glyph_slot_labels(glyphs, grid=4, slots=2, token_id=ids.get, empty_id=0)
    assert crowded[0].tolist() == [IGNORE_INDEX] * 2  # three characters do not fit two slots


def _ink_in(image: Image.Image, box: tuple[float, float, float, float]) -> bool:
    width, height = image.size
    x0, y0, x1, y1 = box
    crop = image.crop((x0 * width, y0 * height, x1 * width + 1, y1 * height + 1))
    return crop.getextrema()[0] < 200  # thin strokes at 1 px per point are grey


def test_synth_text_glyphs_box_every_printed_character(tmp_path: Path) -> None:
    manifest = synth_text(tmp_path, 6, seed=4, size=(400, 200), lines=(2, 4), glyphs=True)
    for example in read_manifest(manifest):
        assert "".join(char for char, *_ in example.glyphs) == example.target.replace("\n", "")
        image = example.load_image().convert("L")
        for char, *box in example.glyphs:
            assert char.isspace() or _ink_in(image, box), char


def test_synth_text_draws_with_the_fonts_given(tmp_path: Path) -> None:
    manifest = synth_text(tmp_path, 4, seed=5, size=(400, 100), chars=(6, 12), font_sizes=(20, 20),
                          glyphs=True, fonts=("cour",))  # fmt: skip
    widths = {round((x1 - x0) * 400, 3) for example in read_manifest(manifest)
              for _, x0, _, x1, _ in example.glyphs}  # fmt: skip
    assert widths == {12.0}  # Courier: every character 0.6 em wide
    with pytest.raises(DocVLMError, match="unknown font nofont"):
        synth_text(tmp_path / "bad", 1, fonts=("helv", "nofont"))


def test_synth_forms_crop_with_glyphs(tmp_path: Path) -> None:
    crop = (40, 40, 580, 340)
    manifest = synth_forms(tmp_path, 2, layouts=("claim",), seed=3, png_size=540, crop=crop,
                           glyphs=True, scanned=0.5)  # fmt: skip
    for example in read_manifest(manifest):
        image = example.load_image().convert("L")
        assert image.size == (540, 300)  # the crop at 1 px per point
        printed = "".join(char for char, *_ in example.glyphs)
        assert example.target["claim_number"] in printed
        assert example.target["policy_number"] in printed
        assert all(_ink_in(image, box) for char, *box in example.glyphs if not char.isspace())
    plain = read_manifest(synth_forms(tmp_path / "plain", 1, layouts=("claim",), png_size=300))
    assert (
        plain[0].glyphs is None
        and "glyphs" not in (tmp_path / "plain" / "manifest.jsonl").read_text()
    )
