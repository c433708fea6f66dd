"""What a docvlm model computes: image views → visual tokens → `<imgpad>` slots → causal LM."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoModel, BitsAndBytesConfig, GenerationMixin, PreTrainedModel
from transformers.cache_utils import Cache
from transformers.modeling_outputs import BaseModelOutputWithPast, CausalLMOutputWithPast
from transformers.modeling_utils import slice_logits_to_keep

from .configuration_docvlm import DocVLMConfig
from .sam import SamEncoder, SamProjector

# Kept out of bitsandbytes quantization: the towers are small and quantizing them hurts OCR;
# lm_head stays too, as transformers does for every causal LM.
HIGH_PRECISION_MODULES = (
    "model.vision_tower",
    "model.multi_modal_projector",
    "model.clip_tower",
    "model.clip_projector",
    "lm_head",
)


@dataclass
class DocVLMModelOutput(BaseModelOutputWithPast):
    """Decoder output plus the fused visual tokens of this step, (views, N, hidden) or None."""

    image_features: torch.Tensor | None = None


@dataclass
class DocVLMCausalLMOutput(CausalLMOutputWithPast):
    """Causal-LM output plus the fused visual tokens of this step, (views, N, hidden) or None."""

    image_features: torch.Tensor | None = None


class DocVLMPreTrainedModel(PreTrainedModel):
    config_class = DocVLMConfig
    config: DocVLMConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    input_modalities = ("image", "text")
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    _supports_flash_attn = True
    _supports_attention_backend = True
    _no_split_modules = ["SamLayer", "CLIPEncoderLayer"]


class DocVLMModel(DocVLMPreTrainedModel):
    """SAM (+ CLIP) branches and the decoder body, without the LM head."""

    def __init__(self, config: DocVLMConfig):
        super().__init__(config)
        hidden = config.text_config.hidden_size
        # Vary gives each branch half the LLM width and concatenates them: [CLIP ‖ SAM].
        branch_dim = hidden // 2 if config.clip_config is not None else hidden
        self.vision_tower = SamEncoder(config.vision_config)
        self.multi_modal_projector = SamProjector(config.vision_config, branch_dim)
        self.clip_tower = None
        self.clip_projector = None
        if config.clip_config is not None:
            self.clip_tower = AutoModel.from_config(config.clip_config)
            self.clip_projector = nn.Linear(config.clip_config.hidden_size, branch_dim)
        self.language_model = AutoModel.from_config(config.text_config)
        self.post_init()

    def get_input_embeddings(self) -> nn.Module:
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.language_model.set_input_embeddings(value)

    def get_image_features(
        self, pixel_values: torch.Tensor, clip_pixel_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Fused visual tokens (views, N, hidden) for SAM views (and CLIP views, same order)."""
        sam_dtype = self.vision_tower.patch_embed.projection.weight.dtype
        neck = self.vision_tower(pixel_values.to(sam_dtype))  # (V, 256, 64, 64)
        sam_tokens = self.multi_modal_projector(neck)  # (V, 256, hidden or hidden/2)
        if self.clip_tower is None:
            return sam_tokens
        if clip_pixel_values is None or clip_pixel_values.shape[0] != pixel_values.shape[0]:
            raise ValueError("a dual-branch model needs one clip_pixel_values view per SAM view")
        clip_dtype = self.clip_projector.weight.dtype
        clip_out = self.clip_tower(clip_pixel_values.to(clip_dtype), output_hidden_states=True)
        clip_hidden = clip_out.hidden_states[self.config.clip_feature_layer][:, 1:]  # drop CLS
        clip_tokens = self.clip_projector(clip_hidden)  # (V, 256, hidden/2)
        return torch.cat([clip_tokens, sam_tokens], dim=-1)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.Tensor | None = None,
        clip_pixel_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        use_cache: bool | None = None,
        **kwargs,
    ) -> DocVLMModelOutput:
        """Decoder states, with the image features written into the `<imgpad>` slots."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("pass exactly one of input_ids or inputs_embeds")
        if inputs_embeds is None:
            inputs_embeds = self.get_input_embeddings()(input_ids)
        image_features = None
        if pixel_values is not None:
            if input_ids is None:
                raise ValueError("pixel_values need input_ids to locate the <imgpad> tokens")
            image_features = self.get_image_features(pixel_values, clip_pixel_values)
            inputs_embeds = self._scatter_image_features(input_ids, inputs_embeds, image_features)
        outputs = self.language_model(
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            return_dict=True,
            **kwargs,
        )
        return DocVLMModelOutput(**outputs, image_features=image_features)

    def _scatter_image_features(
        self, input_ids: torch.Tensor, inputs_embeds: torch.Tensor, image_features: torch.Tensor
    ) -> torch.Tensor:
        """Write the visual tokens into the `<imgpad>` positions, in reading order."""
        slots = input_ids == self.config.image_token_id
        if int(slots.sum()) != image_features.shape[0] * image_features.shape[1]:
            raise ValueError(
                f"{int(slots.sum())} <imgpad> tokens but {image_features.shape[0]} views × "
                f"{image_features.shape[1]} features; build prompts with num_image_tokens per view"
            )
        features = image_features.to(inputs_embeds.device, inputs_embeds.dtype)
        return inputs_embeds.masked_scatter(slots.unsqueeze(-1).to(inputs_embeds.device), features)


class DocVLMForConditionalGeneration(DocVLMPreTrainedModel, GenerationMixin):
    """Vary / GOT-OCR2.0-style OCR model: `generate(input_ids, pixel_values, clip_pixel_values)`."""

    _tied_weights_keys = {"lm_head.weight": "model.language_model.embed_tokens.weight"}

    def __init__(self, config: DocVLMConfig):
        super().__init__(config)
        self.model = DocVLMModel(config)
        self.lm_head = nn.Linear(
            config.text_config.hidden_size, config.text_config.vocab_size, bias=False
        )
        self.post_init()

    @classmethod
    def from_pretrained(cls, *args, quantization_config=None, **kwargs):
        """Load weights; a bitsandbytes config without skip modules quantizes the LLM only."""
        if quantization_config is not None:
            if (
                isinstance(quantization_config, BitsAndBytesConfig)
                and quantization_config.llm_int8_skip_modules is None
            ):
                quantization_config = copy.deepcopy(quantization_config)
                quantization_config.llm_int8_skip_modules = list(HIGH_PRECISION_MODULES)
            kwargs["quantization_config"] = quantization_config
        return super().from_pretrained(*args, **kwargs)

    def get_input_embeddings(self) -> nn.Module:
        return self.model.get_input_embeddings()

    def set_input_embeddings(self, value: nn.Module) -> None:
        self.model.set_input_embeddings(value)

    def get_output_embeddings(self) -> nn.Module:
        return self.lm_head

    def set_output_embeddings(self, value: nn.Module) -> None:
        self.lm_head = value

    def get_image_features(
        self, pixel_values: torch.Tensor, clip_pixel_values: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Fused visual tokens (views, N, hidden)."""
        return self.model.get_image_features(pixel_values, clip_pixel_values)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.Tensor | None = None,
        clip_pixel_values: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache: Cache | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        past_key_values: Cache | None = None,
        **kwargs,
    ) -> DocVLMCausalLMOutput:
        """Logits (and loss when `labels` are given, -100 = ignored) for a text+image batch."""
        kwargs.pop("return_dict", None)  # outputs are always dataclasses
        outputs = self.model(
            input_ids=input_ids,
            pixel_values=pixel_values,
            clip_pixel_values=clip_pixel_values,
            attention_mask=attention_mask,
            position_ids=position_ids,
            cache=cache if cache is not None else past_key_values,
            inputs_embeds=inputs_embeds,
            use_cache=use_cache,
            **kwargs,
        )
        hidden_states = slice_logits_to_keep(outputs.last_hidden_state, logits_to_keep)
        logits = self.lm_head(hidden_states)
        loss = None
        if labels is not None:
            loss = self.loss_function(
                logits=logits, labels=labels, vocab_size=self.config.text_config.vocab_size
            )
        return DocVLMCausalLMOutput(
            loss=loss,
            logits=logits,
            cache=outputs.cache,
            hidden_states=outputs.hidden_states,
            attentions=outputs.attentions,
            image_features=outputs.image_features,
        )

    def prepare_inputs_for_generation(self, *args, is_first_iteration: bool = False, **kwargs):
        """Images only on the prefill step; decoding steps reuse the KV cache."""
        model_inputs = super().prepare_inputs_for_generation(
            *args, is_first_iteration=is_first_iteration, **kwargs
        )
        if not is_first_iteration and kwargs.get("use_cache", True):
            model_inputs.pop("clip_pixel_values", None)
        return model_inputs
