"""Plots and interactive explorers for the lectures.

Every plot is a function of plain data (lists of numbers and strings) that returns a matplotlib ``Figure``, so the
lectures compute with ``course_lib`` and only *draw* here. Every explorer is an ipywidgets control that calls back
into a function the lecture passes in; :func:`show_explorer` displays it together with a static snapshot figure,
so an executed notebook (or its HTML export, where widgets are dead) still shows a picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

__all__ = [
    "bpe_merge_explorer",
    "describe",
    "install_alt_text",
    "plot_attention",
    "loglog_slope",
    "plot_loglog",
    "plot_batch",
    "plot_copying",
    "plot_distribution",
    "plot_model_size",
    "plot_oov",
    "plot_perplexity",
    "plot_segmentations",
    "plot_sparsity",
    "plot_temperatures",
    "plot_tradeoff",
    "sampling_explorer",
    "show_explorer",
]


def _new_axes(figsize: tuple[float, float] = (6.0, 3.5)) -> tuple[Figure, Any]:
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def plot_distribution(words: Sequence[str], probs: Sequence[float], title: str = "", ax: Any | None = None) -> Figure:
    """A bar chart of a next-word distribution, bars in the order given (sort before calling)."""
    if len(words) != len(probs):
        raise ValueError(f"{len(words)} words but {len(probs)} probabilities")
    if ax is None:
        fig, ax = _new_axes((max(4.0, 0.45 * len(words) + 1.5), 3.0))
    else:
        fig = ax.figure
    ax.bar(range(len(words)), probs, color="tab:blue")
    ax.set_xticks(range(len(words)), [repr(w)[1:-1] for w in words], rotation=60, ha="right")
    ax.set_ylabel("probability")
    ax.set_ylim(0, max([*probs, 1e-9]) * 1.1)
    ax.set_title(title)
    return fig


def plot_attention(
    weights: Sequence[Sequence[float]],
    keys: Sequence[str],
    queries: Sequence[str],
    title: str = "",
    ax: Any | None = None,
) -> Figure:
    """An attention matrix as a heatmap: one row per query (output token), one column per key (source token),
    darker = more weight. ``weights`` is ``(len(queries), len(keys))`` (a tensor or nested lists)."""
    rows = [list(map(float, row)) for row in weights]
    if len(rows) != len(queries) or any(len(row) != len(keys) for row in rows):
        raise ValueError(f"weights must be {len(queries)} x {len(keys)} (queries x keys)")
    if ax is None:
        fig, ax = _new_axes((max(3.0, 0.28 * len(keys) + 1.5), max(2.5, 0.28 * len(queries) + 1.2)))
    else:
        fig = ax.figure
    ax.imshow(rows, cmap="Blues", vmin=0.0, vmax=max(1e-9, max(max(row) for row in rows)), aspect="auto")
    ax.set_xticks(range(len(keys)), [repr(k)[1:-1] for k in keys], fontsize=8)
    ax.set_yticks(range(len(queries)), [repr(q)[1:-1] for q in queries], fontsize=8)
    ax.set_xlabel("attends to (key)")
    ax.set_ylabel("query")
    ax.set_title(title)
    return fig


def plot_loglog(
    xs: Sequence[float], series: dict[str, Sequence[float]], xlabel: str, ylabel: str, title: str = ""
) -> Figure:
    """Several measured curves on log-log axes, each labelled with its fitted slope (a power law y ∝ x^slope is a
    straight line of that slope)."""
    fig, ax = _new_axes()
    for name, ys in series.items():
        slope = loglog_slope(xs, ys)
        ax.loglog(xs, ys, marker="o", label=f"{name} (slope {slope:.2f})")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return fig


def loglog_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log y against log x: the exponent ``k`` of a power law ``y ≈ c · x^k``."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError("loglog_slope needs two equally long sequences of at least 2 points")
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def plot_sparsity(orders: Sequence[int], unseen_fractions: Sequence[float], corpus: str = "") -> Figure:
    """Fraction of held-out n-grams (tokens) never seen in training, against n."""
    fig, ax = _new_axes()
    ax.plot(orders, [100 * f for f in unseen_fractions], marker="o")
    for n, f in zip(orders, unseen_fractions):
        ax.annotate(f"{100 * f:.0f}%", (n, 100 * f), textcoords="offset points", xytext=(0, 6), ha="center")
    ax.set_xticks(list(orders))
    ax.set_xlabel("n (order of the n-gram)")
    ax.set_ylabel("held-out n-grams never seen (%)")
    ax.set_ylim(0, 105)
    ax.set_title(f"Sparsity{': ' + corpus if corpus else ''}")
    return fig


def plot_perplexity(orders: Sequence[int], perplexities: dict[str, Sequence[float]]) -> Figure:
    """Held-out perplexity against order, one line per estimator; infinite values are marked, not drawn.

    Lines that coincide stay visible: each estimator has its own hollow marker, drawn larger for earlier lines
    (the first one drawn is the largest), so equal values show as nested shapes. The log axis is labelled with
    plain numbers (50, 100, 200, ...) rather than powers of ten.
    """
    fig, ax = _new_axes()
    markers = "osD^v"
    for i, (name, values) in enumerate(perplexities.items()):
        finite = [(n, v) for n, v in zip(orders, values) if math.isfinite(v)]
        infinite = [n for n, v in zip(orders, values) if not math.isfinite(v)]
        label = name + (f" (infinite at n={', '.join(map(str, infinite))})" if infinite else "")
        style = {
            "marker": markers[i % len(markers)],
            "markersize": 13 - 3 * (i % 3),
            "markerfacecolor": "none",
            "markeredgewidth": 1.8,
            "label": label,
            "zorder": 2 + i,
        }
        if finite:
            ax.plot(*zip(*finite), **style)
        else:
            ax.plot([], [], **style)
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(list(orders))
    ax.set_xlabel("n (order)")
    ax.set_ylabel("held-out perplexity (log scale)")
    ax.set_title("Held-out perplexity: lower is better")
    ax.legend()
    return fig


def plot_temperatures(panels: Sequence[tuple[str, Sequence[str], Sequence[float]]]) -> Figure:
    """One bar chart per ``(title, words, probs)``, side by side on a **shared** probability axis.

    Used for the same distribution at several temperatures: with one y-axis the flattening at high T is visible
    (independent axes would rescale every panel to look alike).
    """
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.3 * len(panels), 3.2), sharey=True, layout="constrained", squeeze=False
    )
    top = max([p for _, _, probs in panels for p in probs] or [1e-9])
    for ax, (title, words, probs) in zip(axes[0], panels):
        plot_distribution(words, probs, title, ax=ax)
    for ax in axes[0]:
        ax.set_ylim(0, top * 1.1)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    return fig


def plot_copying(orders: Sequence[int], copied_fractions: Sequence[float], k: int) -> Figure:
    """Share of the word ``k``-grams in generated text that occur verbatim in the training text, against n."""
    fig, ax = _new_axes()
    ax.plot(orders, [100 * f for f in copied_fractions], marker="o", color="tab:red")
    for n, f in zip(orders, copied_fractions):
        ax.annotate(f"{100 * f:.0f}%", (n, 100 * f), textcoords="offset points", xytext=(0, 6), ha="center")
    ax.set_xticks(list(orders))
    ax.set_ylim(0, 110)
    ax.set_xlabel("n (order of the model that generated)")
    ax.set_ylabel(f"generated {k}-grams found in training (%)")
    ax.set_title("Verbatim copying of the training text")
    return fig


def plot_model_size(orders: Sequence[int], stored: Sequence[int], training_tokens: int) -> Figure:
    """Distinct n-grams a model of order n stores, against n, with the training text's length for scale."""
    fig, ax = _new_axes()
    ax.plot(orders, stored, marker="o", label="distinct n-grams stored")
    ax.axhline(training_tokens, color="grey", linestyle="--", label=f"training tokens ({training_tokens:,})")
    ax.set_xticks(list(orders))
    ax.set_ylim(0, training_tokens * 1.15)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("n (order)")
    ax.set_ylabel("number of n-grams")
    ax.set_title("Model size: one entry per distinct n-gram")
    ax.legend(loc="lower right")
    return fig


