"""Training language models: the pieces, one module each (import them directly; this package imports nothing,
so that ``llmcourse --help`` does not pay for torch).

- ``schedule``: linear warmup + cosine learning rate
- ``optim``: AdamW with weight decay on matrices only
- ``checkpoint``: atomic, resumable checkpoints with every RNG state
- ``config`` / ``trainer``: ``TrainConfig`` and the ``Trainer`` loop (accumulation, clipping, autocast, eval)
- ``distributed``: data parallelism under ``torchrun`` (process group, seed streams, thread defaults)
- ``models``: the registry of trainable models (``gpt``; others register theirs)
- ``presets``: ``cpu-tiny`` and ``gpu-small``
- ``gpt_run``: set up, resume and sample a run (from a corpus or a prepared dataset)
- ``sweep``: grids of model sizes x token budgets for scaling-law fits
- ``cli``: ``llmcourse train`` / ``prepare`` / ``sweep`` / ``generate``
"""
