"""BERT: a bidirectional transformer encoder pretrained by masked language modelling (Devlin et al. 2019).

    input_ids (B, T), token_type_ids (B, T) -> word + position + token-type embeddings -> LayerNorm -> dropout
        -> n_layers x [self-attention -> dropout -> Add & LayerNorm -> GELU feed-forward -> dropout -> Add & LayerNorm]
        -> hidden states (B, T, d_model);  pooler: tanh(dense(h[:, 0])), the ``[CLS]`` summary (B, d_model)

Unlike GPT (course_lib.models.gpt) the blocks are *post*-LN (normalise after the residual add, as in Vaswani et al.
2017), the GELU is the exact erf form, LayerNorm's eps is 1e-12 and there is no causal mask: every token sees every
other non-padding token. Padding is removed by an *additive* mask: a very negative number added to the scores of
padded keys before the softmax.

Module and parameter names are Hugging Face's (``embeddings.word_embeddings.weight``,
``encoder.layer.0.attention.self.query.weight``, ...), so a published checkpoint's ``state_dict`` loads as it is:
:meth:`BertModel.from_pretrained` reads a directory holding ``config.json`` and ``model.safetensors``. Linear
weights are stored ``[out, in]`` (PyTorch's convention), so they load without a transpose.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.errors import CourseError
from course_lib.nn.attention import scaled_dot_product_attention

# config.json key (Hugging Face) -> BertConfig field (the course's names)
_HF_KEYS = {
    "vocab_size": "vocab_size",
    "hidden_size": "d_model",
    "num_hidden_layers": "n_layers",
    "num_attention_heads": "n_heads",
    "intermediate_size": "d_ff",
    "max_position_embeddings": "max_len",
    "type_vocab_size": "type_vocab_size",
    "layer_norm_eps": "layer_norm_eps",
    "hidden_dropout_prob": "dropout",
    "attention_probs_dropout_prob": "attention_dropout",
    "pad_token_id": "pad_token_id",
}


@dataclass
class BertConfig:
    vocab_size: int = 30522
    d_model: int = 768
    n_layers: int = 12
    n_heads: int = 12
    d_ff: int = 3072
    max_len: int = 512  # longest input (learned position embeddings)
    type_vocab_size: int = 2  # segment A / segment B
    layer_norm_eps: float = 1e-12
    dropout: float = 0.1
    attention_dropout: float = 0.1
    pad_token_id: int = 0

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise CourseError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")

    @classmethod
    def from_hf_dict(cls, config: dict) -> BertConfig:
        """From a Hugging Face ``config.json`` dict; only BERT's absolute positions and erf GELU are supported."""
        if config.get("hidden_act", "gelu") != "gelu":
            raise CourseError(f"BertConfig supports hidden_act 'gelu' (erf), not {config['hidden_act']!r}")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise CourseError("BertConfig supports absolute position embeddings only")
        return cls(**{ours: config[hf] for hf, ours in _HF_KEYS.items() if hf in config})

    def to_hf_dict(self) -> dict:
        """The Hugging Face ``config.json`` form (for saving, or for building ``transformers.BertConfig``)."""
        ours_to_hf = {ours: hf for hf, ours in _HF_KEYS.items()}
        config = {ours_to_hf[f.name]: getattr(self, f.name) for f in fields(self)}
        return {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute", **config}


@dataclass
class BertEncoding:
    """What :class:`BertModel` returns."""

    last_hidden_state: Tensor  # (B, T, d_model)
    pooler_output: Tensor | None  # (B, d_model): tanh(dense(h[:, 0])); None without a pooler
    attentions: list[Tensor] | None = None  # n_layers x (B, n_heads, T, T), with return_attentions=True


class BertEmbeddings(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.d_model, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_len, config.d_model)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.d_model)
        self.LayerNorm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor) -> Tensor:  # (B, T), (B, T) -> (B, T, d)
        T = input_ids.shape[1]
        if T > self.position_embeddings.num_embeddings:
            raise CourseError(f"input of length {T} exceeds max_len={self.position_embeddings.num_embeddings}")
        positions = torch.arange(T, device=input_ids.device)
        x = (
            self.word_embeddings(input_ids)
            + self.position_embeddings(positions)
            + self.token_type_embeddings(token_type_ids)
        )
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.n_heads = config.n_heads
        self.query = nn.Linear(config.d_model, config.d_model)
        self.key = nn.Linear(config.d_model, config.d_model)
        self.value = nn.Linear(config.d_model, config.d_model)
        self.dropout_p = config.attention_dropout

    def forward(self, x: Tensor, additive_mask: Tensor, return_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        """``x (B, T, d)``, ``additive_mask (B, 1, 1, T)`` (0 or very negative) -> ``(B, T, d)`` [and weights]."""
        B, T, d = x.shape

        def heads(t: Tensor) -> Tensor:  # (B, T, d) -> (B, n_heads, T, d / n_heads)
            return t.view(B, T, self.n_heads, d // self.n_heads).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        dropout_p = self.dropout_p if self.training else 0.0
        if return_weights:  # the written-out formula, which can hand back the weights
            out, weights = scaled_dot_product_attention(q, k, v, additive_mask, dropout_p, return_weights=True)
        else:  # PyTorch's fused kernel: the same function, faster
            out, weights = F.scaled_dot_product_attention(q, k, v, attn_mask=additive_mask, dropout_p=dropout_p), None
        return out.transpose(1, 2).reshape(B, T, d), weights


class BertSelfOutput(nn.Module):
    """Project the heads back, then post-LN: ``LayerNorm(x + dropout(dense(h)))``."""

    def __init__(self, config: BertConfig, d_in: int) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, config.d_model)
        self.LayerNorm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, h: Tensor, residual: Tensor) -> Tensor:
        return self.LayerNorm(residual + self.dropout(self.dense(h)))


