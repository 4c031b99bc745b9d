"""course_lib.viz: every plot draws what it is given; explorers redraw through the lecture's callbacks."""

from __future__ import annotations

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from course_lib import viz


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_distribution_draws_one_bar_per_word_with_its_height() -> None:
    fig = viz.plot_distribution(["a", "b", "c"], [0.5, 0.3, 0.2], "P(w)")
    bars = fig.axes[0].patches
    assert [round(b.get_height(), 6) for b in bars] == [0.5, 0.3, 0.2]
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="3 words but 2"):
        viz.plot_distribution(["a", "b", "c"], [0.5, 0.5])


def test_plot_distribution_into_given_axes() -> None:
    fig, axes = plt.subplots(1, 2)
    assert viz.plot_distribution(["x"], [1.0], ax=axes[1]) is fig
    assert len(axes[1].patches) == 1 and not axes[0].patches


def test_plot_sparsity_in_percent() -> None:
    fig = viz.plot_sparsity([1, 2, 3], [0.01, 0.3, 0.6])
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [1, 2, 3]
    assert [round(y, 6) for y in line.get_ydata()] == [1.0, 30.0, 60.0]


def test_plot_perplexity_leaves_out_infinite_values_and_says_so() -> None:
    fig = viz.plot_perplexity([1, 2, 3], {"mle": [100.0, math.inf, math.inf], "kn": [100.0, 50.0, 40.0]})
    lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
    assert list(lines["mle (infinite at n=2, 3)"].get_ydata()) == [100.0]
    assert list(lines["kn"].get_ydata()) == [100.0, 50.0, 40.0]
    viz.plot_perplexity([1], {"mle": [math.inf]})  # nothing finite to draw: still a figure


def test_tradeoff_and_oov_plots() -> None:
    fig = viz.plot_tradeoff(["chars", "words"], [100, 5000], [4.5, 1.0])
    points = [c.get_offsets().tolist() for c in fig.axes[0].collections]
    assert points == [[[100, 4.5]], [[5000, 1.0]]]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["chars", "words"]
    fig = viz.plot_oov(["words", "bpe"], [0.05, 0.0])
    assert [round(b.get_height(), 6) for b in fig.axes[0].patches] == [5.0, 0.0]


def test_plot_segmentations_shows_every_token_once_per_row() -> None:
    rows = [("0 merges", list("a cat")), ("2 merges", ["a", " cat"])]
    fig = viz.plot_segmentations(rows, "BPE")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "0 merges (5 tokens)" in texts and "2 merges (2 tokens)" in texts
    assert texts.count("␣cat") == 1 and texts.count("␣") == 1  # spaces are made visible


def test_plot_batch_greys_out_padding() -> None:
    fig = viz.plot_batch(
        [[5, 6, 0], [7, 0, 0]], [[1, 1, 0], [1, 0, 0]], tokens=[["a", "b", "<pad>"], ["c", "<pad>", "<pad>"]]
    )
    image = fig.axes[0].get_images()[0].get_array()
    assert image.tolist() == [[0, 0, 1], [0, 1, 1]]
    assert len(fig.axes[0].texts) == 6


def test_sampling_explorer_redraws_through_the_callbacks() -> None:
    calls = []

    def distribution(order, smoothing, temperature):
        calls.append(("dist", order, smoothing, temperature))
        return ["a", "b"], [0.7, 0.3]

    def sample(order, smoothing, temperature, seed):
        calls.append(("sample", order, smoothing, temperature, seed))
        return "a b"

    box = viz.sampling_explorer(sample, distribution, orders=[1, 2], smoothings=["add_k", "kneser_ney"])
    assert calls[0] == ("dist", 2, "kneser_ney", 1.0)  # defaults: the last order and smoothing
    assert [c[-1] for c in calls if c[0] == "sample"] == [0, 1, 2]
    order_dropdown = box.children[0].children[0]
    order_dropdown.value = 1
    assert calls[-4][:2] == ("dist", 1)
    button = box.children[1].children[1]
    button.click()
    assert [c[-1] for c in calls[-3:]] == [3, 4, 5]  # fresh seeds


def test_bpe_merge_explorer_follows_the_slider() -> None:
    seen = []
    box = viz.bpe_merge_explorer(lambda k: seen.append(k) or ["ab", "c"], lambda k: ["ab"], num_merges=50, step=5)
    slider = box.children[0]
    assert seen == [5] and slider.max == 50
    slider.value = 42
    assert seen == [5, 42]


