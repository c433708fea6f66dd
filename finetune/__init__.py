"""Fine-tuning: parse → correct → export → fine-tune → parse with the adapter → evaluate.

- `manifest`: the JSONL format (image or PDF page, prompt, text / markdown / JSON target).
- `data`: examples → model inputs with the inference processor; loss on target tokens only.
- `builders`: data engines (synthetic forms, random text for reading, PDF text-layer pages).
- `export`: ms-swift / LLaMA-Factory / TRL `messages` + `images` JSONL.
- `modeling`: presets, checkpoints, 4-bit loading, LoRA, adapters and merging.
- `train`: the accelerate training loop (full / LoRA / QLoRA), checkpoints and the card.
- `evaluate`: generation and field / text / table metrics, regression tables.
- `synth`: the synthetic forms generator.
"""
