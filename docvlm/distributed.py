"""Batch runs over Ray Data: documents are mapped by Parser actors (GPU actors on request)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from docvlm.batch.cache import PageCache
from docvlm.batch.inputs import InputFile
from docvlm.batch.outcome import DocumentOutcome, parse_input
from docvlm.errors import EngineUnavailableError
from docvlm.pipeline import Parser


class _ParserActor:
    """One Parser per actor: engines (and a VLM on its GPU) load once, then serve documents."""

    def __init__(self, parser_options: dict[str, Any], cache: PageCache, options: dict) -> None:
        self.parser = Parser(**parser_options)
        self.cache = cache
        self.options = options

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        results = []
        for path, stem in zip(batch["path"], batch["output_stem"], strict=True):
            item = InputFile(Path(path), Path(stem))
            outcome = parse_input(self.parser, item, self.cache, **self.options)
            results.append(json.dumps({**asdict(outcome), "input": [path, stem]}))
        return {"outcome": results}


def ray_outcomes(
    inputs: Sequence[InputFile],
    parser_options: dict[str, Any],
    cache: PageCache,
    options: dict[str, Any],
    address: str,
    actors: int,
    num_gpus: float,
) -> Iterator[DocumentOutcome]:
    """Outcomes of every input, parsed by `actors` Ray actors, in completion order."""
    try:
        import ray
    except ImportError:
        raise EngineUnavailableError("--ray needs Ray: pip install 'docvlm[ray]'") from None

    if not ray.is_initialized():
        ray.init(
            address=None if address == "local" else address,
            log_to_driver=False,
            include_dashboard=False,
            configure_logging=False,
        )
    rows = [{"path": str(i.path), "output_stem": str(i.output_stem)} for i in inputs]
    if not rows:
        return
    actor_arguments = {"parser_options": parser_options, "cache": cache, "options": options}
    dataset = ray.data.from_items(rows).map_batches(
        _ParserActor,
        fn_constructor_kwargs=actor_arguments,
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=max(1, actors)),
        num_gpus=num_gpus,
        num_cpus=1,
    )
    for row in dataset.iter_rows():
        fields = json.loads(row["outcome"])
        path, stem = fields.pop("input")
        yield DocumentOutcome(input=InputFile(Path(path), Path(stem)), **fields)
