"""The data at a glance: what data_at_a_glance.png shows, as plain numbers (no drawing here).

The left panel is the token lengths of the sampled texts with the planned max_length (or
block_size) marked and how many are longer; the right panel is what else sizes the run: the
rows per class (classification), how many documents each packed block holds (language
modelling) or the prompt and response lengths (supervised fine-tuning). render/draw.py draws
it; `trainwright inspect` prints a histogram of it as text.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from trainwright.discovery.models import DataFile
from trainwright.planning.fine_tuning.data import sft_length_rule
from trainwright.planning.label_columns import MULTI_LABEL, REGRESSION
from trainwright.planning.labelled import LENGTHS, planned_counts
from trainwright.planning.lengths import (
    TOKENS_PER_WORD,
    LengthRule,
    cut_count,
    estimated_lengths,
)
from trainwright.planning.plan import CAUSAL_LM, SFT, Plan
from trainwright.planning.selection import DataSelection

PICTURE_FILE = "data_at_a_glance.png"  # beside README-TRAINING.md
MAX_BINS = 30  # of the picture's histograms
MAX_LABELS = 20  # classes drawn one bar each; the rest are summed into one bar
NICE_STEPS = (1, 2, 5)  # bin widths without a planned limit: 1, 2, 5, 10, 20, 50, ...


@dataclass(frozen=True)
class Histogram:
    """Counts of values in bins: bin i holds edges[i] <= value < edges[i + 1]. With
    ``open_end`` the last bin holds every value from its lower edge up (the long tail), and its
    upper edge is the largest value plus one."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    open_end: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def width(self) -> float:
        """The width of the regular bins."""
        return self.edges[1] - self.edges[0]


@dataclass(frozen=True)
class Lengths:
    """The left panel: token lengths of the sampled texts and the planned limit."""

    what: str  # texts | examples | documents
    measured: bool  # with the model's tokenizer; else estimated from words
    histogram: Histogram  # of each sample's tokens, plus what the template adds
    limit_key: str  # max_length | block_size
    limit: int
    added_tokens: int  # added to every example before it meets the limit (a chat template)
    added_for: str
    longer: int  # samples longer than the limit: cut (max_length), or split (block_size)

    @property
    def samples(self) -> int:
        return self.histogram.total

    @property
    def longer_share(self) -> float:
        return self.longer / self.samples if self.samples else 0.0


@dataclass(frozen=True)
class Glance:
    """Everything the picture shows. Only one of the right panel's fields is set."""

    task: str
    lengths: Lengths
    labels: tuple[tuple[str, int], ...] = ()  # rows per class (or label), most first
    label_title: str = ""  # rows per class | rows per label
    targets: Histogram | None = None  # regression: the target's values
    # Packed language modelling: (documents with tokens in a block, blocks holding that many)
    blocks: tuple[tuple[int, int], ...] = ()
    prompts: Histogram | None = None  # fine-tuning: tokens of the context (bins as responses)
    responses: Histogram | None = None  # and of the part that is learned
    response_share: float = 0.0  # of all prompt and response tokens, the learned ones

    @property
    def fingerprint(self) -> str:
        """Changes exactly when the picture would: written into the PNG, so that a rerun on the
        same data finds the picture identical without drawing it again."""
        return hashlib.sha256(repr((DRAWING_VERSION, self)).encode()).hexdigest()[:16]


DRAWING_VERSION = 1  # raise when render/draw.py draws the same data differently


# ---------------------------------------------------------------------------------------------
# Histograms
# ---------------------------------------------------------------------------------------------