def test_show_explorer_displays_widget_and_snapshot(monkeypatch) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    fig = viz.plot_sparsity([1], [0.5])
    viz.show_explorer("WIDGET", fig, "a caption")
    assert shown[0] == "WIDGET" and shown[-1] is fig and isinstance(shown[-1], Figure)
    assert "a caption" in shown[1].data


def test_plot_perplexity_keeps_equal_points_visible_and_ticks_readable() -> None:
    fig = viz.plot_perplexity([1, 2], {"mle": [300.0, math.inf], "add_k": [300.0, 900.0], "kn": [300.0, 120.0]})
    ax = fig.axes[0]
    sizes = [line.get_markersize() for line in ax.get_lines()]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == 3  # the first (mle) is the largest
    assert all(line.get_markerfacecolor() == "none" for line in ax.get_lines())  # hollow: nested, not hidden
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"[\d,]+", label) for label in labels), labels  # 100, 200, 500, not 10^2


def test_plot_temperatures_share_one_y_axis() -> None:
    fig = viz.plot_temperatures(
        [("T=0.5", ["a", "b"], [0.9, 0.1]), ("T=1", ["a", "b"], [0.7, 0.3]), ("T=2", ["a", "b"], [0.55, 0.45])]
    )
    limits = {ax.get_ylim() for ax in fig.axes}
    assert len(fig.axes) == 3 and len(limits) == 1 and limits.pop()[1] >= 0.9
    assert [round(b.get_height(), 6) for b in fig.axes[2].patches] == [0.55, 0.45]


def test_plot_copying_and_model_size() -> None:
    fig = viz.plot_copying([1, 2, 3], [0.0, 0.25, 1.0], k=5)
    (line,) = fig.axes[0].get_lines()
    assert [round(y, 6) for y in line.get_ydata()] == [0.0, 25.0, 100.0]
    assert "5-grams" in fig.axes[0].get_ylabel()
    fig = viz.plot_model_size([1, 2, 3], [10, 80, 95], training_tokens=100)
    stored, reference = fig.axes[0].get_lines()
    assert list(stored.get_ydata()) == [10, 80, 95] and list(reference.get_ydata()) == [100, 100]


def test_describe_gives_alt_text_from_titles_and_labels() -> None:
    fig = viz.plot_sparsity([1, 2], [0.1, 0.5], "Tiny Shakespeare")
    assert viz.describe(fig) == (
        "Figure: Sparsity: Tiny Shakespeare: held-out n-grams never seen (%) against n (order of the n-gram)"
    )
    assert viz.describe(plt.figure()) == "Figure without a title"


def test_ipython_displays_figures_with_alt_text() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    assert viz.install_alt_text(shell)
    fig = viz.plot_copying([1, 2], [0.0, 0.5], k=5)
    data, metadata = shell.display_formatter.format(fig)
    assert data["image/png"] and metadata["image/png"]["alt"].startswith("Figure: Verbatim copying")


def test_plot_attention_draws_the_matrix_with_token_labels() -> None:
    weights = [[0.7, 0.2, 0.1], [0.0, 0.5, 0.5]]
    fig = viz.plot_attention(weights, ["a", "b", "</s>"], ["x", "y"], title="cross-attention")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "</s>"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]
    assert ax.images[0].get_array().tolist() == weights
    with pytest.raises(ValueError, match="2 x 3"):
        viz.plot_attention([[1.0, 0.0]], ["a", "b", "c"], ["x", "y"])
    plt.close(fig)


def test_loglog_slope_recovers_a_power_law_and_the_plot_labels_it() -> None:
    xs = [64, 128, 256, 512]
    assert viz.loglog_slope(xs, [3 * x**2 for x in xs]) == pytest.approx(2.0)
    assert viz.loglog_slope(xs, [0.5 * x for x in xs]) == pytest.approx(1.0)
    fig = viz.plot_loglog(xs, {"quadratic": [x**2 for x in xs]}, "T", "seconds")
    assert "slope 2.00" in fig.axes[0].get_legend().get_texts()[0].get_text()
    with pytest.raises(ValueError, match="two equally long"):
        viz.loglog_slope([1], [1])
    plt.close(fig)