def plot_tradeoff(names: Sequence[str], vocab_sizes: Sequence[int], tokens_per_word: Sequence[float]) -> Figure:
    """Vocabulary size against sequence length (tokens per word) for several tokenisers."""
    fig, ax = _new_axes()
    markers = "osD^vP*X"
    # a legend rather than text labels: neighbouring points (words vs large BPE) would make labels overlap
    for i, (name, x, y) in enumerate(zip(names, vocab_sizes, tokens_per_word)):
        ax.scatter([x], [y], marker=markers[i % len(markers)], s=60, label=name)
    ax.legend(fontsize=8)
    ax.margins(x=0.1, y=0.1)
    ax.set_xscale("log")
    ax.set_xlabel("vocabulary size (log scale)")
    ax.set_ylabel("tokens per word")
    ax.set_title("Vocabulary size vs sequence length")
    return fig


def plot_oov(names: Sequence[str], oov_rates: Sequence[float]) -> Figure:
    """Out-of-vocabulary rate on held-out text (fraction of tokens that became ``<unk>``) per tokeniser."""
    fig, ax = _new_axes()
    bars = ax.bar(names, [100 * r for r in oov_rates], color="tab:orange")
    ax.bar_label(bars, labels=[f"{100 * r:.1f}%" for r in oov_rates])
    ax.set_ylabel("held-out tokens out of vocabulary (%)")
    ax.set_title("OOV rate")
    return fig


