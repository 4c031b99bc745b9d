"""The date-normalisation task: targets checked by parsing, disjoint splits, the seq2seq char vocabulary."""

import datetime

import pytest
import torch

from course_lib.data.synthetic import (
    DATE_FORMATS,
    SPLITS,
    CharVocab,
    date_pairs,
    date_vocab,
    iter_date_pairs,
    render_date,
    split_of,
)
from course_lib.errors import CourseError

MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre"]


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("en_long", "March 3, 2021"),
        ("en_ordinal", "3rd of March, 2021"),
        ("numeric_slash", "03/03/21"),
        ("numeric_dot", "03.03.2021"),
        ("fr_month_first", "mars 3 2021"),
        ("de_weekday", "Mittwoch, 3. März 2021"),  # 2021-03-03 was a Wednesday
        ("es_long", "3 de marzo de 2021"),
    ],
)
def test_render_date_in_each_language(fmt, expected):
    assert render_date(datetime.date(2021, 3, 3), fmt) == expected


@pytest.mark.parametrize(
    ("day", "suffix"),
    [
        (1, "st"),
        (2, "nd"),
        (3, "rd"),
        (4, "th"),
        (11, "th"),
        (12, "th"),
        (13, "th"),
        (21, "st"),
        (22, "nd"),
        (23, "rd"),
        (31, "st"),
    ],
)
def test_english_ordinals(day, suffix):
    assert render_date(datetime.date(2020, 1, day), "en_ordinal") == f"{day}{suffix} of January, 2020"


def test_targets_are_the_iso_dates_of_their_sources():
    """An independent parse of the unambiguous formats recovers the target."""
    for source, target in date_pairs(300, "train", seed=1, formats=["numeric_dot", "fr_long", "numeric_slash"]):
        date = datetime.date.fromisoformat(target)
        assert datetime.date(1950, 1, 1) <= date <= datetime.date(2049, 12, 31)
        if "." in source:
            assert datetime.datetime.strptime(source, "%d.%m.%Y").date() == date
        elif "/" in source:
            parsed = datetime.datetime.strptime(source, "%d/%m/%y").date()  # Python's window: 69-99 -> 19xx
            century_fixed = parsed.replace(year=parsed.year - 100) if parsed.year >= 2050 else parsed
            assert century_fixed == date
        else:
            day, month, year = source.split(" ")
            assert (int(day), int(year)) == (date.day, date.year)
            if date.month <= 10:
                assert month == MONTHS_FR[date.month - 1]


def test_splits_never_share_a_source_and_are_reproducible():
    sets = {split: date_pairs(1000, split, seed=3) for split in SPLITS}
    sources = {split: {s for s, _ in pairs} for split, pairs in sets.items()}
    assert all(len(sources[split]) == 1000 for split in SPLITS)  # distinct within a split
    assert not sources["train"] & sources["dev"] and not sources["train"] & sources["test"]
    assert not sources["dev"] & sources["test"]
    assert all(split_of(s) == split for split in SPLITS for s in sources[split])
    assert date_pairs(50, "dev", seed=3) == sets["dev"][:50]  # same seed, same stream
    assert date_pairs(50, "dev", seed=4) != sets["dev"][:50]
    # another seed draws other dates, but a source's split never changes
    assert all(split_of(s) == "train" for s, _ in date_pairs(500, "train", seed=99))


def test_split_sizes_are_about_80_10_10():
    other = [render_date(datetime.date(2000, 1, 1) + datetime.timedelta(days=i), "en_long") for i in range(5000)]
    counts = {split: sum(split_of(s) == split for s in other) for split in SPLITS}
    assert 3800 < counts["train"] < 4200 and 380 < counts["dev"] < 620 and 380 < counts["test"] < 620, counts


def test_every_format_appears_and_every_source_encodes():
    vocab = date_vocab()
    pairs = date_pairs(3000, "train", seed=7)
    lengths = {len(s) for s, _ in pairs}
    assert min(lengths) == 8 and max(lengths) >= 30  # "03/03/21" .. "Wednesday, September 29, 2021"
    for source, target in pairs:
        assert vocab.decode(vocab.encode(source, bos=True, eos=True)) == source
        assert vocab.decode(vocab.encode(target)) == target


def test_char_vocab_specials_batching_and_decoding():
    vocab = CharVocab("abc")
    assert vocab.itos[:3] == ["<pad>", "<s>", "</s>"] and vocab.vocab_size == 6
    assert vocab.encode("cab", bos=True, eos=True) == [1, 5, 3, 4, 2]
    ids, keep = vocab.batch(["ab", "cabba"], eos=True)
    assert ids.tolist() == [[3, 4, 2, 0, 0, 0], [5, 3, 4, 4, 3, 2]]
    assert torch.equal(keep, ids != 0) and keep.dtype == torch.bool
    assert vocab.decode([1, 3, 4, 2, 5, 5]) == "ab"  # stops at </s>, drops <s>
    with pytest.raises(ValueError, match="'z'"):
        vocab.encode("z")


def test_bad_arguments_are_one_clear_error():
    with pytest.raises(CourseError, match="split"):
        next(iter_date_pairs("validation"))
    with pytest.raises(CourseError, match="date format"):
        date_pairs(1, formats=["klingon"])
    with pytest.raises(CourseError, match="date format"):
        render_date(datetime.date(2020, 1, 1), "klingon")
    assert len(DATE_FORMATS) >= 10
