"""Reference implementations for the llm-course: from n-gram counts to BERT/GPT pretraining.

Every lecture and assignment imports its building blocks from here, so that one idea lives in one place.
"""

__version__ = "0.1.0"
