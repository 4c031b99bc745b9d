"""Language models built from ``course_lib.nn`` (GPT) and the neural LMs before it (window, RNN, LSTM).

- :mod:`.neural_lm`: ``WindowLM``, ``RNNLM``, ``LSTMLM`` (same ``forward(idx, targets)`` interface as GPT).
- :mod:`.recurrent`: readable ``RNNCell``/``RNN``/``LSTMCell``/``LSTM`` with ``torch.nn``'s parameter layout
  (encoders for seq2seq can import these too).
- :mod:`.bptt`: truncated BPTT, global-norm clipping, the ``||dh_T/dh_t||`` measurement.
"""
