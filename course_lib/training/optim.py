"""AdamW with weight decay on weight matrices only (GPT-2/3 and nanoGPT practice).

Decay pulls weights towards zero. On matrices (linear layers, embeddings) it acts as a regulariser; on biases
and norm gains it only fights the model (a LayerNorm gain decayed towards 0 switches the layer off), so those
one-dimensional parameters form a second group with ``weight_decay=0``.
"""

from __future__ import annotations

import torch
from torch import nn


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Two AdamW parameter groups: tensors with ``dim >= 2`` decayed, the rest (biases, norm gains) not.

    Tied parameters (an embedding shared with the output head) appear once, as ``named_parameters`` does.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]


def make_adamw(
    model: nn.Module,
    *,
    lr: float,
    weight_decay: float,
    betas: tuple[float, float] = (0.9, 0.95),
    device: torch.device | str = "cpu",
) -> torch.optim.AdamW:
    """AdamW over :func:`parameter_groups`; the fused CUDA kernel on GPUs (one launch for all tensors)."""
    fused = torch.device(device).type == "cuda"
    return torch.optim.AdamW(parameter_groups(model, weight_decay), lr=lr, betas=betas, fused=fused)
