"""Fine-tuning a BERT encoder for sentence classification: frozen features + linear probe, or training its top.

Devlin et al. (2019) fine-tune every layer; the cheaper alternatives compared in lecture 8 are a *linear probe* on
frozen features (only a ``(n_classes, d)`` matrix is trained) and training the top layer(s) with the rest frozen.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from course_lib.models.bert import BertConfig, BertForMaskedLM, BertForSequenceClassification, BertModel, mean_pool
from course_lib.tokenizers.bert_basic import BertTokenizer

POOLINGS = ("cls", "mean")


def batches(tokenizer: BertTokenizer, texts: Sequence[str], batch_size: int = 32, max_len: int = 64):
    """Yield ``{"input_ids", "attention_mask", "token_type_ids"}`` tensors of ``(B, T)`` for consecutive texts."""
    for start in range(0, len(texts), batch_size):
        batch = tokenizer.batch(list(texts[start : start + batch_size]), max_len=max_len)
        yield {name: torch.tensor(rows) for name, rows in batch.items()}


@torch.no_grad()
def sentence_features(model: BertModel, tokenizer: BertTokenizer, texts: Sequence[str], **kw) -> dict[str, Tensor]:
    """Frozen sentence features from one forward pass: ``{"cls": (N, d), "mean": (N, d)}``, the ``[CLS]`` hidden
    state and the mean over real tokens (padding excluded)."""
    model.eval()
    cls, mean = [], []
    for batch in batches(tokenizer, texts, **kw):
        hidden = model(**batch).last_hidden_state
        cls.append(hidden[:, 0])
        mean.append(mean_pool(hidden, batch["attention_mask"]))
    return {"cls": torch.cat(cls), "mean": torch.cat(mean)}


def encode(model: BertModel, tokenizer: BertTokenizer, texts: Sequence[str], pooling: str = "mean", **kw) -> Tensor:
    """Frozen sentence features ``(N, d)``: the ``[CLS]`` hidden state, or the mean over real tokens."""
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    return sentence_features(model, tokenizer, texts, **kw)[pooling]


def train_linear_probe(
    features: Tensor, labels: Tensor, n_classes: int = 2, epochs: int = 300, lr: float = 0.01, weight_decay=1e-4
) -> torch.nn.Linear:
    """A softmax classifier on fixed ``(N, d)`` features, full-batch Adam on cross-entropy (features standardised
    inside: the probe stores the mean and scale it applies)."""
    torch.manual_seed(0)
    mean, scale = features.mean(0), features.std(0).clamp(min=1e-6)
    probe = torch.nn.Linear(features.shape[1], n_classes)
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr, weight_decay=weight_decay)
    x = (features - mean) / scale
    for _ in range(epochs):
        loss = F.cross_entropy(probe(x), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():  # fold the standardisation into the weights, so the probe takes raw features
        probe.bias -= (probe.weight / scale) @ mean
        probe.weight /= scale
    return probe


def finetune(
    model: BertForSequenceClassification,
    tokenizer: BertTokenizer,
    data: Sequence[tuple[int, str]],
    top_layers: int | None = None,
    epochs: int = 2,
    lr: float = 5e-5,
    head_lr: float = 1e-3,
    batch_size: int = 32,
    seed: int = 0,
) -> list[float]:
    """Train ``model`` on ``(label, text)`` pairs; ``top_layers=k`` trains only the last ``k`` encoder layers and the
    head (``None``: everything). Returns the loss of every step.

    The pretrained layers take small AdamW steps (``lr``); the head (classifier, and the pooler for ``[CLS]``
    pooling) takes larger ones (``head_lr``). It starts from random weights, and with one small learning rate it
    barely moves in a CPU-sized run: a logit can change by at most about ``lr * d * |input|`` per step, and
    all-MiniLM-L6-v2's untrained pooler gives inputs near 0.05, so 16 steps at 1e-4 left SST-2 at chance.
    """
    encoder_params = list(model.bert.parameters())
    head_params = [p for module in model.head() for p in module.parameters()]
    head_ids = {id(p) for p in head_params}
    body = [p for p in encoder_params if id(p) not in head_ids]  # the pooler belongs to the head, not the body
    if top_layers is not None:
        layers = model.bert.encoder.layer
        body = [p for layer in layers[len(layers) - top_layers :] for p in layer.parameters()]
    trainable = {id(p) for p in [*body, *head_params]}
    for p in model.parameters():
        p.requires_grad_(id(p) in trainable)
    optimizer = torch.optim.AdamW([{"params": body, "lr": lr}, {"params": head_params, "lr": head_lr}])
    generator = torch.Generator().manual_seed(seed)
    losses = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=generator).tolist()
        shuffled = [data[i] for i in order]
        for start in range(0, len(shuffled), batch_size):
            chunk = shuffled[start : start + batch_size]
            batch = next(batches(tokenizer, [text for _, text in chunk], batch_size=len(chunk)))
            _, loss = model(**batch, labels=torch.tensor([label for label, _ in chunk]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def accuracy(model: BertForSequenceClassification, tokenizer: BertTokenizer, data: Sequence[tuple[int, str]]) -> float:
    """Share of ``(label, text)`` pairs whose argmax logit is the label."""
    model.eval()
    texts, labels = [text for _, text in data], torch.tensor([label for label, _ in data])
    predictions = torch.cat([model(**batch)[0].argmax(-1) for batch in batches(tokenizer, texts)])
    return float((predictions == labels).float().mean())


def pretrain_mlm(
    model,
    tokenizer: BertTokenizer,
    texts: Sequence[str],
    steps: int = 200,
    batch_size: int = 32,
    max_len: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
) -> list[float]:
    """Masked-language-model pretraining of a :class:`~course_lib.models.bert.BertForMaskedLM` on ``texts``
    (random batches, 15% of non-special tokens chosen, 80/10/10; see ``course_lib.training.objectives``).
    Returns the loss of every step."""
    from course_lib.training.objectives import IGNORE_INDEX, mask_tokens

    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        rows = torch.randint(len(texts), (batch_size,), generator=generator).tolist()
        batch = next(batches(tokenizer, [texts[i] for i in rows], batch_size=batch_size, max_len=max_len))
        inputs, labels = mask_tokens(
            batch["input_ids"], tokenizer.special_ids, tokenizer.mask_id, tokenizer.vocab_size, generator
        )
        hidden = model.bert(inputs, batch["attention_mask"]).last_hidden_state
        chosen = labels != IGNORE_INDEX  # the vocabulary-sized output layer only where there is a loss: ~7x cheaper
        loss = F.cross_entropy(model.cls.predictions(hidden[chosen]), labels[chosen])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return losses


def scratch_vs_pretrained(
    config: BertConfig,
    tokenizer: BertTokenizer,
    corpus: Sequence[str],
    train: Sequence[tuple[int, str]],
    dev: Sequence[tuple[int, str]],
    mlm_steps: int = 120,
    mlm_lr: float = 2e-3,
    epochs: int = 3,
    lr: float = 1e-3,
    pooling: str = "mean",
    seed: int = 0,
) -> tuple[dict[str, float], list[float]]:
    """What pretraining buys: the same small BERT fine-tuned on ``train`` from random weights, and after
    ``mlm_steps`` of masked-language-model pretraining on ``corpus``; both get the same classifier initialisation.
    The classifier reads the mean of the final hidden states by default: MLM never trains the ``[CLS]`` vector to
    summarise the sentence, and after a short pretraining it is nearly the same for every input.

    Returns ``({"scratch": dev accuracy, "MLM-pretrained": dev accuracy}, the MLM losses)``.
    """
    torch.manual_seed(seed)
    mlm = BertForMaskedLM(config)
    mlm_losses = pretrain_mlm(mlm, tokenizer, corpus, steps=mlm_steps, lr=mlm_lr, seed=seed)
    torch.manual_seed(seed)
    scratch = BertModel(config)
    accuracies = {}
    for name, encoder in [("scratch", scratch), ("MLM-pretrained", mlm.bert)]:
        torch.manual_seed(seed + 1)
        model = BertForSequenceClassification(config, pooling=pooling)
        state = {k: v for k, v in encoder.state_dict().items() if not k.startswith("pooler")}  # MLM has no pooler
        model.bert.load_state_dict(state, strict=False)
        finetune(model, tokenizer, train, epochs=epochs, lr=lr, head_lr=lr, seed=seed)
        accuracies[name] = accuracy(model, tokenizer, dev)
    return accuracies, mlm_losses
