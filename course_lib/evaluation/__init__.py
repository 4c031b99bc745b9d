"""Measuring language models: perplexity and bits per byte, in-context learning, scaling laws.

- :mod:`~course_lib.evaluation.metrics`: perplexity and bits per byte from a summed negative log-likelihood;
- :mod:`~course_lib.evaluation.icl`: k-shot prompts, rank classification by the log-probability of each label's
  continuation tokens, contextual calibration (Zhao et al. 2021);
- :mod:`~course_lib.evaluation.icl_task`: a synthetic key→value task on which a small GPT learns in context;
- :mod:`~course_lib.evaluation.scaling`: scaling-law fits (Hoffmann et al. 2022, Approaches 2 and 3) and the
  compute-optimal allocation of a budget.
"""

from course_lib.evaluation.icl import (
    calibrate,
    classify,
    content_free_probs,
    continuation_logprobs,
    k_shot_prompt,
    label_probs,
)
from course_lib.evaluation.metrics import bits_per_byte, perplexity
from course_lib.evaluation.scaling import (
    CHINCHILLA,
    IsoFLOPFit,
    ScalingLaw,
    fit_isoflop,
    fit_power_law,
    fit_scaling_law,
)

__all__ = [
    "CHINCHILLA",
    "IsoFLOPFit",
    "ScalingLaw",
    "bits_per_byte",
    "calibrate",
    "classify",
    "content_free_probs",
    "continuation_logprobs",
    "fit_isoflop",
    "fit_power_law",
    "fit_scaling_law",
    "k_shot_prompt",
    "label_probs",
    "perplexity",
]
