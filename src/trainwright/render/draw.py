"""Draw data_at_a_glance.png from the picture's data (render/pictures.py) with matplotlib.

matplotlib is imported only when a picture is drawn (the import takes about 0.4 s), and a
Figure without pyplot needs no display and sets no global backend: this draws on a headless
machine and inside any process. The PNG carries the fingerprint of the data it shows, so that
a rerun on the same data finds it identical without drawing it again.
"""

from __future__ import annotations

import importlib.util
import io
import struct
import zlib
from functools import partial
from pathlib import Path

from trainwright import __version__
from trainwright.errors import UserError
from trainwright.render.pictures import (
    PICTURE_FILE,
    Glance,
    Histogram,
    Lengths,
    bin_label,
    share_text,
)
from trainwright.write import FileChange, atomic_write

FIGURE_INCHES = (10, 4)
DPI = 100  # 1000 x 400 pixels
FINGERPRINT_KEY = "trainwright-data"  # the PNG text chunk that holds Glance.fingerprint
INSTALL = "pip install matplotlib (or pip install 'trainwright[pictures]')"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BINARY = "<binary or non-UTF-8 content>"  # an existing picture's previous content
KEPT, CUT, PROMPT, RESPONSE = "tab:blue", "tab:red", "tab:blue", "tab:orange"


def matplotlib_installed() -> bool:
    """Whether a picture can be drawn here (without importing matplotlib)."""
    return importlib.util.find_spec("matplotlib") is not None


def draw(glance: Glance, path: str | Path) -> None:
    """Write the picture to ``path`` atomically (a reader never sees half a picture).
    Raises ImportError without matplotlib."""
    atomic_write(Path(path), picture_png(glance))


def picture_png(glance: Glance) -> bytes:
    """The picture as PNG bytes: the lengths on the left, the right panel when there is one."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    right = has_right_panel(glance)
    axes = figure.subplots(1, 2 if right else 1, squeeze=False)[0]
    _draw_lengths(axes[0], glance.lengths)
    if right:
        _draw_right(axes[1], glance)
    for panel in axes:
        panel.grid(alpha=0.3, axis="y" if panel is axes[0] or not glance.labels else "x")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI,
                   metadata={"Software": f"trainwright {__version__}",
                             FINGERPRINT_KEY: glance.fingerprint})
    return buffer.getvalue()


def has_right_panel(glance: Glance) -> bool:
    return bool(glance.labels or glance.blocks or glance.prompts is not None
                or glance.targets is not None)


def _bars(panel, histogram: Histogram, colours: list[str], offset: float = 0.0,
          share: float = 1.0, label: str | None = None) -> None:
    """One bar per bin at its lower edge; an open last bin is drawn as wide as the others,
    hatched (the legend gives its range)."""
    width = histogram.width
    lefts = [edge + offset * width for edge in histogram.edges[:-1]]
    bars = panel.bar(lefts, histogram.counts, width=width * share, align="edge",
                     color=colours, edgecolor="white", linewidth=0.5, label=label)
    if histogram.open_end:
        bars[-1].set_hatch("//")
        bars[-1].set_edgecolor("dimgrey")


def _draw_lengths(panel, lengths: Lengths) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    histogram = lengths.histogram
    over = [CUT if edge >= lengths.limit else KEPT for edge in histogram.edges[:-1]]
    _bars(panel, histogram, over)
    panel.axvline(lengths.limit, color="black", linestyle="--", linewidth=1.2)
    packed = lengths.limit_key == "block_size"
    longer = share_text(lengths.longer, lengths.samples)
    handles = [Line2D([], [], color="black", linestyle="--", linewidth=1.2,
                      label=f"{lengths.limit_key} {lengths.limit}"),
               Patch(color=CUT, label=(f"longer, continued in the next block: {longer}"
                                       if packed else f"longer, cut: {longer}"))]
    if histogram.open_end:
        handles.append(Patch(facecolor="white", edgecolor="dimgrey", hatch="//",
                             label=f"{bin_label(histogram, len(histogram.counts) - 1)} tokens"))
    source = "the model's tokenizer" if lengths.measured else "words x 1.4, estimated"
    panel.set_title(f"Token lengths of {lengths.samples:,} sampled {lengths.what} ({source})",
                    fontsize="medium")
    added = f" (with {lengths.added_tokens} for {lengths.added_for})" \
        if lengths.added_tokens else ""
    panel.set_xlabel(f"tokens per {lengths.what[:-1]}{added}")
    panel.set_ylabel(f"sampled {lengths.what}")
    panel.legend(handles=handles, loc="best", fontsize="small", framealpha=0.9)


def _draw_right(panel, glance: Glance) -> None:
    if glance.labels:
        names = [_short(name) for name, _ in reversed(glance.labels)]
        bars = panel.barh(names, [rows for _, rows in reversed(glance.labels)], color=KEPT)
        panel.bar_label(bars, labels=[f"{rows:,}" for _, rows in reversed(glance.labels)],
                        padding=3, fontsize="small")
        panel.margins(x=0.12)  # room for the counts
        panel.set_title(glance.label_title.capitalize() + " (training data)", fontsize="medium")
        panel.set_xlabel("rows")
    elif glance.targets is not None:
        _bars(panel, glance.targets, [KEPT] * len(glance.targets.counts))
        panel.set_title("Target values (training data)", fontsize="medium")
        panel.set_xlabel("value")
        panel.set_ylabel("rows")
    elif glance.blocks:
        panel.bar([documents for documents, _ in glance.blocks],
                  [blocks for _, blocks in glance.blocks], color=KEPT)
        panel.set_title(f"Documents per packed block of {glance.lengths.limit} tokens",
                        fontsize="medium")
        panel.set_xlabel("documents with tokens in the block")
        panel.set_ylabel("blocks of the sample")
        panel.xaxis.get_major_locator().set_params(integer=True)
    elif glance.prompts is not None and glance.responses is not None:
        _bars(panel, glance.prompts, [PROMPT] * len(glance.prompts.counts), share=0.5,
              label="prompt (context)")
        _bars(panel, glance.responses, [RESPONSE] * len(glance.responses.counts), offset=0.5,
              share=0.5, label=f"response (learned: {100 * glance.response_share:.0f} % of "
                               "the tokens)")
        panel.set_title("Prompt and response lengths", fontsize="medium")
        panel.set_xlabel("tokens")
        panel.set_ylabel(f"sampled {glance.lengths.what}")
        panel.legend(loc="best", fontsize="small")


def _short(name: str, width: int = 24) -> str:
    return name if len(name) <= width else name[:width - 1] + "…"


def stored_fingerprint(path: Path) -> str | None:
    """The fingerprint a picture drawn by trainwright carries; None for any other file."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return png_texts(data).get(FINGERPRINT_KEY)


