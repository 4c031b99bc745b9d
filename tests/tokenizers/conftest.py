"""Make the oracle helpers next to these tests (naive_bpe, gpt2_bytes) importable under any pytest import
mode. Only this folder goes on sys.path, so PyPI's ``tokenizers`` is never shadowed."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
