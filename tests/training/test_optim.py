import torch
from torch import nn

from course_lib.training.optim import make_adamw, parameter_groups


def test_groups_split_matrices_from_vectors(tiny_lm_factory):
    model = tiny_lm_factory()
    decay, no_decay = parameter_groups(model, weight_decay=0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert {names[id(p)] for p in decay["params"]} == {"embed.weight", "head.weight"}
    assert {names[id(p)] for p in no_decay["params"]} == {"norm.weight", "norm.bias", "head.bias"}


def test_tied_weights_appear_once():
    model = nn.Sequential(nn.Embedding(5, 4), nn.Linear(4, 5, bias=False))
    model[1].weight = model[0].weight  # tie output head to embedding
    decay, no_decay = parameter_groups(model, 0.1)
    assert len(decay["params"]) == 1 and not no_decay["params"]


def test_decay_shrinks_only_matrices(tiny_lm_factory):
    """With zero gradients AdamW's only update is decoupled decay: p <- p * (1 - lr * wd) on matrices."""
    model = tiny_lm_factory()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = make_adamw(model, lr=0.1, weight_decay=0.5)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    for name, p in model.named_parameters():
        expected = before[name] * (1 - 0.1 * 0.5) if p.dim() >= 2 else before[name]
        torch.testing.assert_close(p.detach(), expected, msg=name)
