"""The Vary-style model: config, modeling, conversion; registered with the Auto classes."""

from transformers import (
    AutoConfig,
    AutoImageProcessor,
    AutoModel,
    AutoModelForImageTextToText,
    AutoProcessor,
)
from transformers.conversion_mapping import register_checkpoint_conversion_mapping
from transformers.core_model_loading import WeightRenaming

from .configuration_docvlm import PRESETS, DocVLMConfig, DocVLMVisionConfig
from .modeling_docvlm import (
    HIGH_PRECISION_MODULES,
    DocVLMCausalLMOutput,
    DocVLMForConditionalGeneration,
    DocVLMModel,
    DocVLMPreTrainedModel,
)
from .processing_docvlm import DocVLMImageProcessor, DocVLMProcessor

AutoConfig.register(DocVLMConfig.model_type, DocVLMConfig, exist_ok=True)
AutoConfig.register(DocVLMVisionConfig.model_type, DocVLMVisionConfig, exist_ok=True)
AutoModel.register(DocVLMConfig, DocVLMModel, exist_ok=True)
AutoModelForImageTextToText.register(DocVLMConfig, DocVLMForConditionalGeneration, exist_ok=True)
AutoImageProcessor.register(DocVLMConfig, DocVLMImageProcessor, exist_ok=True)
AutoProcessor.register(DocVLMConfig, DocVLMProcessor, exist_ok=True)

# GOT-OCR-2.0-hf files use the legacy top-level layout (`vision_tower.*`, `language_model.model.*`);
# the same renaming transformers applies to got_ocr2 lets those files load as they are, and
# save_pretrained writes that layout back.
register_checkpoint_conversion_mapping(
    DocVLMConfig.model_type,
    [
        WeightRenaming(source_patterns=r"^language_model.lm_head", target_patterns="lm_head"),
        WeightRenaming(source_patterns=r"^language_model", target_patterns="model.language_model"),
        WeightRenaming(source_patterns=r"^vision_tower", target_patterns="model.vision_tower"),
        WeightRenaming(
            source_patterns=r"^multi_modal_projector", target_patterns="model.multi_modal_projector"
        ),
        WeightRenaming(source_patterns=r"^clip_tower", target_patterns="model.clip_tower"),
        WeightRenaming(source_patterns=r"^clip_projector", target_patterns="model.clip_projector"),
    ],
    overwrite=True,
)

__all__ = [
    "HIGH_PRECISION_MODULES",
    "PRESETS",
    "DocVLMCausalLMOutput",
    "DocVLMConfig",
    "DocVLMForConditionalGeneration",
    "DocVLMImageProcessor",
    "DocVLMModel",
    "DocVLMPreTrainedModel",
    "DocVLMProcessor",
    "DocVLMVisionConfig",
]
