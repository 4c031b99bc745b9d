"""The examples in the docstrings of the tokenizer and n-gram modules run and give what they show."""

from __future__ import annotations

import doctest

import pytest

import course_lib.ngram
import course_lib.tokenizers.bpe_train


@pytest.mark.parametrize("module", [course_lib.tokenizers.bpe_train, course_lib.ngram])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