def nearest_rank(values: list[int] | list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def bin_width(reach: float, limit: int | None, max_bins: int) -> int:
    """The narrowest whole bin width that spans ``reach`` in at most ``max_bins`` bins and, with
    a limit, has the limit as a bin edge (a divisor of it)."""
    if limit:
        divisors = [d for d in range(1, limit + 1) if limit % d == 0]
        return next((d for d in divisors if math.ceil((reach + 1) / d) <= max_bins), limit)
    magnitude = 1
    while True:
        for step in NICE_STEPS:
            if math.ceil((reach + 1) / (step * magnitude)) <= max_bins:
                return step * magnitude
        magnitude *= 10


def length_histogram(lengths: list[int], limit: int | None = None,
                     max_bins: int = MAX_BINS) -> Histogram:
    """Bins from 0 that span the limit and the 99th percentile (with a limit, up to as many
    times the limit as there are bins); longer lengths share an open last bin. Every length is
    counted once."""
    if not lengths:
        return Histogram((0, 1), (0,))
    regular_bins = max_bins - 1  # one bin left for the tail
    reach = max(limit or 0, nearest_rank(lengths, 0.99))
    if limit:
        reach = min(reach, limit * regular_bins - 1)  # bins as wide as the limit at most
    width = bin_width(reach, limit, regular_bins)
    regular = max(1, math.ceil((reach + 1) / width))
    edges = [index * width for index in range(regular + 1)]
    longest = max(lengths)
    open_end = longest >= edges[-1]
    if open_end:
        edges.append(longest + 1)
    counts = [0] * (len(edges) - 1)
    for length in lengths:
        counts[min(int(length // width), len(counts) - 1)] += 1
    return Histogram(tuple(edges), tuple(counts), open_end)


def value_histogram(counts: dict[float, int], bins: int = 20) -> Histogram:
    """Equal bins from the smallest value to the largest (regression targets)."""
    low, high = min(counts), max(counts)
    width = (high - low) / bins if high > low else 1.0
    edges = tuple(low + index * width for index in range(bins + 1))
    binned = [0] * bins
    for value, rows in counts.items():
        binned[min(int((value - low) / width), bins - 1)] += rows
    return Histogram(edges, tuple(binned))


def bin_label(histogram: Histogram, index: int) -> str:
    """A bin as people read it: '32-47', or '>= 320' for an open last bin."""
    low, high = histogram.edges[index], histogram.edges[index + 1]
    if histogram.open_end and index == len(histogram.counts) - 1:
        return f">= {low:g}"
    if all(float(edge).is_integer() for edge in (low, high)):
        return f"{low:g}" if high - low == 1 else f"{low:g}-{high - 1:g}"
    return f"{low:.3g} to {high:.3g}"


def text_histogram(histogram: Histogram, width: int = 40) -> list[str]:
    """The histogram as rows of '█' bars with each bin's range and count, from the first bin
    that holds any."""
    first = next((index for index, count in enumerate(histogram.counts) if count), 0)
    labels = [bin_label(histogram, index) for index in range(first, len(histogram.counts))]
    widest = max(histogram.counts, default=0) or 1
    label_width = max(map(len, labels), default=0)
    count_width = len(f"{widest:,}")
    rows = []
    for label, count in zip(labels, histogram.counts[first:]):
        bar = "█" * (max(1, round(width * count / widest)) if count else 0)
        rows.append(f"{label:>{label_width}}  {bar:<{width}}  {count:>{count_width},}")
    return rows


# ---------------------------------------------------------------------------------------------
# The picture's data
# ---------------------------------------------------------------------------------------------

def length_rule(plan: Plan) -> LengthRule | None:
    """The rule that sized max_length (what the template adds to every example); None where
    the texts are packed into blocks instead."""
    objective = plan.value("data", "objective")
    if plan.task == "generation" or objective == CAUSAL_LM:
        return None
    if objective == SFT:
        return sft_length_rule(plan.value("data", "format"))
    return LENGTHS


def data_at_a_glance(plan: Plan, token_lengths: list[int] | None, data: DataSelection,
                     part_lengths: tuple[list[int], list[int]] | None = None) -> Glance | None:
    """What the picture shows, from the lengths the plan was sized with (None: the tokenizer
    is not local, so they are estimated from words as the plan estimated them); None when
    nothing was sampled."""
    texts = data.sample_texts
    if not texts:
        return None
    rule = length_rule(plan)
    measured = bool(token_lengths)
    lengths = list(token_lengths) if token_lengths else estimated_lengths(texts, rule)
    lengths_panel = _lengths(plan, lengths, measured, rule)
    if rule is None:
        return Glance(plan.task, lengths_panel, blocks=packed_blocks(lengths, lengths_panel.limit))
    if plan.value("data", "objective") == SFT:
        return _with_parts(plan.task, lengths_panel, data, part_lengths)
    return _with_labels(plan, lengths_panel, data.train)


def _lengths(plan: Plan, lengths: list[int], measured: bool, rule: LengthRule | None
             ) -> Lengths:
    if rule is None:
        limit = int(plan.value("data", "block_size"))
        return Lengths("documents", measured, length_histogram(lengths, limit), "block_size",
                       limit, 0, "", cut_count(lengths, limit))
    added = rule.added_tokens
    limit = int(plan.value("data", "max_length"))
    what = "examples" if plan.value("data", "objective") == SFT else "texts"
    # Drawn as the model meets them: each text with what the template adds.
    return Lengths(what, measured, length_histogram([n + added for n in lengths], limit),
                   "max_length", limit, added, rule.added_for,
                   cut_count(lengths, limit - added))


def packed_blocks(lengths: list[int], block_size: int) -> tuple[tuple[int, int], ...]:
    """How many documents each full block of the packed stream holds tokens of: the documents
    in sample order, each followed by its EOS token, cut into blocks (the last partial block is
    dropped, as the script drops it). (documents in a block, blocks) pairs, fewest first."""
    per_block: dict[int, int] = {}
    filled, touching = 0, 0
    for length in lengths:
        remaining = length + 1  # the EOS token after it
        touching += 1  # the document has tokens in the current block
        while filled + remaining >= block_size:
            remaining -= block_size - filled
            per_block[touching] = per_block.get(touching, 0) + 1
            filled, touching = 0, (1 if remaining else 0)
        filled += remaining
    return tuple(sorted(per_block.items()))


def _with_labels(plan: Plan, lengths: Lengths, train: DataFile) -> Glance:
    section = plan.sections["data"]
    kind = plan.value("data", "label_kind")
    if kind == REGRESSION:
        return Glance(plan.task, lengths, targets=_targets(train, plan.value("data",
                                                                            "label_column")))
    counts = sorted(planned_counts(train, section).items(), key=lambda item: -item[1])
    if len(counts) > MAX_LABELS:
        rest = counts[MAX_LABELS - 1:]
        counts = [*counts[:MAX_LABELS - 1], (f"{len(rest)} more", sum(n for _, n in rest))]
    title = "rows per label" if kind == MULTI_LABEL else "rows per class"
    return Glance(plan.task, lengths, labels=tuple(counts), label_title=title)


def _targets(train: DataFile, column: str | None) -> Histogram | None:
    """The regression target's values, when discovery counted them."""
    facts = train.column(column)
    values: dict[float, int] = {}
    for value, rows in (facts.counts if facts else {}).items():
        try:
            values[float(value)] = values.get(float(value), 0) + rows
        except ValueError:
            continue
    return value_histogram(values) if values else None


def _with_parts(task: str, lengths: Lengths, data: DataSelection,
                part_lengths: tuple[list[int], list[int]] | None) -> Glance:
    """The prompt and response lengths of the sampled examples, in shared bins."""
    parts = data.shape.sample_parts if data.shape else ()
    if not parts:
        return Glance(task, lengths)
    if part_lengths:
        prompts, responses = part_lengths
    else:
        prompts = estimated_lengths([prompt for prompt, _ in parts])
        responses = estimated_lengths([response for _, response in parts])
    bins = length_histogram(prompts + responses)
    total = sum(prompts) + sum(responses)
    return Glance(task, lengths, prompts=_in_bins(prompts, bins),
                  responses=_in_bins(responses, bins),
                  response_share=sum(responses) / total if total else 0.0)


def _in_bins(values: list[int], bins: Histogram) -> Histogram:
    counts = [0] * len(bins.counts)
    for value in values:
        counts[min(int(value // bins.width), len(counts) - 1)] += 1
    return Histogram(bins.edges, tuple(counts), bins.open_end)


# ---------------------------------------------------------------------------------------------
# Words for README-TRAINING.md
# ---------------------------------------------------------------------------------------------

def share_text(count: int, total: int) -> str:
    return "none" if not count else f"{count:,} ({100 * count / total:.1f} %)"


def caption(glance: Glance) -> str:
    """One line under the picture: what each panel shows and the share the limit cuts."""
    lengths = glance.lengths
    how = ("measured with the model's tokenizer" if lengths.measured
           else f"estimated as {TOKENS_PER_WORD} tokens a word: the model's tokenizer is not "
                "available locally")
    added = lengths.added_tokens
    if added:
        how += f"; each with {added} token{'s' if added != 1 else ''} for {lengths.added_for}"
    left = (f"Left: the token lengths of {lengths.samples:,} sampled {lengths.what} ({how}), "
            f"with `{lengths.limit_key}` {lengths.limit} marked")
    longer = share_text(lengths.longer, lengths.samples)
    if lengths.limit_key == "block_size":
        left += (f": {longer} of them {'is' if lengths.longer == 1 else 'are'} longer than a "
                 "block and continue in the next one (packing cuts nothing)")
    else:
        left += f": it cuts {longer} of them"
    right = _right_caption(glance)
    return f"{left}." + (f" {right}" if right else "")


def _right_caption(glance: Glance) -> str:
    if glance.blocks:
        return ("Right: how many documents each packed block of the sample holds tokens of "
                "(the EOS token separates them).")
    if glance.prompts is not None:
        return (f"Right: the prompt and response lengths; the response, which is learned, is "
                f"{100 * glance.response_share:.0f} % of their tokens.")
    if glance.labels:
        return f"Right: the {glance.label_title} of the training data."
    if glance.targets is not None:
        return "Right: the target's values in the training data."
    return ""
