"""The Vary-style model: config, modeling, conversion; registered with the Auto classes."""

from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText

from .configuration_docvlm import PRESETS, DocVLMConfig, DocVLMVisionConfig
from .modeling_docvlm import (
    HIGH_PRECISION_MODULES,
    DocVLMCausalLMOutput,
    DocVLMForConditionalGeneration,
    DocVLMModel,
    DocVLMPreTrainedModel,
)

AutoConfig.register(DocVLMConfig.model_type, DocVLMConfig, exist_ok=True)
AutoConfig.register(DocVLMVisionConfig.model_type, DocVLMVisionConfig, exist_ok=True)
AutoModel.register(DocVLMConfig, DocVLMModel, exist_ok=True)
AutoModelForImageTextToText.register(DocVLMConfig, DocVLMForConditionalGeneration, exist_ok=True)

__all__ = [
    "HIGH_PRECISION_MODULES",
    "PRESETS",
    "DocVLMCausalLMOutput",
    "DocVLMConfig",
    "DocVLMForConditionalGeneration",
    "DocVLMModel",
    "DocVLMPreTrainedModel",
    "DocVLMVisionConfig",
]
