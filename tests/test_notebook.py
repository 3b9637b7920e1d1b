"""notebooks/explore.ipynb runs from top to bottom (so it cannot rot), and is committed
without outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("matplotlib")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "explore.ipynb"


def test_the_notebook_is_committed_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]


@pytest.mark.slow
def test_the_notebook_runs_end_to_end(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent.parent)}},
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "plan delivers" in text and "PSNR" in text and "chosen:" in text
    assert "one-warp candidate" in text  # what the prose says the report decided
    assert "where the time goes" in text and "its steps add up to" in text
    assert text.count("num_workers=") == 2  # one recommendation for each loader
    html = [o for o in outputs if "text/html" in o.get("data", {})]
    assert html and "reorder plan" in html[0]["data"]["text/html"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    # The candidates chart, the sample grid, the step chart and the balance picture.
    assert len(images) == 4
