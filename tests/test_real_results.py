"""The real preset's committed results (docs/results/real/) are what `python -m stages
paper-table` makes of the experiments' saved `dvc exp show --json`, and the README's headline
table is theirs: neither can drift from the runs behind it."""

from __future__ import annotations

from conftest import REPO

from stages.tools import paper_table

RESULTS = REPO / "docs/results/real"
HEADLINE = "<!-- headline table: docs/results/real/paper_table.csv -->"


def test_the_committed_table_is_what_the_saved_experiments_give(tmp_path):
    paper_table.main(out=tmp_path, preset="real", exp_show_file=RESULTS / "exp_show.json",
                     published_file=REPO / "reference/published.yaml", params_file=REPO / "params.yaml")
    for name in ("paper_table.md", "paper_table.csv"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (RESULTS / name).read_text(encoding="utf-8"), name


def test_the_committed_table_at_each_rate_is_what_the_saved_experiments_give(tmp_path):
    for rate_dir in sorted(RESULTS.glob("rate_*")):
        paper_table.main(out=tmp_path, preset="real", exp_show_file=RESULTS / "exp_show.json",
                         learning_rate=float(rate_dir.name.removeprefix("rate_")),
                         published_file=REPO / "reference/published.yaml", params_file=REPO / "params.yaml")
        for name in ("paper_table.md", "paper_table.csv"):
            assert (tmp_path / name).read_text(encoding="utf-8") == (rate_dir / name).read_text(encoding="utf-8"), \
                rate_dir / name
    assert sorted(path.name for path in RESULTS.glob("rate_*")) == ["rate_0.0001", "rate_0.0003", "rate_0.001"]


def _tables(text: str, header: str) -> list[list[list[str]]]:
    """The cells of each markdown table that follows a line starting with `header`, header row
    and alignment row left out."""
    tables, lines = [], text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith(header):
            rows = []
            for following in lines[index + 1:]:
                if following.startswith("|"):
                    rows.append([cell.strip() for cell in following.strip().strip("|").split("|")])
                elif rows:
                    break
            tables.append(rows[2:])
    return tables


def test_the_readmes_headline_table_is_the_committed_one():
    """Per row: dev and test (RT polarity) and LGTM's paired test, as paper_table.md has them."""
    report = (RESULTS / "paper_table.md").read_text(encoding="utf-8")
    (dev,), (test,) = _tables(report, "### Dev"), _tables(report, "### Test")
    (headline,) = _tables((REPO / "README.md").read_text(encoding="utf-8"), HEADLINE)
    # paper_table.md's columns: row, RT polarity, Avg, p (Avg); Avg is RT polarity's own average.
    assert [row for row, *_ in dev] == [row for row, *_ in test]
    expected = [[dev_row[0], dev_row[1], test_row[1], dev_row[3]] for dev_row, test_row in zip(dev, test)]
    assert headline == expected
