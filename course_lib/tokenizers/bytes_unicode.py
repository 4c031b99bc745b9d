"""GPT-2's reversible map between the 256 byte values and 256 printable Unicode characters.

GPT-2 stores its vocabulary (``vocab.json``, ``merges.txt``) as text, so every byte is shown as a visible
character: printable Latin-1 bytes stand for themselves and the rest (controls, space, ...) are shifted to
code points from 256 upwards. That is why GPT-2 tokens show a leading space as ``Ġ`` (byte 32 -> U+0120).
"""

from __future__ import annotations

from functools import cache


@cache
def bytes_to_unicode() -> dict[int, str]:
    """Return GPT-2's map ``byte value -> one printable character`` (a bijection on 256 values)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {b: chr(b) for b in printable}
    shift = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + shift)
            shift += 1
    return mapping


@cache
def unicode_to_bytes() -> dict[str, int]:
    """The inverse of :func:`bytes_to_unicode`: ``character -> byte value``."""
    return {char: b for b, char in bytes_to_unicode().items()}


def token_to_str(token: bytes) -> str:
    """Show a token's bytes the way GPT-2 files do, e.g. ``b" the"`` -> ``"Ġthe"``."""
    table = bytes_to_unicode()
    return "".join(table[b] for b in token)


def str_to_token(text: str) -> bytes:
    """Inverse of :func:`token_to_str`; raises ``ValueError`` on a character outside the map."""
    table = unicode_to_bytes()
    try:
        return bytes(table[char] for char in text)
    except KeyError as err:
        raise ValueError(f"{text!r} is not a GPT-2 byte-level token: {err.args[0]!r} is not in the byte map") from None
