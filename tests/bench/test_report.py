"""A bench rewrites only its own marked section of a shared report."""

import pytest

from bench.report import write_section


def test_a_rerun_replaces_its_section_and_leaves_the_others(tmp_path):
    report = tmp_path / "validation.md"
    report.write_text("# Title\n\nprose\n")
    write_section(report, "a", "## A\nfirst run")
    write_section(report, "b", "## B\nonly run\n\n")
    write_section(report, "a", "## A\nsecond run")
    assert report.read_text() == ("# Title\n\nprose\n\n"
                                  "<!-- a:start -->\n## A\nsecond run\n<!-- a:end -->\n\n"
                                  "<!-- b:start -->\n## B\nonly run\n<!-- b:end -->\n")


def test_a_section_can_go_right_after_the_title(tmp_path):
    report = tmp_path / "validation.md"
    report.write_text("# Title\n\nprose\n")
    write_section(report, "a", "## A", after_title="# Title")
    assert report.read_text() == "# Title\n\n<!-- a:start -->\n## A\n<!-- a:end -->\n\nprose\n"
    write_section(tmp_path / "new.md", "a", "## A", after_title="# Title")
    assert (tmp_path / "new.md").read_text() == "# Title\n\n<!-- a:start -->\n## A\n<!-- a:end -->\n"


def test_a_file_holding_one_marker_of_a_section_is_refused(tmp_path):
    report = tmp_path / "validation.md"
    report.write_text("<!-- a:start -->\n## A, its end marker deleted by hand\n")
    with pytest.raises(ValueError, match="only one of section a's markers"):
        write_section(report, "a", "## A")
