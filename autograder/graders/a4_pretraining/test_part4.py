"""Hidden tests for A4 part 4: a classification head on frozen features.
Oracles: the stated formula for the logits; a reference logistic regression (L-BFGS in float64) for the accuracy.

Clause -> test: logits from position 0 ([CLS]), W (n_classes, d) -> test_classifier_cls_logits_use_the_first_token;
(W, b) returned, held-out accuracy within 3 points of the reference -> test_classifier_trains_to_the_reference_accuracy.
"""

import pytest
import torch

from autograder.checks import check_close, check_type


@pytest.mark.points(4)
def test_classifier_cls_logits_use_the_first_token(student, rng):
    """cls_logits reads the [CLS] position (0) of every row: (B, T, d) -> (B, n_classes), random shapes."""
    for B, T, d, n_classes in ((4, 7, 6, 3), (2, 3, 10, 2)):
        hidden = torch.randn(B, T, d, generator=rng)
        W, b = torch.randn(n_classes, d, generator=rng), torch.randn(n_classes, generator=rng)
        check_close(student.cls_logits(hidden, W, b), hidden[:, 0] @ W.T + b, "cls_logits", atol=1e-5)


def _problem(rng: torch.Generator, n: int, d: int, n_classes: int):
    """Gaussian classes with overlapping clouds in d dimensions, so accuracy lies well below 100%."""
    means = 1.2 * torch.randn(n_classes, d, generator=rng) / d**0.25
    labels = torch.randint(0, n_classes, (n,), generator=rng)
    features = means[labels] + torch.randn(n, d, generator=rng)
    return features, labels


def _reference_accuracy(x, y, x_test, y_test, n_classes) -> float:
    W = torch.zeros(n_classes, x.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([W, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x.double() @ W.T + b, y) + 1e-3 * (W**2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(((x_test.double() @ W.T + b).argmax(1) == y_test).double().mean())


@pytest.mark.points(6)
def test_classifier_trains_to_the_reference_accuracy(student, rng):
    """train_classifier on a drawn 3-class problem (600 points, 64 features): held-out accuracy within 3 points of
    a reference logistic regression."""
    n_classes = 3
    x, y = _problem(rng, 1600, 64, n_classes)
    x_train, y_train, x_test, y_test = x[:600], y[:600], x[600:], y[600:]
    got = student.train_classifier(x_train, y_train, n_classes)
    check_type(got, tuple, "train_classifier")
    if len(got) != 2 or not all(isinstance(t, torch.Tensor) for t in got):
        raise AssertionError("train_classifier must return (W, b), two tensors")
    W, b = got
    if tuple(W.shape) != (n_classes, 64) or tuple(b.shape) != (n_classes,):
        raise AssertionError(
            f"train_classifier returned W {tuple(W.shape)} and b {tuple(b.shape)}, expected (3, 64), (3,)"
        )
    accuracy = float(((x_test @ W.float().T + b.float()).argmax(1) == y_test).float().mean())
    reference = _reference_accuracy(x_train, y_train, x_test, y_test, n_classes)
    if accuracy < reference - 0.03:
        raise AssertionError(f"held-out accuracy {accuracy:.3f} is more than 3 points below the reference classifier")
