"""The example notebook runs, headless, so the documented Python API cannot rot."""

from __future__ import annotations

import pytest

from tests.conftest import ROOT

NOTEBOOK = ROOT / "docs" / "examples" / "python_api.ipynb"


def test_example_notebook_runs(tmp_path) -> None:
    nbformat = pytest.importorskip("nbformat", reason="pip install -e .[dev]")
    nbclient = pytest.importorskip("nbclient", reason="pip install -e .[dev]")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "sales a day" in text and "net harm GBP" in text