class BertAttention(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(config)
        self.output = BertSelfOutput(config, config.d_model)

    def forward(self, x: Tensor, additive_mask: Tensor, return_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        h, weights = self.self(x, additive_mask, return_weights)
        return self.output(h, x), weights


class BertIntermediate(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_ff)

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(self.dense(x))  # the exact erf GELU, not the tanh approximation


class BertLayer(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(config)
        self.intermediate = BertIntermediate(config)
        self.output = BertSelfOutput(config, config.d_ff)  # Hugging Face calls this one BertOutput

    def forward(self, x: Tensor, additive_mask: Tensor, return_weights: bool = False) -> tuple[Tensor, Tensor | None]:
        x, weights = self.attention(x, additive_mask, return_weights)
        return self.output(self.intermediate(x), x), weights


class BertEncoder(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(config) for _ in range(config.n_layers))


class BertPooler(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.d_model, config.d_model)

    def forward(self, hidden: Tensor) -> Tensor:  # (B, T, d) -> (B, d), from the [CLS] position
        return torch.tanh(self.dense(hidden[:, 0]))


def additive_padding_mask(attention_mask: Tensor, dtype: torch.dtype) -> Tensor:
    """``(B, T)`` 1 = token, 0 = padding -> ``(B, 1, 1, T)`` with 0 for tokens and the dtype's minimum for padding.

    Added to every query's scores, it drives the softmax weight of padded keys to 0 (``exp(min) = 0``).
    """
    keep = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - keep) * torch.finfo(dtype).min


class BertModel(nn.Module):
    """The BERT encoder; ``forward`` returns a :class:`BertEncoding`."""

    def __init__(self, config: BertConfig, add_pooler: bool = True) -> None:
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooler else None  # the MLM model has none
        self.apply(_init_weights)

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        token_type_ids: Tensor | None = None,
        return_attentions: bool = False,
    ) -> BertEncoding:
        """``input_ids (B, T)``; ``attention_mask (B, T)`` 1 for tokens, 0 for padding (default: all 1);
        ``token_type_ids (B, T)`` 0 for segment A, 1 for segment B (default: all 0)."""
        if input_ids.dim() != 2:
            raise CourseError(f"input_ids must be (B, T), got shape {tuple(input_ids.shape)}")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)
        mask = additive_padding_mask(attention_mask, x.dtype)
        attentions = []
        for layer in self.encoder.layer:
            x, weights = layer(x, mask, return_attentions)
            attentions.append(weights)
        pooled = None if self.pooler is None else self.pooler(x)
        return BertEncoding(x, pooled, attentions if return_attentions else None)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike) -> BertModel:
        """Load ``config.json`` and ``model.safetensors`` from ``directory`` (strict: every weight must match)."""
        config, state = load_checkpoint(directory)
        model = cls(config)
        model.load_state_dict(_strip_prefix(state, "bert."), strict=True)
        return model.eval()


class BertMLMHead(nn.Module):
    """``cls.predictions``: dense -> GELU -> LayerNorm -> decoder tied to the word embeddings (its bias is ``bias``)."""

    def __init__(self, config: BertConfig, word_embeddings: nn.Embedding) -> None:
        super().__init__()
        self.transform = nn.Module()
        self.transform.dense = nn.Linear(config.d_model, config.d_model)
        self.transform.LayerNorm = nn.LayerNorm(config.d_model, eps=config.layer_norm_eps)
        self.decoder = nn.Linear(config.d_model, config.vocab_size)
        self.decoder.weight = word_embeddings.weight  # weight tying (Press & Wolf 2017)
        self.bias = self.decoder.bias  # one parameter under both of Hugging Face's names

    def forward(self, hidden: Tensor) -> Tensor:  # (B, T, d) -> logits (B, T, vocab_size)
        h = self.transform.LayerNorm(F.gelu(self.transform.dense(hidden)))
        return self.decoder(h)


