"""Does fine-tuning learn to read? Reading pretraining, then forms, then LoRA to a new layout.

    python bench/finetune_forms.py --smoke          # ~3 minutes, checks the plumbing
    python bench/finetune_forms.py                  # 60 + 15 + 5 minutes of CPU training

Stage 1 pretrains a tiny GOT-shaped model (SAM ViTDet at 1024 px → 16×16 = 256 visual
tokens, no CLIP branch, 3-layer decoder; see `bench_overrides`) from random init on
prior-free random text, with the auxiliary glyph loss (each visual token names the
characters in its cell). Stage 2 fine-tunes it on synthetic claim forms (the 540×300 pt of
the page where the fields are, 1024 px wide). Stage 3 adapts it with LoRA to the unseen
application layout.

Each accuracy is printed next to a reference measured in the same run: the prior-only
baseline that predicts every field's most frequent training value (what a model that ignores
the image converges to), and the random-init model for character accuracy.
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
from docvlm.finetune.modeling import load_for_inference, new_model
from docvlm.finetune.train import TrainConfig, train
from docvlm.metrics import character_error_rate, field_scores
from docvlm.model.configuration_docvlm import PRESETS

FORM_CROP_POINTS = (40, 40, 580, 340)  # where the synthetic forms print their fields
PAGE_RENDER_PX = 1024
# Random-text images share the form crops' pixel size and print 9–18 pt text at their scale.
TEXT_SIZE = (1024, 569)
TEXT_FONT_PX = (17, 34)


def bench_overrides() -> dict[str, Any]:
    """Tiny GOT-shaped model: 1024 px SAM (64² patches, all windowed) → 256 tokens → 3×192."""
    tiny = PRESETS["tiny"]()
    return {
        "vision_config": {
            **tiny["vision_config"],
            "image_size": 1024,
            "hidden_size": 64,
            "num_hidden_layers": 3,
            "mlp_dim": 256,
            "output_channels": 64,
            "compressed_channels": 256,
            "global_attn_indexes": [],
        },
        "clip_config": None,
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
) -> tuple[float, list[str]]:
    model, processor = load_for_inference(model_dir, adapter)
    examples = read_manifest(manifest)[:limit]
    longest = max(len(processor.tokenizer(e.target_text)["input_ids"]) for e in examples)
    predictions = predict(
        model, processor, examples, batch_size=16, max_new_tokens=longest + 16,
        render_size=PAGE_RENDER_PX,
    )  # fmt: skip
    score = char_accuracy if kind == "text" else field_accuracy
    return score(predictions, examples), predictions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, ~3 minutes")
    parser.add_argument("--out", type=Path, default=Path("bench/results/finetune_forms"))
    parser.add_argument("--pretrain-minutes", type=float, default=60)
    parser.add_argument("--forms-minutes", type=float, default=15)
    parser.add_argument("--lora-minutes", type=float, default=5)
    parser.add_argument("--pretrained", type=Path, help="skip stage 1: start from this model")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--glyph-weight", type=float, default=1.0)
    parser.add_argument("--n-text", type=int, default=12000, help="random-text images")
    parser.add_argument("--max-lines", type=int, default=10, help="lines per random-text image")
    parser.add_argument("--stage1-only", action="store_true", help="stop after pretraining")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (1 if sharing)")
    parser.add_argument("--workers", type=int, default=1, help="data-loading processes")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    smoke = args.smoke
    n_text, n_forms, n_new, n_test = (64, 32, 16, 8) if smoke else (args.n_text, 2000, 200, 200)
    minutes = (0.5, 0.5, 0.3) if smoke else (
        args.pretrain_minutes, args.forms_minutes, args.lora_minutes
    )  # fmt: skip
    out = args.out / ("smoke" if smoke else "full")
    if out.exists():
        shutil.rmtree(out)
    results: dict[str, Any] = {"smoke": smoke, "model": bench_overrides()}
    started = time.perf_counter()

    text_options = dict(size=TEXT_SIZE, lines=(3, args.max_lines), chars=(3, 20),
                        font_sizes=TEXT_FONT_PX, glyphs=True)  # fmt: skip
    text_train = synth_text(out / "text_train", n_text, seed=1, **text_options)
    text_test = synth_text(out / "text_test", n_test, seed=2, **text_options)
    print(f"data: {n_text} random-text images ({time.perf_counter() - started:.0f} s)", flush=True)

    common = dict(batch_size=args.batch_size, log_steps=10 if smoke else 25, progress=False,
                  render_size=PAGE_RENDER_PX, max_steps=10**9,
                  num_workers=args.workers)  # fmt: skip
    if args.pretrained is None:
        init_dir = out / "random_init"
        model, processor = new_model("tiny", **bench_overrides())
        model.save_pretrained(init_dir)
        processor.save_pretrained(init_dir)
        random_acc, _ = evaluate_model(init_dir, text_test, None, 20, "text")  # ~0 anyway
        stage1 = train(TrainConfig(
            train=text_train, out=out / "pretrained", model=None, preset="tiny",
            preset_overrides=bench_overrides(), lr=args.lr, schedule="wsd", warmup_steps=50,
            max_minutes=minutes[0], glyph_weight=args.glyph_weight, save_steps=500, **common,
        ))  # fmt: skip
        pretrained = out / "pretrained"
        read_acc, samples = evaluate_model(pretrained, text_test, None, n_test, "text")
        results["stage1"] = {
            "steps": stage1.steps, "curve": stage1.history, "char_accuracy": read_acc,
            "random_init_char_accuracy": random_acc, "samples": samples[:5],
        }  # fmt: skip
        print(f"stage 1: {stage1.steps} steps, char accuracy {read_acc:.3f} "
              f"(random init {random_acc:.3f})", flush=True)  # fmt: skip
        if args.stage1_only:
            (out / "results.json").write_text(json.dumps(results, indent=1))
            return
    else:
        pretrained = args.pretrained

    forms_train = cropped_forms(out / "claim_train", n_forms, "claim", seed=11)
    forms_test = cropped_forms(out / "claim_test", n_test, "claim", seed=12)
    stage2 = train(TrainConfig(
        train=forms_train, out=out / "forms", model=pretrained, lr=args.lr / 2,
        schedule="wsd", warmup_steps=20, max_minutes=minutes[1], glyph_weight=args.glyph_weight,
        **common,
    ))  # fmt: skip
    forms_acc, samples = evaluate_model(out / "forms", forms_test, None, n_test, "json")
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
    before, _ = evaluate_model(out / "forms", new_test, None, n_test, "json")
    stage3 = train(TrainConfig(
        train=new_train, out=out / "lora", model=out / "forms", mode="lora", lr=args.lr,
        lora_r=16, lora_alpha=32, warmup_steps=10, max_minutes=minutes[2], **common,
    ))  # fmt: skip
    after, samples = evaluate_model(out / "forms", new_test, out / "lora", n_test, "json")
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
