"""A4 benchmarks: word2vec vs gensim, course_lib BERT vs transformers.BertModel, SST-2 accuracies.

    python bench/bench_pretraining.py            # all three; SST-2 from COURSE_DATA_DIR, else the offline fallback
    python bench/bench_pretraining.py --quick    # smaller corpora and fewer repeats (a smoke test)
    python bench/bench_pretraining.py --only bert

1. word2vec: the same sentences (every corpus the course has: SST-2 train when available, pydocs, Tiny
   Shakespeare) and hyper-parameters (skip-gram, 100 dims, window 5, 5 negatives, min_count 5, sample 1e-3) for
   course_lib and gensim (one worker), several seeds; analogy accuracy on Mikolov's questions-words.txt (only the
   questions whose words both vocabularies hold, counts shown) and Spearman correlation on WordSim-353 (both read
   from gensim's installed test data), absolute values with their spread beside the ratios (a ratio of two small,
   noisy accuracies means little on its own), and the training-time ratio. Goal: quality >= 0.9 of gensim's.
2. BERT forward on all-MiniLM-L6-v2, batch 32 x 128 tokens, CPU, float32, no grad: course_lib / transformers time
   ratio (median of alternating rounds, so a busy machine biases both alike). Goal: <= 1.2.
3. SST-2 dev accuracy (reported): frozen MiniLM + linear probe ([CLS] and mean pooling); the top layer fine-tuned
   with a fresh head on the [CLS] pooler or on the mean vector (head learning rate 1e-3, layer 1e-4); a tiny BERT
   fine-tuned from scratch vs the same model MLM-pretrained on the course corpora (what pretraining buys).

Wall-clock ratios are only meaningful on a quiet machine; the script prints the load average with them.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course_lib.data.corpora import DatasetNotFoundError, load_corpus, load_sentences, load_sst2  # noqa: E402


def word2vec_sentences(max_words: int) -> tuple[str, list[list[str]]]:
    """Lowercased word lists from every corpus the course has: SST-2's training sentences (when available), the
    Python documentation and Tiny Shakespeare, interleaved so that a cap keeps a mix of all of them."""
    sources = {"pydocs": load_corpus("pydocs").splitlines(), "tinyshakespeare": load_sentences("tinyshakespeare")}
    try:
        sources = {"SST-2 train": [s for _, s in load_sst2("train")], **sources}
    except DatasetNotFoundError:
        pass
    tokenized = {
        name: [re.findall(r"[a-z]+(?:'[a-z]+)?", line.lower()) for line in lines] for name, lines in sources.items()
    }
    sentences, total = [], 0
    for group in itertools.zip_longest(*tokenized.values()):
        for words in group:
            if words and len(words) >= 3 and total < max_words:
                sentences.append(words)
                total += len(words)
    return f"{' + '.join(sources)}, {total:,} words", sentences


def bench_word2vec(quick: bool, seeds: int) -> None:
    import gensim

    from course_lib.models.word2vec import (
        Word2Vec,
        analogy_accuracy,
        read_analogies,
        read_similarity_pairs,
        similarity_correlation,
    )

    data = Path(gensim.__file__).parent / "test" / "test_data"
    questions = read_analogies(data / "questions-words.txt")
    pairs = read_similarity_pairs(data / "wordsim353.tsv")
    name, sentences = word2vec_sentences(200_000 if quick else 3_000_000)
    settings = dict(window=5, negative=5, min_count=5, sample=1e-3, epochs=2 if quick else 5)
    print(f"word2vec on {name}, {settings['epochs']} epochs, {seeds} seed(s)")
    scores: dict[str, list[tuple[float, float]]] = {"course_lib": [], "gensim": []}
    seconds: dict[str, list[float]] = {"course_lib": [], "gensim": []}
    for seed in range(seeds):
        start = time.perf_counter()
        ours = Word2Vec(sentences, dim=100, seed=seed, **settings)
        seconds["course_lib"].append(time.perf_counter() - start)
        start = time.perf_counter()
        peer = gensim.models.Word2Vec(sentences, vector_size=100, sg=1, workers=1, seed=seed, **settings).wv
        seconds["gensim"].append(time.perf_counter() - start)
        # the same questions for both: those whose four words both vocabularies hold
        asked = [q for q in questions if all(w in ours and w in peer for w in q)]
        for label, model in (("course_lib", ours), ("gensim", peer)):
            acc, n_questions = analogy_accuracy(model, asked)
            rho, n_pairs = similarity_correlation(model, pairs)
            scores[label].append((acc, rho))
            print(
                f"  seed {seed} {label:>10}: analogy {acc:.3f} ({acc * n_questions:.0f} of {n_questions} questions), "
                f"WordSim-353 rho {rho:.3f} ({n_pairs} pairs), {seconds[label][-1]:.1f} s"
            )
    mean = {k: [statistics.mean(column) for column in zip(*v)] for k, v in scores.items()}
    spread = {
        k: [statistics.stdev(column) if len(column) > 1 else 0.0 for column in zip(*v)] for k, v in scores.items()
    }
    for i, metric in enumerate(("analogy accuracy", "WordSim-353 rho")):
        ours_m, peer_m = mean["course_lib"][i], mean["gensim"][i]
        ratio = ours_m / peer_m if peer_m else float("nan")
        print(
            f"  {metric}: course_lib {ours_m:.3f} ± {spread['course_lib'][i]:.3f}, gensim {peer_m:.3f} ± "
            f"{spread['gensim'][i]:.3f} (mean ± sd over seeds); ratio {ratio:.2f} (goal >= 0.9)"
        )
    time_ratio = statistics.mean(seconds["course_lib"]) / statistics.mean(seconds["gensim"])
    print(
        f"  training time: course_lib {statistics.mean(seconds['course_lib']):.1f} s, gensim "
        f"{statistics.mean(seconds['gensim']):.1f} s (1 worker): {time_ratio:.1f}x"
    )


def bench_bert_forward(quick: bool) -> None:
    import transformers

    from course_lib.models.bert import BertModel
    from course_lib.pretrained import minilm_dir

    ours = BertModel.from_pretrained(minilm_dir())
    theirs = transformers.BertModel.from_pretrained(minilm_dir(), local_files_only=True).eval()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 30000, (32, 128), generator=g)
    mask = torch.ones_like(ids)
    mask[16:, 96:] = 0  # half the rows padded: the mask path is part of the cost
    times = {"course_lib": [], "transformers": []}
    with torch.no_grad():
        ours(ids, mask), theirs(input_ids=ids, attention_mask=mask)  # warm-up
        for _ in range(2 if quick else 7):
            for label, run in (("course_lib", lambda: ours(ids, mask)), ("transformers", lambda: theirs(ids, mask))):
                start = time.perf_counter()
                run()
                times[label].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(
        f"BERT forward, MiniLM, batch 32 x 128, {torch.get_num_threads()} threads: "
        f"course_lib {med['course_lib']:.3f} s, "
        f"transformers {med['transformers']:.3f} s, ratio {med['course_lib'] / med['transformers']:.2f} (goal <= 1.2)"
    )


def bench_sst2(quick: bool) -> None:
    from course_lib import finetune
    from course_lib.data.sentiment import load_sentiment
    from course_lib.models.bert import BertConfig, BertForSequenceClassification, BertModel
    from course_lib.pretrained import minilm_dir
    from course_lib.tokenizers.bert_basic import BertTokenizer

    tokenizer = BertTokenizer.from_vocab_file(minilm_dir() / "vocab.txt")
    train, dev, source = load_sentiment(n_train=500 if quick else 2000)
    model = BertModel.from_pretrained(minilm_dir())
    y_train, y_dev = torch.tensor([l for l, _ in train]), torch.tensor([l for l, _ in dev])
    epochs = 1 if quick else 2
    print(f"sentiment: {source}, {len(train)} training sentences, {len(dev)} dev sentences, {epochs} epoch(s)")
    for pooling in ("cls", "mean"):
        start = time.perf_counter()
        features = finetune.encode(model, tokenizer, [s for _, s in train], pooling)
        probe = finetune.train_linear_probe(features, y_train)
        with torch.no_grad():
            predicted = probe(finetune.encode(model, tokenizer, [s for _, s in dev], pooling)).argmax(-1)
        accuracy, seconds = (predicted == y_dev).float().mean(), time.perf_counter() - start
        print(f"  frozen MiniLM + linear probe ({pooling}): dev accuracy {accuracy:.3f} ({seconds:.0f} s)")
    for pooling in ("cls", "mean"):  # a fresh head on the [CLS] pooler, or on the mean of the final hidden states
        start = time.perf_counter()
        torch.manual_seed(0)
        classifier = BertForSequenceClassification.from_pretrained(minilm_dir(), pooling=pooling)
        finetune.finetune(classifier, tokenizer, train, top_layers=1, epochs=epochs, lr=1e-4, head_lr=1e-3)
        accuracy = finetune.accuracy(classifier, tokenizer, dev)
        print(
            f"  MiniLM, top layer fine-tuned ({pooling}, lr 1e-4, head lr 1e-3): dev accuracy {accuracy:.3f} "
            f"({time.perf_counter() - start:.0f} s)"
        )
    start = time.perf_counter()
    tiny = BertConfig(vocab_size=tokenizer.vocab_size, d_model=64, n_layers=2, n_heads=2, d_ff=128, max_len=64)
    corpus = [p for p in load_corpus("pydocs").split("\n") if len(p.split()) >= 8]
    corpus += [s for s in load_sentences("tinyshakespeare") if len(s.split()) >= 8]
    steps = 120 if quick else 2000
    accuracies, losses = finetune.scratch_vs_pretrained(tiny, tokenizer, corpus, train, dev, mlm_steps=steps)
    print(
        f"  tiny BERT (2 layers, d_model 64), fine-tuned 3 epochs: from scratch {accuracies['scratch']:.3f}, after "
        f"{steps} MLM steps on pydocs + tinyshakespeare ({len(corpus):,} sentences; loss "
        f"{sum(losses[:20]) / 20:.2f} -> {sum(losses[-20:]) / 20:.2f}) {accuracies['MLM-pretrained']:.3f} "
        f"({time.perf_counter() - start:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--only", choices=["word2vec", "bert", "sst2"], help="run one benchmark")
    parser.add_argument("--seeds", type=int, default=3, help="word2vec: training runs per library (default 3)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    if args.only in (None, "word2vec"):
        bench_word2vec(args.quick, args.seeds)
    for name, bench in (("bert", bench_bert_forward), ("sst2", bench_sst2)):
        if args.only in (None, name):
            bench(args.quick)


if __name__ == "__main__":
    main()