def _draw_tokens(ax: Any, y: float, tokens: Sequence[str]) -> float:
    """Draw tokens as alternating coloured boxes on one row; returns the row's width in character cells."""
    x = 0.0
    for i, token in enumerate(tokens):
        shown = token.replace(" ", "␣").replace("\n", "⏎") or "∅"
        ax.text(
            x,
            y,
            shown,
            family="monospace",
            fontsize=10,
            va="center",
            ha="left",
            bbox={"boxstyle": "square,pad=0.15", "fc": plt.cm.Pastel1(i % 9), "ec": "none"},
        )
        x += len(shown) + 0.6
    return x


def plot_segmentations(rows: Sequence[tuple[str, Sequence[str]]], title: str = "") -> Figure:
    """One row per (label, tokens): how a text is cut into tokens, e.g. after k BPE merges."""
    cell_inches, label_inches = 0.085, 1.6  # one monospace character at fontsize 10, the row labels
    width = max([20.0, *(sum(len(t) + 0.6 for t in tokens) for _, tokens in rows)])
    fig_width = label_inches + cell_inches * width + 0.2
    fig = plt.figure(figsize=(fig_width, 0.4 * len(rows) + 0.6))
    ax = fig.add_axes((label_inches / fig_width, 0.05, cell_inches * width / fig_width, 0.8))
    for r, (label, tokens) in enumerate(rows):
        y = len(rows) - 1 - r
        ax.text(-0.8, y, f"{label} ({len(tokens)} tokens)", ha="right", va="center", fontsize=9)
        _draw_tokens(ax, y, tokens)
    ax.set_xlim(0, width)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.axis("off")
    ax.set_title(title)
    return fig


def plot_batch(
    ids: Sequence[Sequence[int]], mask: Sequence[Sequence[int]], tokens: Sequence[Sequence[str]] | None = None
) -> Figure:
    """A padded batch as a grid: each cell shows its id (and token), padding greyed out by the attention mask."""
    rows, cols = len(ids), len(ids[0]) if ids else 0
    fig, ax = plt.subplots(figsize=(1.0 + 0.9 * max(cols, 1), 0.6 + 0.5 * max(rows, 1)), layout="constrained")
    ax.imshow(
        [[1 - m for m in row] for row in mask] if rows and cols else [[0]], cmap="Greys", vmin=0, vmax=2, aspect="auto"
    )
    for r in range(rows):
        for c in range(cols):
            label = str(ids[r][c]) if tokens is None or c >= len(tokens[r]) else f"{tokens[r][c]}\n{ids[r][c]}"
            ax.text(c, r, label, ha="center", va="center", fontsize=8, color="black" if mask[r][c] else "grey")
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xlabel("position")
    ax.set_ylabel("sequence")
    ax.set_title("ids (grey: padding, attention mask = 0)")
    return fig


# ------------------------------------------------------------------------------------------------ alt text


def describe(fig: Figure) -> str:
    """Alt text for a figure, from its titles and axis labels: what it shows, for readers who cannot see it."""
    parts = []
    suptitle = fig.get_suptitle() if hasattr(fig, "get_suptitle") else ""
    if suptitle:
        parts.append(suptitle)
    for ax in fig.axes:
        title, x, y = ax.get_title(), ax.get_xlabel(), ax.get_ylabel()
        axes_labels = " against ".join(label for label in (y, x) if label)
        text = ": ".join(part for part in (title, axes_labels) if part)
        if text and text not in parts:
            parts.append(text)
    return "Figure: " + "; ".join(parts) if parts else "Figure without a title"


