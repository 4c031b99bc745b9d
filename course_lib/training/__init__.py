"""Training language models: the pieces, one module each (import them directly; this package imports nothing,
so that ``llmcourse --help`` does not pay for torch).

- ``schedule``: linear warmup + cosine learning rate
- ``optim``: AdamW with weight decay on matrices only
- ``checkpoint``: atomic, resumable checkpoints with every RNG state
- ``config`` / ``trainer``: ``TrainConfig`` and the ``Trainer`` loop (accumulation, clipping, autocast, eval)
- ``presets``: ``cpu-tiny`` and ``gpu-small``
- ``gpt_run``: set up, resume and sample a character-level GPT run; ``cli``: ``llmcourse train`` / ``generate``
"""
