"""What A5's checks need to know (the checks themselves: tests/assignment_suite.py)."""

from __future__ import annotations

from tests.assignment_suite import AssignmentSpec, Cheat

SPEC = AssignmentSpec(
    assignment="a5_decoding_icl",
    min_hidden_tests=35,
    min_mutants=20,
    # each test lands in the cell of its part, e.g. costs::test_costs_cache_memory -> test_costs, not test_kv_cache
    test_cells={
        "costs::test_costs_cache_memory": "test_costs",
        "kv_cache::test_kv_cache_chunked_prefill": "test_kv_cache",
    },
    # submissions that call the reference implementations (forbidden by the manifest) instead of their own code
    cheats=(
        Cheat(
            "cheat_module",
            "imports",
            "import torch",
            "import torch\nimport course_lib.evaluation as reference",
            costs="everything",
        ),
        Cheat(
            "cheat_sdpa",
            "kv_cache",
            "    return torch.softmax(scores, dim=-1) @ v\n",
            "    return torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=visible)\n",
            costs=("test_kv_cache_attention_without_earlier_keys", "test_kv_cache_chunked_prefill"),
        ),
    ),
    seed=20261123,
)