class BertForMaskedLM(nn.Module):
    """BERT + the MLM head; ``forward`` returns logits ``(B, T, vocab_size)`` and, given labels, the loss.

    ``labels (B, T)`` hold the original id at masked positions and -100 elsewhere (ignored by the loss), as made by
    :func:`course_lib.training.objectives.mask_tokens`.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.bert = BertModel(config, add_pooler=False)
        self.cls = nn.Module()
        self.cls.predictions = BertMLMHead(config, self.bert.embeddings.word_embeddings)
        self.cls.predictions.apply(_init_weights)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None, labels=None
    ) -> tuple[Tensor, Tensor | None]:
        hidden = self.bert(input_ids, attention_mask, token_type_ids).last_hidden_state
        logits = self.cls.predictions(hidden)
        loss = None if labels is None else F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
        return logits, loss


class BertForSequenceClassification(nn.Module):
    """BERT + ``classifier`` on a sentence vector (Devlin et al. 2019, section 4.1): ``(B, T) -> (B, n_classes)``.

    ``pooling="cls"`` (BERT's choice) classifies the pooler's ``tanh(dense(h[:, 0]))``; ``pooling="mean"``
    classifies the mean of the final hidden states over real tokens, the sentence vector that sentence-transformers
    checkpoints such as all-MiniLM-L6-v2 were trained to produce (their pooler was never trained: see lecture 8).
    """

    def __init__(self, config: BertConfig, n_classes: int = 2, pooling: str = "cls") -> None:
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"pooling must be 'cls' or 'mean', got {pooling!r}")
        self.config = config
        self.pooling = pooling
        self.bert = BertModel(config)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.d_model, n_classes)
        _init_weights(self.classifier)

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, token_type_ids: Tensor | None = None, labels=None
    ) -> tuple[Tensor, Tensor | None]:
        out = self.bert(input_ids, attention_mask, token_type_ids)
        if self.pooling == "cls":
            pooled = out.pooler_output
        else:
            mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
            pooled = mean_pool(out.last_hidden_state, mask)
        logits = self.classifier(self.dropout(pooled))  # (B, n_classes)
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return logits, loss

    def head(self) -> list[nn.Module]:
        """The modules that turn the final hidden states into logits: the classifier, and the pooler if used."""
        if self.pooling == "mean" or self.bert.pooler is None:
            return [self.classifier]
        return [self.bert.pooler, self.classifier]

    @classmethod
    def from_pretrained(
        cls, directory: str | os.PathLike, n_classes: int = 2, pooling: str = "cls"
    ) -> BertForSequenceClassification:
        """The encoder from a checkpoint, a fresh classifier on top."""
        encoder = BertModel.from_pretrained(directory)
        model = cls(encoder.config, n_classes, pooling)
        model.bert = encoder
        return model


def mean_pool(hidden: Tensor, attention_mask: Tensor) -> Tensor:
    """Average of the token vectors, padding excluded: ``(B, T, d), (B, T) -> (B, d)`` (sentence-transformers)."""
    weights = attention_mask.to(hidden.dtype).unsqueeze(-1)  # (B, T, 1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def load_checkpoint(directory: str | os.PathLike) -> tuple[BertConfig, dict[str, Tensor]]:
    """``config.json`` -> :class:`BertConfig` and ``model.safetensors`` -> a state dict (tensors on the CPU)."""
    from safetensors.torch import load_file  # imported here: only loading a checkpoint needs it

    directory = Path(directory)
    for name in ("config.json", "model.safetensors"):
        if not (directory / name).is_file():
            raise CourseError(f"{directory} has no {name}; a BERT checkpoint needs config.json and model.safetensors")
    config = BertConfig.from_hf_dict(json.loads((directory / "config.json").read_text()))
    state = load_file(directory / "model.safetensors")
    state.pop("embeddings.position_ids", None)  # a constant arange that old checkpoints saved as a buffer
    state.pop("bert.embeddings.position_ids", None)
    return config, state


def _strip_prefix(state: dict[str, Tensor], prefix: str) -> dict[str, Tensor]:
    """Keep the encoder's weights: drop ``prefix`` where present, and the heads' weights (``cls.*``, ...)."""
    if any(key.startswith(prefix) for key in state):
        return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}
    return state


def _init_weights(module: nn.Module) -> None:
    """BERT's initialisation: N(0, 0.02) for linear and embedding weights, zero biases, unit LayerNorms."""
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