def png_texts(data: bytes) -> dict[str, str]:
    """The tEXt and zTXt entries of a PNG; {} when the bytes are not a PNG."""
    if not data.startswith(PNG_SIGNATURE):
        return {}
    texts, position = {}, len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        position += 12 + length  # length, type, data, CRC
        if kind in (b"tEXt", b"zTXt"):
            key, _, value = body.partition(b"\0")
            if kind == b"zTXt":
                try:
                    value = zlib.decompress(value[1:])  # a compression-method byte first
                except zlib.error:
                    continue
            texts[key.decode("latin-1")] = value.decode("latin-1")
        if kind == b"IEND":
            break
    return texts


def picture_change(root: Path, glance: Glance, force: bool, installed: bool) -> FileChange:
    """What init does with the picture: like a text file, an existing one that differs is
    replaced only with --force (a .bak is kept); one showing the same data is left alone."""
    if not installed:
        return FileChange(PICTURE_FILE, "skip", "", None,
                          note=f"drawing it needs matplotlib: {INSTALL}")
    path = root / PICTURE_FILE
    writer = partial(_draw_after_the_text_files, glance)
    if not path.exists():
        return FileChange(PICTURE_FILE, "create", "", None, writer=writer)
    stored = stored_fingerprint(path)
    if stored == glance.fingerprint:
        return FileChange(PICTURE_FILE, "identical", "", BINARY, note="shows the same data",
                          writer=writer)
    note = ("a picture of other data, drawn by an earlier init" if stored
            else "a file trainwright did not draw")
    if force:
        return FileChange(PICTURE_FILE, "overwrite", "", BINARY, f"{PICTURE_FILE}.bak", note,
                          writer=writer)
    return FileChange(PICTURE_FILE, "conflict", "", BINARY, note=note, writer=writer)


def _draw_after_the_text_files(glance: Glance, path: Path) -> None:
    """The picture is written last: a matplotlib that is installed but does not import is an
    error that says the other files are written and how to get past it."""
    try:
        draw(glance, path)
    except ImportError as error:
        raise UserError(f"{PICTURE_FILE} could not be drawn: matplotlib is installed but does "
                        f"not import ({error}). The other files were written.",
                        "reinstall it (pip install --force-reinstall matplotlib), or uninstall "
                        "it: init then skips the picture.") from error
