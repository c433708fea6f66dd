"""Training: full / LoRA / QLoRA over a manifest, under accelerate, resumable, with a card.

Runs the same under `python`, `accelerate launch` and `torchrun`: accelerate shards the
batches and syncs gradients. Checkpoints hold only the trainable weights, the optimizer and
the data position, so a resumed run continues the step count and the loss curve.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from docvlm.anchors import DEFAULT_FORMAT, GRID, AnchorFormat
from docvlm.errors import DocVLMError
from docvlm.model.processing_docvlm import SYSTEM_PROMPT
from docvlm.model.runtime import load_runtime
from docvlm.sources import DEFAULT_SIZE

from .data import IGNORE_INDEX, Collator, ManifestDataset
from .glyphs import GlyphHead
from .manifest import manifest_hash, read_manifest
from .modeling import (
    DEFAULT_LORA_TARGETS,
    POSITIONS,
    Positions,
    add_lora,
    freeze,
    new_model,
    resize_vision,
)

Mode = Literal["full", "lora", "qlora"]
Schedule = Literal["constant", "cosine", "wsd"]
CARD = "training_card.json"
LOG = "train_log.jsonl"
CHECKPOINTS = "checkpoints"
# "wsd" (warmup-stable-decay) keeps the peak rate and decays over this last share of steps:
# a reading model needs many steps at a high rate before it starts using the image.
WSD_DECAY_SHARE = 0.2


@dataclass
class TrainConfig:
    """Everything `docvlm finetune` takes; stored verbatim in the training card."""

    train: Path
    out: Path
    eval: Path | None = None
    model: Path | None = None
    preset: str | None = None
    preset_overrides: dict[str, Any] = field(default_factory=dict)
    mode: Mode = "full"
    freeze: tuple[str, ...] = ()
    lora_r: int = 16
    lora_alpha: int = 32
    lora_targets: tuple[str, ...] = DEFAULT_LORA_TARGETS
    lora_dropout: float = 0.0
    epochs: float = 1.0
    max_steps: int | None = None
    max_minutes: float | None = None
    lr: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    schedule: Schedule = "constant"
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int | None = 2048
    bf16: bool = False
    gradient_checkpointing: bool = False
    log_steps: int = 10
    eval_steps: int = 0
    save_steps: int = 0
    resume: bool = False
    # Weight of an auxiliary CTC loss that reads the target off the visual tokens (single-view
    # inputs): it pushes the encoder to align with the text from the first step.
    ctc_weight: float = 0.0
    # Weight of the auxiliary glyph loss (`finetune.glyphs`) on examples with glyph boxes, and
    # how many characters one visual token names.
    glyph_weight: float = 0.0
    glyph_slots: int = 8
    # Run the SAM view at this size (`modeling.resize_vision`): a reader trained on small crops
    # moves to whole pages at the same pixel scale.
    image_size: int | None = None
    positions: Positions = "interpolate"
    # False drops GOT's system turn from the prompts of a model trained from --preset.
    system_turn: bool = True
    # How a --preset model's prompts write anchors (`docvlm.anchors.AnchorFormat`): positions
    # on a 0–anchor_grid grid (0: none), one line per page line. Shorter prompts copy sooner.
    anchor_grid: int = GRID
    join_anchor_lines: bool = False
    # Predict the prompt's text tokens too, not only the target (`finetune.data`).
    prompt_loss: bool = False
    seed: int = 0
    num_workers: int = 0
    render_size: int = DEFAULT_SIZE
    progress: bool = True

    def check(self) -> None:
        """Raise DocVLMError on contradictory options before anything is loaded."""
        if (self.model is None) == (self.preset is None):
            raise DocVLMError("give exactly one of --model DIR or --preset NAME")
        if self.mode != "full" and self.model is None:
            raise DocVLMError(f"--mode {self.mode} adapts a trained model: pass --model DIR")
        if self.mode not in ("full", "lora", "qlora"):
            raise DocVLMError(f"unknown --mode {self.mode!r}: use full, lora or qlora")
        if self.batch_size < 1 or self.grad_accum < 1:
            raise DocVLMError("--batch-size and --grad-accum must be at least 1")
        if self.positions not in POSITIONS:
            raise DocVLMError(f"unknown --positions {self.positions!r}: use interpolate or tile")
        if not self.system_turn and self.model is not None:
            raise DocVLMError("--no-system-turn starts a --preset model: a saved one keeps its own")
        if self.anchor_format and self.model is not None:
            raise DocVLMError(
                "--anchor-grid / --join-anchor-lines start a --preset model: a saved one keeps "
                "its own anchor format"
            )
        AnchorFormat(**self.anchor_format)  # raises on a grid out of range

    @property
    def anchor_format(self) -> dict[str, Any]:
        """The AnchorFormat fields that differ from the default (what the processor stores)."""
        chosen = {"grid": self.anchor_grid, "join_lines": self.join_anchor_lines}
        return {k: v for k, v in chosen.items() if v != getattr(DEFAULT_FORMAT, k)}


@dataclass
class TrainResult:
    """Where the model went, how training ended, and the trained model (adapter unmerged)."""

    out: Path
    steps: int
    history: list[dict[str, float]]
    metrics: dict[str, float]
    model: Any = None


def train(config: TrainConfig) -> TrainResult:
    """Fine-tune (or pretrain) on a manifest and save the model or adapter to `config.out`."""
    config.check()
    torch.manual_seed(config.seed)
    accelerator = Accelerator(
        mixed_precision="bf16" if config.bf16 else "no",
        gradient_accumulation_steps=config.grad_accum,
    )
    model, processor = _build_model(config)
    examples = read_manifest(config.train)
    glyph_slots = config.glyph_slots if config.glyph_weight else 0
    dataset = ManifestDataset(
        examples, processor, config.max_length, config.render_size, glyph_slots,
        config.prompt_loss,
    )  # fmt: skip
    collate = Collator(processor.tokenizer.pad_token_id)
    micro_per_epoch = math.ceil(len(dataset) / config.batch_size)
    steps_per_epoch = max(1, micro_per_epoch // config.grad_accum)
    total_steps = config.max_steps or max(1, math.ceil(config.epochs * steps_per_epoch))

    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise DocVLMError("nothing to train: every part is frozen")
    glyph_head = None
    if glyph_slots:
        glyph_head = GlyphHead(model.config.text_config.hidden_size, glyph_slots)
        parameters += list(glyph_head.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=config.lr, weight_decay=config.weight_decay)
    started = time.perf_counter()

    def progress_share(step: int) -> float:
        """How far training is: by steps, or by the clock when `max_minutes` ends it sooner."""
        share = step / total_steps
        if config.max_minutes:
            share = max(share, (time.perf_counter() - started) / (60 * config.max_minutes))
        return min(share, 1.0)

    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: _lr_factor(step, progress_share(step), config)
    )
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)
    if glyph_head is not None:
        glyph_head = accelerator.prepare(glyph_head)
    trained = _Trained(model, optimizer, scheduler, glyph_head)

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    state = {"step": 0, "micro_step": 0, "history": [], "tokens": 0, "seconds": 0.0}
    if config.resume:
        state = _load_checkpoint(out, accelerator, trained)
    eval_loader = None
    if config.eval is not None:
        eval_dataset = ManifestDataset(
            read_manifest(config.eval), processor, config.max_length, config.render_size
        )
        eval_loader = accelerator.prepare(
            DataLoader(eval_dataset, batch_size=config.batch_size, collate_fn=collate)
        )

    def batches(start_micro: int) -> Iterator[dict[str, torch.Tensor]]:
        micro = start_micro
        while True:
            epoch, offset = divmod(micro, micro_per_epoch)
            generator = torch.Generator().manual_seed(config.seed + epoch)
            order = torch.randperm(len(dataset), generator=generator).tolist()
            loader = DataLoader(
                dataset,
                batch_size=config.batch_size,
                sampler=order[offset * config.batch_size :],
                collate_fn=collate,
                num_workers=config.num_workers,
            )
            for batch in accelerator.prepare(loader):
                yield batch
                micro += 1

    model.train()
    progress = tqdm(
        total=total_steps,
        initial=state["step"],
        disable=not (config.progress and accelerator.is_main_process),
        desc="finetune",
    )
    window_tokens, window_start = 0, time.perf_counter()
    window: dict[str, list[float]] = {"loss": [], "ctc_loss": [], "glyph_loss": []}
    stream = batches(state["micro_step"])
    lm_head = accelerator.unwrap_model(model).get_output_embeddings()
    ctc_targets = CTCTargets(processor.end_token_id, processor.tokenizer.pad_token_id)
    while state["step"] < total_steps and progress_share(state["step"]) < 1.0:
        batch = next(stream)
        glyph_labels = batch.pop("glyph_labels", None)
        with accelerator.accumulate(*([model] if glyph_head is None else [model, glyph_head])):
            output = model(**batch)
            loss = output.loss
            if config.ctc_weight:
                ctc = ctc_targets.loss(lm_head(output.image_features), batch["labels"])
                loss = loss + config.ctc_weight * ctc
                window["ctc_loss"].append(ctc.item())
            if glyph_head is not None and glyph_labels is not None:
                glyph = glyph_head(output.image_features, lm_head, glyph_labels)
                loss = loss + config.glyph_weight * glyph
                window["glyph_loss"].append(glyph.item())
            accelerator.backward(loss)
            if accelerator.sync_gradients:
                accelerator.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        state["micro_step"] += 1
        window["loss"].append(output.loss.item())  # the LM loss; auxiliary ones on their own
        tokens = int(batch["attention_mask"].sum())
        window_tokens += tokens
        state["tokens"] += tokens
        if not accelerator.sync_gradients:
            continue
        state["step"] += 1
        progress.update(1)
        step = state["step"]
        if step % config.log_steps == 0 or step == total_steps:
            elapsed = time.perf_counter() - window_start
            state["seconds"] += elapsed
            record = {
                "step": step,
                **{name: sum(values) / len(values) for name, values in window.items() if values},
                "lr": scheduler.get_last_lr()[0],
                "tokens_per_s": window_tokens / max(elapsed, 1e-9),
            }
            if eval_loader is not None and config.eval_steps and step % config.eval_steps == 0:
                record["eval_loss"] = evaluate_loss(model, eval_loader, accelerator)
            state["history"].append(record)
            progress.set_postfix(
                loss=f"{record['loss']:.4f}", tok_s=f"{record['tokens_per_s']:.0f}"
            )
            if accelerator.is_main_process:
                with (out / LOG).open("a") as log:
                    log.write(json.dumps(record) + "\n")
            window = {name: [] for name in window}
            window_tokens, window_start = 0, time.perf_counter()
        if config.save_steps and step % config.save_steps == 0 and step < total_steps:
            _save_checkpoint(out, accelerator, trained, state)
    progress.close()

    metrics = {
        "steps": state["step"],
        "train_loss": state["history"][-1]["loss"] if state["history"] else float("nan"),
        "tokens": state["tokens"],
        "train_seconds": state["seconds"],
    }
    if eval_loader is not None:
        metrics["eval_loss"] = evaluate_loss(model, eval_loader, accelerator)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(out)
        processor.save_pretrained(out)
        _write_card(out, config, len(examples), metrics)
    trained = accelerator.unwrap_model(model).eval()
    return TrainResult(out, state["step"], state["history"], metrics, trained)


@torch.no_grad()
def evaluate_loss(model: torch.nn.Module, loader: DataLoader, accelerator: Accelerator) -> float:
    """Mean per-token loss over the eval set (teacher-forced)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    for batch in loader:
        targets = int((batch["labels"] != IGNORE_INDEX).sum())
        total += model(**batch).loss.item() * targets
        count += targets
    model.train(was_training)
    totals = accelerator.reduce(torch.tensor([total, count], dtype=torch.float64), "sum")
    return float(totals[0] / max(totals[1], 1))


