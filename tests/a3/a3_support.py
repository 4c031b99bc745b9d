"""What A3's checks need to know (the checks themselves: tests/assignment_suite.py).

Each A3 submission trains the notebook's small Transformer, so its mutation batch is the slowest of the five.
"""

from __future__ import annotations

from tests.assignment_suite import AssignmentSpec, Cheat

SPEC = AssignmentSpec(
    assignment="a3_transformer",
    min_hidden_tests=35,
    min_mutants=16,
    test_cells={
        "part4::test_multi_head_cross_attention_with_key_padding": "test_multi_head",
        "part4::test_heads_round_trip": "test_heads",
    },
    # submissions that use what the manifest forbids instead of their own code
    cheats=(
        Cheat(
            "cheat_sdpa",
            "scaled_attention",
            "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))\n",
            "    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), None\n"
            "    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))\n",
            costs=("test_scaled_attention_matches_reference", "test_multi_head_self_attention_matches_reference"),
        ),
        Cheat(
            "cheat_course_lib",
            "heads",
            "    B, T, D = x.shape\n",
            "    from course_lib.nn import MultiHeadAttention  # noqa: F401\n    B, T, D = x.shape\n",
            costs="everything",
        ),
    ),
    seed=20261129,
)