def install_alt_text(shell: Any | None = None) -> bool:
    """Make IPython attach :func:`describe`'s alt text to every matplotlib figure it displays as PNG.

    The text travels in the output's metadata (``{"image/png": {"alt": ...}}``), where HTML exports read it.
    Called when this module is imported inside IPython; returns False outside IPython.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    from IPython.core.pylabtools import print_figure

    # matplotlib picks its backend at the first figure, and IPython's inline backend then registers its own PNG
    # formatter; make that happen now, so that ours, registered after it, is the one used.
    plt.close(plt.figure())

    def png_with_alt(fig: Figure) -> tuple[Any, dict[str, str]] | None:
        if not fig.axes and not fig.lines:
            return None
        return print_figure(fig, "png", bbox_inches="tight", base64=True), {"alt": describe(fig)}

    shell.display_formatter.formatters["image/png"].for_type(Figure, png_with_alt)
    return True


install_alt_text()


# ----------------------------------------------------------------------------------------------- explorers


def show_explorer(widget: Any, snapshot: Figure, caption: str = "") -> None:
    """Display an interactive widget followed by a static figure of its starting state.

    The widget only works in a live kernel; the snapshot is an ordinary image output, so executed notebooks
    and HTML exports still show what the explorer looks like.
    """
    from IPython.display import Markdown, display

    display(widget)
    display(Markdown(f"*Static snapshot{' of ' + caption if caption else ''} (for exported notebooks):*"))
    display(snapshot)
    plt.close(snapshot)


def sampling_explorer(
    sample: Callable[[int, str, float, int], str],
    distribution: Callable[[int, str, float], tuple[list[str], list[float]]],
    orders: Sequence[int],
    smoothings: Sequence[str],
    temperature: float = 1.0,
) -> Any:
    """Pick order, smoothing and temperature; see the next-word distribution and fresh samples.

    ``sample(order, smoothing, temperature, seed) -> text`` and
    ``distribution(order, smoothing, temperature) -> (words, probs)`` come from the lecture (they wrap
    ``course_lib.ngram``). Returns the widget box; ``.children[-1]`` is the output area.
    """
    import ipywidgets as w
    from IPython.display import display

    order = w.Dropdown(options=list(orders), value=orders[-1], description="order")
    smoothing = w.Dropdown(options=list(smoothings), value=smoothings[-1], description="smoothing")
    temp = w.FloatLogSlider(value=temperature, base=10, min=-1, max=1, step=0.05, description="temperature")
    button = w.Button(description="sample again")
    out = w.Output()
    seed = {"value": 0}

    def redraw(*_: Any) -> None:
        with out:
            out.clear_output(wait=True)
            words, probs = distribution(order.value, smoothing.value, temp.value)
            fig = plot_distribution(words, probs, f"next word after the start, T={temp.value:.2f}")
            display(fig)
            plt.close(fig)
            for i in range(3):
                print(f"[{i + 1}]", sample(order.value, smoothing.value, temp.value, seed["value"] + i))

    def resample(_: Any) -> None:
        seed["value"] += 3
        redraw()

    for control in (order, smoothing, temp):
        control.observe(redraw, names="value")
    button.on_click(resample)
    redraw()
    return w.VBox([w.HBox([order, smoothing]), w.HBox([temp, button]), out])


def bpe_merge_explorer(
    segment: Callable[[int], list[str]], new_tokens: Callable[[int], list[str]], num_merges: int, step: int = 10
) -> Any:
    """A slider over the number of BPE merges applied: shows the sentence's segmentation and the newest tokens.

    ``segment(k)`` returns the sentence's tokens using the first ``k`` merges; ``new_tokens(k)`` the tokens
    created by the last few merges up to ``k`` (both come from the lecture, wrapping ``course_lib.tokenizers``).
    """
    import ipywidgets as w
    from IPython.display import display

    slider = w.IntSlider(
        value=min(step, num_merges), min=0, max=num_merges, step=1, description="merges", continuous_update=False
    )
    out = w.Output()

    def redraw(*_: Any) -> None:
        with out:
            out.clear_output(wait=True)
            fig = plot_segmentations([(f"{slider.value} merges", segment(slider.value))])
            display(fig)
            plt.close(fig)
            print("newest tokens:", new_tokens(slider.value))

    slider.observe(redraw, names="value")
    redraw()
    return w.VBox([slider, out])
