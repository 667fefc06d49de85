"""Building blocks of the self-contained HTML reports (the evaluation's and the
benchmark's): atomic writes, PNG figures embedded as data URIs, escaped tables, curve
plots, the page itself. Every string from data is HTML-escaped and never parsed as mathtext."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from aligngemini.atomic import write_atomic

STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #bbb; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
figure { display: inline-block; margin: 0 1em 1em 0; }
img { max-width: 100%; }
"""
ROC_AXES = ("false positive rate (reals called fake)", "true positive rate (fakes caught)")
PR_AXES = ("recall (fakes caught)", "precision (of the images called fake)")


def png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    # No 'Software' entry: the bytes then depend on the pixels only.
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def write_figures(folder: Path, figures: Mapping[str, Figure]) -> dict[str, bytes]:
    """Each figure as `folder/<stem>.png`; stem -> PNG bytes, for `figure_html`."""
    folder.mkdir(parents=True, exist_ok=True)
    pngs = {stem: png(figure) for stem, figure in figures.items()}
    for stem, data in pngs.items():
        write_atomic(folder / f"{stem}.png", data)
    return pngs


def plain_legend(axes) -> None:
    for text in axes.legend(fontsize="small").get_texts():
        text.set_parse_math(False)


def plot_value(metric: float | int | None) -> float:
    return np.nan if metric is None else float(metric)


def curve_figure(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], axes_labels: tuple[str, str], title: str, diagonal: bool = False) -> Figure:
    """One line per label -> (xs, ys) on the unit square; `diagonal` draws chance."""
    figure = Figure(figsize=(5, 5), layout="constrained")
    axes = figure.add_subplot()
    if diagonal:
        axes.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    for label, (xs, ys) in curves.items():
        axes.plot(xs, ys, label=label)
    axes.set(xlim=(0, 1), ylim=(0, 1.01), xlabel=axes_labels[0], ylabel=axes_labels[1])
    axes.set_title(title, fontsize="medium", parse_math=False)
    plain_legend(axes)
    return figure


def _cell(value: object) -> str:
    if value is None:
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def table(header: Sequence[str], rows: Iterable[Sequence[object]], header_rows: Sequence[Sequence[tuple[str, int]]] = ()) -> str:
    """`header_rows` are extra header rows above `header`, as (text, colspan) cells; an
    empty `header` gives a headerless key/value table."""
    lines = ["<table>"]
    for cells in header_rows:
        lines.append("<tr>" + "".join(f'<th colspan="{span}">{html.escape(text)}</th>' for text, span in cells) + "</tr>")
    if header:
        lines.append("<tr>" + "".join(f"<th>{html.escape(text)}</th>" for text in header) + "</tr>")
    lines.extend("<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>" for row in rows)
    lines.append("</table>")
    return "\n".join(lines)


def figure_html(stem: str, pngs: Mapping[str, bytes], alt: str) -> str:
    """The figure embedded as a data URI, or nothing if it was not drawn."""
    if stem not in pngs:
        return ""
    data = base64.b64encode(pngs[stem]).decode("ascii")
    return f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}"><figcaption>figures/{html.escape(stem)}.png</figcaption></figure>'


def document(title: str, parts: Iterable[str]) -> str:
    """The whole page: `parts` (HTML fragments; empty ones dropped) under an escaped title."""
    body = "\n".join(part for part in parts if part)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
