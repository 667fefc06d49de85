import base64
import re

import pytest

from aligngemini.evaluation.report import write_report
from aligngemini.evaluation.summary import SETS, summarise

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HOSTILE = "<script>alert(1)</script>$x^"


@pytest.fixture
def report(tmp_path, detectors):
    """Summarises a table and writes its report under tmp_path/name; returns the HTML path."""

    def write(table, name="report", details=None):
        evaluation = summarise(table, detectors)
        return write_report(tmp_path / name, evaluation, "Eval <v1.0.0>", details or {"model": "aligngemini@v1.0.0"})

    return write


def test_report_embeds_its_figures_and_keeps_them_on_disk(report, scores_table):
    path = report(scores_table())
    assert path.name == "report.html" and path.parent.name == "report"
    page = path.read_text(encoding="utf-8")
    stems = {p.stem for p in (path.parent / "figures").glob("*.png")}
    assert stems == {"generators"} | {f"{kind}_{name}" for kind in ("roc", "robustness") for name in SETS}
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(embedded) == len(stems)
    on_disk = {(path.parent / "figures" / f"{stem}.png").read_bytes() for stem in stems}
    assert {base64.b64decode(data) for data in embedded} == on_disk
    assert all(png.startswith(PNG_MAGIC) for png in on_disk)


def test_page_is_self_contained(report, scores_table):
    page = report(scores_table()).read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<link" not in page and "<script" not in page.lower()


def test_every_string_is_escaped(report, scores_table):
    page = report(scores_table(hostile=HOSTILE), details={"<b>key</b>": "md5 <i>abc</i>"}).read_text(encoding="utf-8")
    assert "<script" not in page.lower() and "<b>key" not in page and "<i>abc" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;$x^" in page
    assert "&lt;b&gt;key&lt;/b&gt;" in page and "md5 &lt;i&gt;abc&lt;/i&gt;" in page
    assert "<title>Eval &lt;v1.0.0&gt;</title>" in page


def test_tables_show_the_metrics(report, scores_table):
    page = report(scores_table()).read_text(encoding="utf-8")
    assert "<td>semantic</td>" in page and "<td>gen-h</td>" in page and "<td>jpeg_q50</td>" in page
    assert "<td>0.500</td>" in page  # semantic on the held-out set
    assert page.index("Generalisation: held-out families") < page.index("Ablation")
    assert "<td>fam-r</td><td>reconstructor</td>" in page and "<td>fam-h</td><td>generator</td>" in page


def test_set_without_fakes_is_reported_without_its_figures(report, scores_table):
    table = scores_table()
    path = report(table[~table["split"].str.startswith("heldout")])
    assert not (path.parent / "figures" / "roc_heldout.png").exists()
    assert "No ROC curve for the heldout set" in path.read_text(encoding="utf-8")


def test_rerun_gives_identical_bytes(report, scores_table):
    table = scores_table()
    first, second = report(table, "a"), report(table, "b")
    assert first.read_bytes() == second.read_bytes()
    assert b"Software" not in (first.parent / "figures" / "roc_test.png").read_bytes()
