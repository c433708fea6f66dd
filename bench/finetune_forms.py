"""Does fine-tuning learn to read? Reading pretraining, then forms, then LoRA to a new layout.

    python bench/finetune_forms.py --smoke          # ~3 minutes, checks the plumbing
    python bench/finetune_forms.py                  # 60 + 15 + 5 minutes of CPU training

Stage 1 pretrains a tiny GOT-shaped model (SAM ViTDet, 3-layer decoder, no CLIP branch, no
system turn in the prompt; see `bench_overrides`) from random init on prior-free random text,
with the auxiliary glyph loss (each visual token names the characters in its cell). It reads
small crops first (256 px → 4×4 = 16 visual tokens: many cheap steps), then `resize_vision`
moves it to whole 1024 px pages (16×16 = 256 tokens) at the same pixel scale (`--positions
tile`: each 256 px block of a page is encoded exactly like a crop), where it learns to read a
page in order (`--page-minutes 0` skips that and goes straight to the forms). Stage 2
fine-tunes it on synthetic claim forms (the 540×300 pt of the page where the fields are,
1024 px wide). Stage 3 adapts it with LoRA to the unseen application layout.

Each accuracy is printed next to a reference measured in the same run: the prior-only
baseline that predicts every field's most frequent training value (what a model that ignores
the image converges to); for character accuracy the random-init model and the same predictions
scored against another image's text (what answering without reading scores).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from docvlm.finetune.builders import synth_forms, synth_text
from docvlm.finetune.evaluate import predict, score_example
from docvlm.finetune.manifest import Example, read_manifest
from docvlm.finetune.modeling import POSITIONS, new_model, resize_vision
from docvlm.finetune.train import TrainConfig, train
from docvlm.metrics import character_error_rate, field_scores
from docvlm.model.configuration_docvlm import PRESETS
from docvlm.model.runtime import load_runtime

FORM_CROP_POINTS = (40, 40, 580, 340)  # where the synthetic forms print their fields
PAGE_RENDER_PX = 1024
# Random text at the forms' pixel scale (values print at 10 pt ≈ 19 px there): whole pages the
# size of a form crop, and 256 px wide crops of them, each squeezed to a square view the same way.
PAGE_TEXT_SIZE = (1024, 569)
CROP_TEXT_SIZE = (256, 142)
TEXT_FONT_PX = (16, 24)


def bench_overrides(image_size: int = PAGE_RENDER_PX) -> dict[str, Any]:
    """Tiny GOT-shaped model: SAM (all windowed) → 256 tokens at 1024 px → 3×192 decoder."""
    tiny = PRESETS["tiny-got"]()
    return {
        "vision_config": {
            **tiny["vision_config"],
            "image_size": image_size,
            # 16-patch windows tile a 64-patch page exactly (14 pads it to 70) and a 16-patch crop
            # is one window: half the encoder time of window 14 on crops, 12% less on pages.
            "window_size": 16,
            "hidden_size": 64,
            "num_hidden_layers": 3,
            "mlp_dim": 256,
            "output_channels": 64,
            "compressed_channels": 256,
            "global_attn_indexes": [],
        },
        "text_config": {
            **tiny["text_config"],
            "hidden_size": 192,
            "intermediate_size": 384,
            "num_hidden_layers": 3,
            "num_attention_heads": 6,
            "num_key_value_heads": 3,
        },
    }


def cropped_forms(out: Path, n: int, layout: str, seed: int) -> Path:
    """Synthetic forms of one layout as PNGs of their field region, with glyph boxes."""
    return synth_forms(out, n, layouts=(layout,), seed=seed, png_size=PAGE_RENDER_PX,
                       crop=FORM_CROP_POINTS, glyphs=True)  # fmt: skip


def char_accuracy(predictions: list[str], examples: list[Example]) -> float:
    """1 − CER over all characters (edits summed, divided by total reference characters)."""
    edits = sum(
        character_error_rate(p, e.target) * max(len(e.target), 1)
        for p, e in zip(predictions, examples, strict=True)
    )
    total = sum(max(len(e.target), 1) for e in examples)
    return max(0.0, 1.0 - edits / total)


def field_accuracy(predictions: list[str], examples: list[Example]) -> float:
    """Share of held-out fields predicted exactly (normalized values)."""
    scores = [score_example(p, e.target) for p, e in zip(predictions, examples, strict=True)]
    return sum(s["correct"] for s in scores) / max(1, sum(s["expected"] for s in scores))


def prior_baseline(train_examples: list[Example], test_examples: list[Example]) -> float:
    """Field accuracy of always answering each field's most frequent training value."""
    values: dict[str, Counter] = {}
    for example in train_examples:
        for key, value in example.target.items():
            values.setdefault(key, Counter())[json.dumps(value)] += 1
    guess = {key: json.loads(counter.most_common(1)[0][0]) for key, counter in values.items()}
    correct = expected = 0
    for example in test_examples:
        scores = field_scores(guess, example.target)
        correct, expected = correct + scores.correct, expected + scores.expected
    return correct / max(expected, 1)


