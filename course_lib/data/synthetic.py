"""A translation-like task that needs alignment, offline and unlimited: date normalisation.

A source is a date written the way people write it, in one of several languages and formats; the target is the
same date in ISO 8601::

    "3rd of March, 2021"          -> "2021-03-03"
    "mars 3 2021"                 -> "2021-03-03"
    "Mittwoch, 3. März 2021"      -> "2021-03-03"
    "03/03/21"                    -> "2021-03-03"

To get the target right a model has to find the day, the month name (in English, French, German, Spanish or
Italian, full or abbreviated) and the year wherever the format puts them, so a decoder must look back at
different source positions at different steps: the alignment that attention learns (Bahdanau et al. 2015).
Month and weekday names come from the CLDR data shipped with ``babel`` (no download).

Splits never share a source string: a source belongs to ``train``, ``dev`` or ``test`` by a hash of its text
(80/10/10), the same for every seed, so a model is always evaluated on strings it cannot have seen.
Two-digit years (``03/03/21``) are read in the window 1950-2049, the only years the task draws.

:class:`CharVocab` is the character tokenizer for both sides, with ``<pad>`` = 0, ``<s>`` = 1, ``</s>`` = 2.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import random
from collections.abc import Iterable, Iterator, Sequence

import torch
from babel.dates import format_date
from torch import Tensor

from course_lib.errors import CourseError
from course_lib.tokenizers.simple import CharTokenizer

SPLITS = ("train", "dev", "test")
_SPLIT_PERCENT = {"train": (0, 80), "dev": (80, 90), "test": (90, 100)}
FIRST_DATE, LAST_DATE = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)

# (locale, CLDR pattern) for babel.dates.format_date; "ordinal" is English ordinals, which CLDR patterns lack.
DATE_FORMATS: dict[str, tuple[str, str]] = {
    "en_long": ("en", "MMMM d, y"),  # March 3, 2021
    "en_short": ("en", "d MMM y"),  # 3 Mar 2021
    "en_weekday": ("en", "EEEE, MMMM d, y"),  # Wednesday, March 3, 2021
    "en_ordinal": ("en", "ordinal"),  # 3rd of March, 2021
    "numeric_slash": ("en", "dd/MM/yy"),  # 03/03/21 (day first)
    "numeric_dot": ("de", "dd.MM.y"),  # 03.03.2021
    "fr_long": ("fr", "d MMMM y"),  # 3 mars 2021
    "fr_month_first": ("fr", "MMMM d y"),  # mars 3 2021
    "de_weekday": ("de", "EEEE, d. MMMM y"),  # Mittwoch, 3. März 2021
    "es_long": ("es", "d 'de' MMMM 'de' y"),  # 3 de marzo de 2021
    "it_short": ("it", "d MMM y"),  # 3 mar 2021
}


def _ordinal(day: int) -> str:
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def render_date(date: datetime.date, fmt: str) -> str:
    """``date`` written in format ``fmt`` (a key of :data:`DATE_FORMATS`)."""
    if fmt not in DATE_FORMATS:
        raise CourseError(f"unknown date format {fmt!r}: choose one of {', '.join(DATE_FORMATS)}")
    locale, pattern = DATE_FORMATS[fmt]
    if pattern == "ordinal":
        return f"{_ordinal(date.day)} of {format_date(date, 'MMMM', locale=locale)}, {date.year}"
    return format_date(date, pattern, locale=locale)


def iso(date: datetime.date) -> str:
    """The target: ``"2021-03-03"``."""
    return date.isoformat()


def split_of(source: str) -> str:
    """``"train"``, ``"dev"`` or ``"test"``: fixed by a hash of the source text, whatever the seed."""
    bucket = int.from_bytes(hashlib.blake2b(source.encode(), digest_size=8).digest(), "big") % 100
    return next(split for split, (lo, hi) in _SPLIT_PERCENT.items() if lo <= bucket < hi)


def iter_date_pairs(
    split: str = "train", seed: int = 0, formats: Sequence[str] | None = None
) -> Iterator[tuple[str, str]]:
    """An endless stream of distinct ``(source, target)`` pairs of ``split``, reproducible from ``seed``."""
    if split not in SPLITS:
        raise CourseError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    formats = list(DATE_FORMATS) if formats is None else list(formats)
    for fmt in formats:
        if fmt not in DATE_FORMATS:
            raise CourseError(f"unknown date format {fmt!r}: choose one of {', '.join(DATE_FORMATS)}")
    rng = random.Random(seed)
    n_days = (LAST_DATE - FIRST_DATE).days + 1
    seen: set[str] = set()
    while True:
        date = FIRST_DATE + datetime.timedelta(days=rng.randrange(n_days))
        source = render_date(date, rng.choice(formats))
        if source not in seen and split_of(source) == split:
            seen.add(source)
            yield source, iso(date)


def date_pairs(
    n: int, split: str = "train", seed: int = 0, formats: Sequence[str] | None = None
) -> list[tuple[str, str]]:
    """``n`` distinct ``(source, target)`` pairs of ``split`` (see :func:`iter_date_pairs`)."""
    stream = iter_date_pairs(split, seed, formats)
    return [next(stream) for _ in range(n)]


class CharVocab:
    """Characters plus the three special tokens of sequence-to-sequence models.

    Ids: ``<pad>`` = 0, ``<s>`` = 1 (begin), ``</s>`` = 2 (end), then one id per character of ``chars``
    (a :class:`~course_lib.tokenizers.CharTokenizer` shifted by 3).
    """

    PAD, BOS, EOS = "<pad>", "<s>", "</s>"
    pad_id, bos_id, eos_id = 0, 1, 2

    def __init__(self, chars: Iterable[str]) -> None:
        self.chars = CharTokenizer(chars)
        self.itos = [self.PAD, self.BOS, self.EOS, *self.chars.itos]

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str, bos: bool = False, eos: bool = False) -> list[int]:
        """Ids of ``text``'s characters, optionally framed by ``<s>`` and ``</s>``."""
        ids = [i + 3 for i in self.chars.encode(text)]
        return [self.bos_id] * bos + ids + [self.eos_id] * eos

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` up to the first ``</s>``; ``<s>`` and ``<pad>`` are dropped."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i >= 3:
                out.append(self.itos[i])
        return "".join(out)

    def batch(self, texts: Sequence[str], bos: bool = False, eos: bool = False) -> tuple[Tensor, Tensor]:
        """Right-padded ids ``(B, T)`` (long) and ``keep (B, T)``: True at real tokens, False at ``<pad>``."""
        rows = [self.encode(text, bos, eos) for text in texts]
        T = max(len(row) for row in rows)
        ids = torch.full((len(rows), T), self.pad_id, dtype=torch.long)
        for b, row in enumerate(rows):
            ids[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        return ids, ids != self.pad_id


@functools.cache
def date_vocab() -> CharVocab:
    """The vocabulary of every source and target the task can produce (sources and targets share it).

    Every character comes from rendering each day of a leap year in every format (all month and weekday
    names, all digits), plus the digits and ``-`` of the targets.
    """
    chars: set[str] = set("0123456789-")
    day = datetime.date(2024, 1, 1)
    while day.year == 2024:
        for fmt in DATE_FORMATS:
            chars.update(render_date(day, fmt))
        day += datetime.timedelta(days=1)
    return CharVocab(sorted(chars))
