"""A4 benchmarks: word2vec vs gensim, course_lib BERT vs transformers.BertModel, SST-2 accuracies.

    python bench/bench_pretraining.py            # all three; SST-2 from COURSE_DATA_DIR, else the offline fallback
    python bench/bench_pretraining.py --quick    # smaller corpora and fewer repeats (a smoke test)
    python bench/bench_pretraining.py --only bert

1. word2vec: the same sentences and hyper-parameters (skip-gram, 100 dims, window 5, 5 negatives, min_count 5,
   sample 1e-3) for course_lib and gensim (one worker); quality ratios (ours / gensim) of analogy accuracy on
   Mikolov's questions-words.txt and Spearman correlation on WordSim-353 (both read from gensim's installed test
   data), and the training-time ratio. Goal: quality >= 0.9 of gensim's.
2. BERT forward on all-MiniLM-L6-v2, batch 32 x 128 tokens, CPU, float32, no grad: course_lib / transformers time
   ratio (median of alternating rounds, so a busy machine biases both alike). Goal: <= 1.2.
3. SST-2 dev accuracy (reported): frozen MiniLM + linear probe ([CLS] and mean pooling); the top layer fine-tuned,
   with a fresh head on the [CLS] pooler and with a head on the mean vector that starts from the probe; a tiny BERT
   fine-tuned from scratch vs the same model MLM-pretrained on the course corpora (what pretraining buys).

Wall-clock ratios are only meaningful on a quiet machine; the script prints the load average with them.
"""

from __future__ import annotations

import argparse
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
    try:
        lines, name = [s for _, s in load_sst2("train")], "SST-2 train"
    except DatasetNotFoundError:
        lines, name = load_corpus("pydocs").splitlines(), "pydocs"
    sentences, total = [], 0
    for line in lines:
        words = re.findall(r"[a-z]+(?:'[a-z]+)?", line.lower())
        if len(words) >= 3:
            sentences.append(words)
            total += len(words)
        if total >= max_words:
            break
    return f"{name}, {total:,} words", sentences


def bench_word2vec(quick: bool) -> None:
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
    name, sentences = word2vec_sentences(100_000 if quick else 700_000)
    settings = dict(window=5, negative=5, min_count=5, sample=1e-3, epochs=2 if quick else 5)
    start = time.perf_counter()
    ours = Word2Vec(sentences, dim=100, seed=0, **settings)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    peer = gensim.models.Word2Vec(sentences, vector_size=100, sg=1, workers=1, seed=0, **settings).wv
    peer_s = time.perf_counter() - start
    print(f"word2vec on {name}, {settings['epochs']} epochs, vocabulary {len(ours.vocab):,}")
    rows = []
    for label, model in (("course_lib", ours), ("gensim", peer)):
        acc, asked = analogy_accuracy(model, questions)
        rho, n = similarity_correlation(model, pairs)
        rows.append((acc, rho))
        print(f"  {label:>10}: analogy {acc:.3f} ({asked} questions), WordSim-353 rho {rho:.3f} ({n} pairs)")
    ratio = lambda a, b: a / b if b else float("nan")  # noqa: E731
    print(
        f"  ratios ours/gensim: analogy {ratio(rows[0][0], rows[1][0]):.2f}, similarity "
        f"{ratio(rows[0][1], rows[1][1]):.2f} (goal >= 0.9); training time {ours_s:.1f} s / {peer_s:.1f} s = "
        f"{ours_s / peer_s:.1f}x"
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
    train, dev, source = load_sentiment(n_train=500 if quick else 4000)
    model = BertModel.from_pretrained(minilm_dir())
    y_train, y_dev = torch.tensor([l for l, _ in train]), torch.tensor([l for l, _ in dev])
    epochs = 1 if quick else 2
    print(f"sentiment: {source}, {len(train)} training sentences, {len(dev)} dev sentences, {epochs} epoch(s)")
    probes = {}
    for pooling in ("cls", "mean"):
        start = time.perf_counter()
        features = finetune.encode(model, tokenizer, [s for _, s in train], pooling)
        probes[pooling] = finetune.train_linear_probe(features, y_train)
        with torch.no_grad():
            predicted = probes[pooling](finetune.encode(model, tokenizer, [s for _, s in dev], pooling)).argmax(-1)
        accuracy, seconds = (predicted == y_dev).float().mean(), time.perf_counter() - start
        print(f"  frozen MiniLM + linear probe ({pooling}): dev accuracy {accuracy:.3f} ({seconds:.0f} s)")
    for label, pooling, from_probe in (
        ("[CLS] pooler, fresh head", "cls", False),
        ("mean pooling, head from the mean probe", "mean", True),
    ):
        start = time.perf_counter()
        torch.manual_seed(0)
        classifier = BertForSequenceClassification.from_pretrained(minilm_dir(), pooling=pooling)
        if from_probe:
            classifier.classifier.load_state_dict(probes["mean"].state_dict())
        head_lr = 1e-4 if from_probe else 1e-3
        finetune.finetune(classifier, tokenizer, train, top_layers=1, epochs=epochs, lr=1e-4, head_lr=head_lr)
        accuracy = finetune.accuracy(classifier, tokenizer, dev)
        print(
            f"  MiniLM, top layer fine-tuned ({label}, lr 1e-4, head lr {head_lr:g}): dev accuracy {accuracy:.3f} "
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
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    for name, bench in (("word2vec", bench_word2vec), ("bert", bench_bert_forward), ("sst2", bench_sst2)):
        if args.only in (None, name):
            bench(args.quick)


if __name__ == "__main__":
    main()
