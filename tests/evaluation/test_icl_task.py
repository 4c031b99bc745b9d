"""The synthetic in-context task: one mapping per sequence, answers consistent with the facts, the Bayes-optimal
accuracy, and an oracle model that looks facts up scores exactly that."""

import pytest
import torch

from course_lib.errors import CourseError
from course_lib.evaluation.icl_task import KeyValueTask, few_shot_accuracy

TASK = KeyValueTask(n_keys=5, n_values=4, n_facts=6, n_questions=7)


def decode(task, sequence):
    """facts {key: value} and questions [(key, answer)] of one training sequence."""
    tokens = sequence.tolist()
    assert tokens[0] == task.bos
    facts = [divmod(t, task.n_values) for t in tokens[1 : 1 + task.n_facts]]
    asked = tokens[1 + task.n_facts :]
    questions = [(q - task.first_question, a - task.first_answer) for q, a in zip(asked[::2], asked[1::2])]
    return facts, questions


def test_training_sequences_follow_one_mapping_each():
    sequences = TASK.sequences(200, torch.Generator().manual_seed(0))
    assert sequences.shape == (200, TASK.sequence_length) and sequences.max() < TASK.vocab_size
    mappings = set()
    for sequence in sequences:
        facts, questions = decode(TASK, sequence)
        assert all(0 <= k < TASK.n_keys and 0 <= a < TASK.n_values for k, a in questions)
        mapping = {}
        for key, value in facts + questions:
            assert mapping.setdefault(key, value) == value  # one value per key within the sequence
        mappings.add(tuple(sorted(mapping.items())))
    assert len(mappings) > 150  # fresh mappings: nothing to memorise across sequences
    assert TASK.stream(3, seed=1).shape == (3 * TASK.sequence_length,)


@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_few_shot_prompts_show_k_distinct_keys(k):
    prompts, answers = TASK.few_shot_prompts(k, 300, torch.Generator().manual_seed(k))
    assert prompts.shape == (300, k + 2) and answers.shape == (300,)
    for prompt, answer in zip(prompts.tolist(), answers.tolist()):
        facts = dict(divmod(t, TASK.n_values) for t in prompt[1:-1])
        assert len(facts) == k
        asked = prompt[-1] - TASK.first_question
        if asked in facts:
            assert facts[asked] == answer


class LookUp(torch.nn.Module):
    """The ideal in-context learner: the value of the asked key if a fact states it, else value 0."""

    def __init__(self, task):
        super().__init__()
        self.task, self.dummy = task, torch.nn.Parameter(torch.zeros(()))

    def forward(self, idx):
        logits = torch.zeros(*idx.shape, self.task.vocab_size)
        for row, tokens in enumerate(idx.tolist()):
            facts = dict(divmod(t, self.task.n_values) for t in tokens[1:-1])
            value = facts.get(tokens[-1] - self.task.first_question, 0)
            logits[row, -1, self.task.first_answer + value] = 1.0
        return logits, None


@pytest.mark.parametrize("k", [0, 2, 5])
def test_an_ideal_learner_scores_the_bayes_accuracy(k):
    accuracy = few_shot_accuracy(LookUp(TASK), TASK, k, n=4000, seed=k)
    expected = TASK.bayes_accuracy(k)
    sigma = (expected * (1 - expected) / 4000) ** 0.5
    assert abs(accuracy - expected) <= 5 * sigma + 1e-12
    assert TASK.bayes_accuracy(TASK.n_keys) == 1.0 and TASK.bayes_accuracy(0) == 1 / TASK.n_values


def test_bad_settings_are_errors():
    with pytest.raises(CourseError):
        KeyValueTask(n_keys=0)
    with pytest.raises(CourseError, match="k must lie"):
        TASK.few_shot_prompts(6, 1, torch.Generator())


@pytest.mark.slow
def test_a_one_layer_gpt_learns_in_context():
    from course_lib.evaluation.icl_task import train_in_context
    from course_lib.models.gpt import GPT, GPTConfig

    task = KeyValueTask(n_questions=16)
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=task.vocab_size, block_size=task.sequence_length, n_layers=1, n_heads=1, d_model=64)
    model = GPT(config)
    losses = train_in_context(model, task, 500, seed=0)
    assert len(losses) == 500 and losses[-1] < losses[0]
    k0, k8 = few_shot_accuracy(model, task, 0, n=1000, seed=1), few_shot_accuracy(model, task, 8, n=1000, seed=1)
    assert k8 > 0.9  # close to the Bayes-optimal 1.0: it reads the facts in its context
    assert abs(k0 - task.bayes_accuracy(0)) < 5 * (0.125 * 0.875 / 1000) ** 0.5  # nothing to read: chance