def _build_model(config: TrainConfig) -> tuple[Any, Any]:
    if config.model is None:
        system_prompt = SYSTEM_PROMPT if config.system_turn else ""
        model, processor = new_model(
            config.preset,
            system_prompt=system_prompt,
            anchor_format=config.anchor_format,
            **config.preset_overrides,
        )
    else:
        # Weights train in float32 (accelerate moves them and applies --bf16); QLoRA's NF4
        # weights cannot move after loading, so they load straight onto the GPU when there is one.
        qlora = config.mode == "qlora"
        runtime = load_runtime(
            config.model,
            device="auto" if qlora else "cpu",
            dtype=torch.float32,
            quantize="4bit" if qlora else None,
        )
        model, processor = runtime.model, runtime.processor
    if config.image_size and config.image_size != model.config.vision_config.image_size:
        processor = resize_vision(model, processor, config.image_size, config.positions)
    if config.mode == "full":
        freeze(model, config.freeze)
    else:
        model = add_lora(
            model, config.lora_r, config.lora_alpha, config.lora_targets, config.lora_dropout
        )
    if config.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if config.mode != "full":
            model.enable_input_require_grads()
    return model, processor


class CTCTargets:
    """CTC of the target text against per-visual-token predictions through the LM head."""

    def __init__(self, end_token_id: int, blank_id: int) -> None:
        self.end_token_id = end_token_id
        self.blank_id = blank_id

    def loss(self, token_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean CTC loss; `token_logits` is (views, N, vocab) with one view per example."""
        if token_logits.shape[0] != labels.shape[0]:
            raise DocVLMError("--ctc-weight needs one image view per example (no multi-crop)")
        keep = (labels != IGNORE_INDEX) & (labels != self.end_token_id)
        targets = labels[keep]
        log_probs = token_logits.float().log_softmax(-1).transpose(0, 1)  # (N, views, vocab)
        input_lengths = torch.full((labels.shape[0],), log_probs.shape[0], dtype=torch.long)
        return torch.nn.functional.ctc_loss(
            log_probs,
            targets,
            input_lengths,
            keep.sum(dim=1),
            blank=self.blank_id,
            zero_infinity=True,
        )


def _lr_factor(step: int, progress: float, config: TrainConfig) -> float:
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    if config.schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if config.schedule == "wsd" and progress > 1 - WSD_DECAY_SHARE:
        return max(0.0, (1 - progress) / WSD_DECAY_SHARE)
    return 1.0


def _trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}


@dataclass
class _Trained:
    """What a checkpoint holds besides the step counters (all as prepared by accelerate)."""

    model: Any
    optimizer: Any
    scheduler: Any
    glyph_head: Any = None


def _save_checkpoint(out: Path, accelerator: Accelerator, trained: _Trained, state: dict) -> None:
    accelerator.wait_for_everyone()
    if not accelerator.is_main_process:
        return
    directory = out / CHECKPOINTS / f"step-{state['step']:07d}"
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "trainable": _trainable_state(accelerator.unwrap_model(trained.model)),
            "optimizer": trained.optimizer.state_dict(),
            "scheduler": trained.scheduler.state_dict(),
            "rng": torch.get_rng_state(),
            "glyph_head": (
                None
                if trained.glyph_head is None
                else accelerator.unwrap_model(trained.glyph_head).state_dict()
            ),
        },
        directory / "training_state.pt",
    )
    (directory / "trainer_state.json").write_text(json.dumps(state, indent=1))


def _load_checkpoint(out: Path, accelerator: Accelerator, trained: _Trained) -> dict:
    checkpoints = sorted((out / CHECKPOINTS).glob("step-*"))
    if not checkpoints:
        raise DocVLMError(f"--resume: no checkpoints under {out / CHECKPOINTS}")
    directory = checkpoints[-1]
    saved = torch.load(directory / "training_state.pt", weights_only=False)
    model = accelerator.unwrap_model(trained.model)
    loaded = model.load_state_dict(saved["trainable"], strict=False)
    if loaded.unexpected_keys:
        raise DocVLMError(f"--resume: {directory} was saved from a different model or mode")
    if trained.glyph_head is not None:
        if saved.get("glyph_head") is None:
            raise DocVLMError(f"--resume: {directory} was saved without the glyph loss")
        accelerator.unwrap_model(trained.glyph_head).load_state_dict(saved["glyph_head"])
    trained.optimizer.load_state_dict(saved["optimizer"])
    trained.scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["rng"])
    return json.loads((directory / "trainer_state.json").read_text())


def _write_card(out: Path, config: TrainConfig, num_examples: int, metrics: dict) -> None:
    data = {"train": str(config.train), "train_sha256": manifest_hash(config.train)}
    data["train_examples"] = num_examples
    if config.eval is not None:
        data.update(eval=str(config.eval), eval_sha256=manifest_hash(config.eval))
    card = {
        "base": str(config.model) if config.model else f"preset:{config.preset}",
        "mode": config.mode,
        "data": data,
        "args": json.loads(json.dumps(asdict(config), default=str)),
        "metrics": metrics,
    }
    (out / CARD).write_text(json.dumps(card, indent=2) + "\n")