def evaluate_model(
    model_dir: Path, manifest: Path, adapter: Path | None, limit: int, kind: str
) -> tuple[float, float, list[str]]:
    """Accuracy, the same predictions scored against the next example's target (what answering
    without reading scores: length, character and format statistics), and the predictions."""
    runtime = load_runtime(model_dir, adapter=adapter)
    examples = read_manifest(manifest)[:limit]
    tokenizer = runtime.processor.tokenizer
    longest = max(len(tokenizer(e.target_text)["input_ids"]) for e in examples)
    predictions = predict(
        runtime, examples, batch_size=16, max_new_tokens=longest + 16,
        render_size=PAGE_RENDER_PX,
    )  # fmt: skip
    score = char_accuracy if kind == "text" else field_accuracy
    blind = score(predictions, examples[1:] + examples[:1])
    return score(predictions, examples), blind, predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, ~3 minutes")
    parser.add_argument("--out", type=Path, default=Path("bench/results/finetune_forms"))
    parser.add_argument("--crop-minutes", type=float, default=40, help="stage 1 on crops")
    parser.add_argument(
        "--page-minutes",
        type=float,
        default=20,
        help="stage 1 on pages (0: the crop reader goes straight to forms)",
    )
    parser.add_argument(
        "--positions",
        choices=POSITIONS,
        default="interpolate",
        help="how the crop reader's position table moves to 1024 px",
    )
    parser.add_argument("--fonts", help="comma-separated faces for the random text (default all)")
    parser.add_argument("--forms-minutes", type=float, default=15)
    parser.add_argument("--lora-minutes", type=float, default=5)
    parser.add_argument("--pretrained", type=Path, help="skip stage 1: start from this model")
    parser.add_argument("--batch-size", type=int, default=8, help="pages and forms")
    parser.add_argument("--crop-batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--glyph-weight", type=float, default=1.0)
    parser.add_argument("--n-crops", type=int, default=40000, help="random-text crops")
    parser.add_argument("--n-pages", type=int, default=6000, help="random-text pages")
    parser.add_argument("--max-lines", type=int, default=10, help="lines per random-text page")
    parser.add_argument("--stage1-only", action="store_true", help="stop after pretraining")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 if sharing)")
    parser.add_argument("--workers", type=int, default=1, help="data-loading processes")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    smoke = args.smoke
    if smoke:
        n_crops, n_pages, n_forms, n_new, n_test = 64, 32, 32, 16, 8
        minutes = (0.3, 0.3 if args.page_minutes else 0, 0.5, 0.3)
    else:
        n_crops, n_pages, n_forms, n_new, n_test = args.n_crops, args.n_pages, 2000, 200, 200
        minutes = (args.crop_minutes, args.page_minutes, args.forms_minutes, args.lora_minutes)
    out = args.out / ("smoke" if smoke else "full")
    if out.exists():
        shutil.rmtree(out)
    results: dict[str, Any] = {"smoke": smoke, "model": bench_overrides()}
    started = time.perf_counter()
    common = dict(log_steps=10 if smoke else 25, progress=False, render_size=PAGE_RENDER_PX,
                  max_steps=10**9, num_workers=args.workers, glyph_weight=args.glyph_weight,
                  schedule="wsd")  # fmt: skip

    if args.pretrained is None:
        fonts = {"fonts": tuple(args.fonts.split(","))} if args.fonts else {}
        crop_text = dict(size=CROP_TEXT_SIZE, lines=(1, 3), chars=(3, 16),
                         font_sizes=TEXT_FONT_PX, glyphs=True, **fonts)  # fmt: skip
        page_text = dict(size=PAGE_TEXT_SIZE, lines=(3, args.max_lines), chars=(3, 20),
                         font_sizes=TEXT_FONT_PX, glyphs=True, **fonts)  # fmt: skip
        crops = synth_text(out / "crop_train", n_crops, seed=1, **crop_text)
        crops_test = synth_text(out / "crop_test", n_test, seed=2, **crop_text)
        n_pages = n_pages if minutes[1] else 1
        pages = synth_text(out / "page_train", n_pages, seed=3, **page_text)
        pages_test = synth_text(out / "page_test", n_test, seed=4, **page_text)
        print(f"data: {n_crops} crops, {n_pages} pages of random text "
              f"({time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip

        torch.manual_seed(0)
        init_dir = out / "random_init"
        model, processor = new_model(
            "tiny-got", system_prompt="", **bench_overrides(CROP_TEXT_SIZE[0])
        )  # fmt: skip
        model.save_pretrained(init_dir)
        processor.save_pretrained(init_dir)
        random_acc, _, _ = evaluate_model(init_dir, crops_test, None, 20, "text")  # ~0 anyway
        crop_stage = train(TrainConfig(
            train=crops, out=out / "crop_reader", model=init_dir, lr=args.lr, warmup_steps=50,
            max_minutes=minutes[0], batch_size=args.crop_batch_size, **common,
        ))  # fmt: skip
        crop_acc, crop_blind, crop_samples = evaluate_model(
            out / "crop_reader", crops_test, None, n_test, "text"
        )
        print(f"stage 1a: {crop_stage.steps} steps on crops, char accuracy {crop_acc:.3f} "
              f"(against other crops' text {crop_blind:.3f}; random init {random_acc:.3f})",
              flush=True)  # fmt: skip

        crop_reader = load_runtime(out / "crop_reader", device="cpu")
        model, processor = crop_reader.model, crop_reader.processor
        processor = resize_vision(model, processor, PAGE_RENDER_PX, args.positions)
        pretrained = out / "crop_reader_1024"
        model.save_pretrained(pretrained)
        processor.save_pretrained(pretrained)
        moved_acc, _, _ = evaluate_model(pretrained, pages_test, None, 20, "text")
        results["stage1"] = {
            "crops": {"steps": crop_stage.steps, "curve": crop_stage.history,
                      "char_accuracy": crop_acc, "against_other_targets": crop_blind,
                      "random_init_char_accuracy": random_acc,
                      "samples": crop_samples[:5]},
            "pages_before_page_training": moved_acc,
        }  # fmt: skip
        if minutes[1]:
            page_stage = train(TrainConfig(
                train=pages, out=out / "pretrained", model=pretrained, lr=args.lr,
                warmup_steps=20, max_minutes=minutes[1], batch_size=args.batch_size,
                save_steps=500, **common,
            ))  # fmt: skip
            pretrained = out / "pretrained"
            read_acc, read_blind, samples = evaluate_model(
                pretrained, pages_test, None, n_test, "text"
            )
            results["stage1"]["pages"] = {
                "steps": page_stage.steps, "curve": page_stage.history,
                "char_accuracy": read_acc, "against_other_targets": read_blind,
                "samples": samples[:5],
            }  # fmt: skip
            print(f"stage 1b: {page_stage.steps} steps on pages, char accuracy {read_acc:.3f} "
                  f"(against other pages' text {read_blind:.3f}; crop reader moved to pages, "
                  f"before page training: {moved_acc:.3f})",
                  flush=True)  # fmt: skip
        if args.stage1_only:
            (out / "results.json").write_text(json.dumps(results, indent=1))
            return
    else:
        pretrained = args.pretrained

    forms_train = cropped_forms(out / "claim_train", n_forms, "claim", seed=11)
    forms_test = cropped_forms(out / "claim_test", n_test, "claim", seed=12)
    stage2 = train(TrainConfig(
        train=forms_train, out=out / "forms", model=pretrained, lr=args.lr / 2, warmup_steps=20,
        max_minutes=minutes[2], batch_size=args.batch_size, **common,
    ))  # fmt: skip
    forms_acc, _, samples = evaluate_model(out / "forms", forms_test, None, n_test, "json")
    prior = prior_baseline(read_manifest(forms_train), read_manifest(forms_test))
    results["stage2"] = {
        "steps": stage2.steps, "curve": stage2.history, "field_accuracy": forms_acc,
        "prior_baseline": prior, "samples": samples[:3],
    }  # fmt: skip
    print(f"stage 2: {stage2.steps} steps, claim field accuracy {forms_acc:.3f} "
          f"(prior-only baseline {prior:.3f}, ratio {forms_acc / max(prior, 1e-9):.2f}x)",
          flush=True)  # fmt: skip

    new_train = cropped_forms(out / "app_train", n_new, "application", seed=21)
    new_test = cropped_forms(out / "app_test", n_test, "application", seed=22)
    before, _, _ = evaluate_model(out / "forms", new_test, None, n_test, "json")
    stage3 = train(TrainConfig(
        train=new_train, out=out / "lora", model=out / "forms", mode="lora", lr=args.lr,
        lora_r=16, lora_alpha=32, warmup_steps=10, max_minutes=minutes[3],
        batch_size=args.batch_size, **{**common, "glyph_weight": 0.0},
    ))  # fmt: skip
    after, _, samples = evaluate_model(out / "forms", new_test, out / "lora", n_test, "json")
    new_prior = prior_baseline(read_manifest(new_train), read_manifest(new_test))
    results["stage3"] = {
        "steps": stage3.steps, "curve": stage3.history, "before": before, "after": after,
        "prior_baseline": new_prior, "samples": samples[:3],
    }  # fmt: skip
    print(f"stage 3 (LoRA, application layout): field accuracy {before:.3f} → {after:.3f} "
          f"(prior-only baseline {new_prior:.3f})", flush=True)  # fmt: skip
    results["minutes"] = (time.perf_counter() - started) / 60
    (out / "results.json").write_text(json.dumps(results, indent=1))
    print(f"total {results['minutes']:.1f} min; results in {out / 'results.json'}")


if __name__ == "__main__":
    main()
