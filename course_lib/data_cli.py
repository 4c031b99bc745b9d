"""``llmcourse data``: list the datasets and where they are, or fetch one into the cache ahead of time."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    data = subparsers.add_parser(
        "data",
        help="list the datasets and where they are found, or download one into the cache",
        description="Datasets are looked for in $COURSE_DATA_DIR, then the user cache, then downloaded (checksummed). "
        "`llmcourse data fetch NAME` does the download now, e.g. before going offline.",
    )
    actions = data.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="each dataset, where it is now, whether it can be downloaded")
    listing.set_defaults(func=run_list)
    fetch = actions.add_parser(
        "fetch",
        help="make a dataset available offline (download, verify, convert into the cache)",
        description="Make dataset NAME available offline: nothing happens when it is staged or cached already; "
        "otherwise it is downloaded into the cache and verified (SST-2: the GLUE archive, converted).",
    )
    fetch.add_argument("name", help="dataset name, as `llmcourse data list` shows")
    fetch.set_defaults(func=run_fetch)


def run_list(args: argparse.Namespace) -> int:
    from course_lib.data.corpora import availability, list_corpora

    for corpus in list_corpora():
        print(f"{corpus['name']:<16} {availability(corpus):<40} {corpus['description']}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from course_lib.data.corpora import fetch, get_corpus

    corpus = get_corpus(args.name)
    if corpus.embedded:
        print(f"{corpus.name}: embedded in the course package, nothing to fetch")
        return 0
    for file in corpus.files:
        print(f"{file.relpath}: {fetch(corpus, file)}")
    return 0
