"""docs/data-dictionary.md matches a fresh generation, and the generator notices stale files and bad view docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import data_dictionary


def test_committed_dictionary_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    # Fails when a model or migration changed without `python -m tools.data_dictionary` being rerun.
    assert data_dictionary.main(["--check"]) == 0, capsys.readouterr().err


def test_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    output = tmp_path / "dictionary.md"
    assert data_dictionary.main(["--output", str(output)]) == 0
    assert data_dictionary.main(["--check", "--output", str(output)]) == 0
    output.write_text(output.read_text(encoding="utf-8").replace("Zoho deal id.", "Some id."), encoding="utf-8")
    assert data_dictionary.main(["--check", "--output", str(output)]) == 1


def test_dictionary_documents_every_table_column_and_view() -> None:
    content = data_dictionary.generate()
    for table in data_dictionary.Base.metadata.sorted_tables:
        assert f"### `{table.name}`" in content
        for column in table.columns:
            assert f"| `{column.name}` |" in content
    for view in ("v_open_pipeline", "v_won_lost_by_month", "v_pipeline_by_region_stage", "v_stale_deals"):
        assert f"### `{view}`" in content
    assert "FK → regions.code" in content
    assert "| `Unassigned` |" in content


def test_view_docs_must_match_the_built_views() -> None:
    views = data_dictionary.declared_views()
    facts = data_dictionary.migrated_facts()
    data_dictionary.check_views_match(views, facts)  # the real ones agree

    first = views[0]
    renamed = data_dictionary.ViewDoc(
        name=first.name,
        purpose=first.purpose,
        columns=(data_dictionary.ViewColumn("no_such_column", "int", "x"), *first.columns[1:]),
    )
    with pytest.raises(SystemExit, match="documented columns"):
        data_dictionary.check_views_match([renamed, *views[1:]], facts)
    with pytest.raises(SystemExit, match="no migration's ANALYST_VIEWS documents it"):
        data_dictionary.check_views_match(views[1:], facts)
