"""Full-size SAM branch at 1024²: docvlm fused-bias SDPA vs transformers' GotOcr2 encoder (eager).

Each measurement runs in a fresh process; the kernel's peak-RSS mark (VmHWM) is reset after the
weights are built, so peak memory is the growth of peak RSS over the RSS right before the forward.

    python bench/sam_attention.py [--batches 1 4] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import torch


def build(implementation: str):
    """Same random weights for both: the GotOcr2 encoder is built first and copied into ours."""
    from transformers.models.got_ocr2.modeling_got_ocr2 import (
        GotOcr2VisionConfig,
        GotOcr2VisionEncoder,
    )

    from docvlm.model.configuration_docvlm import DocVLMVisionConfig
    from docvlm.model.sam import SamEncoder

    torch.manual_seed(0)
    reference = GotOcr2VisionEncoder(GotOcr2VisionConfig()).eval()
    with torch.no_grad():
        for param in reference.parameters():
            param.copy_(torch.randn_like(param) * 0.02)
    if implementation == "transformers-eager":
        return reference
    ours = SamEncoder(DocVLMVisionConfig()).eval()
    ours.load_state_dict(reference.state_dict())
    ours.config._attn_implementation = "sdpa"
    return ours


def forward(model, pixel_values: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = model(pixel_values)
    return out if isinstance(out, torch.Tensor) else out.last_hidden_state


def worker(implementation: str, batch: int, repeats: int) -> None:
    """Time and peak memory of one implementation; prints one JSON line."""
    model = build(implementation)
    pixel_values = torch.randn(batch, 3, 1024, 1024, generator=torch.Generator().manual_seed(1))
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")  # reset VmHWM: building two weight copies must not count
    rss_before_kb = _status_kb("VmRSS")
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        forward(model, pixel_values)
        times.append(time.perf_counter() - start)
    peak_kb = _status_kb("VmHWM")
    print(json.dumps({"seconds": min(times), "peak_mb": (peak_kb - rss_before_kb) / 1024}))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure(implementation: str, batch: int, repeats: int) -> dict:
    command = [sys.executable, __file__, "--worker", implementation, str(batch), str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def max_difference() -> float:
    pixel_values = torch.randn(1, 3, 1024, 1024, generator=torch.Generator().manual_seed(1))
    reference = forward(build("transformers-eager"), pixel_values)
    return (forward(build("docvlm-sdpa"), pixel_values) - reference).abs().max().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        return
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"max |docvlm - transformers| at batch 1: {max_difference():.2e} (target ≤ 1e-4)")
    for batch in args.batches:
        ref = measure("transformers-eager", batch, args.repeats)
        ours = measure("docvlm-sdpa", batch, args.repeats)
        print(
            f"batch {batch}: transformers eager {ref['seconds']:.2f} s, {ref['peak_mb']:.0f} MB | "
            f"docvlm sdpa {ours['seconds']:.2f} s, {ours['peak_mb']:.0f} MB | "
            f"speed-up {ref['seconds'] / ours['seconds']:.2f}x (target ≥ 1.5), "
            f"memory ratio {ours['peak_mb'] / ref['peak_mb']:.2f} (target ≤ 0.5)"
        )


if __name__ == "__main__":
    main()
