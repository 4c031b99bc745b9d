"""GPT-2's byte<->unicode map written out independently of course_lib (test oracle)."""

from __future__ import annotations


def gpt2_byte_map() -> dict[int, str]:
    """GPT-2's bytes_to_unicode, as published in openai/gpt-2 encoder.py (independent of course_lib)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def as_gpt2_str(raw: bytes) -> str:
    table = gpt2_byte_map()
    return "".join(table[b] for b in raw)
