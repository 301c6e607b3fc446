"""The scheduled report notebook runs unchanged under papermill, as cron or a JupyterHub service
would run it, and leaves its HTML and CSV report behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_scan import make_tree

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "scan_shared_storage.ipynb"


@pytest.mark.slow
def test_scan_notebook_runs_under_papermill(
    ddas_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papermill

    tree = make_tree(tmp_path / "shared")
    # the kernel is a subprocess: it must import this checkout of ddas and see the test registry
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    out = tmp_path / "out.ipynb"

    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        kernel_name="python3",
        cwd=str(tmp_path),
        progress_bar=False,
        parameters={
            "roots": f'["{tree}"]',
            "min_size": "1",
            "excludes": "[]",
            "report_path": str(tmp_path / "report" / "scan.html"),
        },
    )

    page = (tmp_path / "report" / "scan.html").read_text()
    assert "Duplicate datasets under" in page and "part0.tar.gz" in page
    assert "data:image/png;base64" in page  # the wasted-bytes charts are embedded
    files = (tmp_path / "report" / "scan.files.csv").read_text().splitlines()
    regular = [
        p for p in tree.rglob("*") if p.is_file() and not p.is_symlink() and p.stat().st_size
    ]
    assert len(files) == 1 + len(regular) == 18  # header + every non-empty regular file
    from ddas.registry import Registry

    groups = Registry(ddas_env["DDAS_REGISTRY"]).duplicates().items
    assert len(groups) == 4
    assert "Traceback" not in out.read_text()


@pytest.mark.slow
def test_scan_notebook_scans_on_a_cluster_and_reports_the_store_lifecycle(
    ddas_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import papermill

    distributed = pytest.importorskip("distributed", reason="the dask extra")
    tree = make_tree(tmp_path / "shared")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    out = tmp_path / "out.ipynb"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        papermill.execute_notebook(
            str(NOTEBOOK),
            str(out),
            kernel_name="python3",
            cwd=str(tmp_path),
            progress_bar=False,
            parameters={
                "roots": f'["{tree}"]',
                "min_size": "1",
                "report_path": str(tmp_path / "report" / "scan.html"),
                "cluster": cluster.scheduler_address,
                "lifecycle": '["gc", "verify", "reclaim"]',
            },
        )

    import json

    import nbformat

    assert "Traceback" not in out.read_text()
    printed = [
        line
        for cell in nbformat.read(out, 4).cells
        for output in cell.get("outputs", [])
        if output.get("name") == "stdout"
        for line in output["text"].splitlines()
    ]
    reports = {
        name: json.loads(rest)
        for name, _, rest in (line.partition(" ") for line in printed)
        if name in ("gc", "verify", "reclaim")
    }
    assert set(reports) == {"gc", "verify", "reclaim"}
    assert reports["verify"]["checked"] > 0 and reports["verify"]["corrupt"] == 0
    assert reports["reclaim"]["linked"] > 0 and reports["reclaim"]["applied"] is False
    assert "hashed_files" in out.read_text()  # the per-worker table of the cluster scan
    from ddas.registry import Registry

    assert len(Registry(ddas_env["DDAS_REGISTRY"]).duplicates().items) == 4
    assert (tree / "raw/era5.nc").stat().st_ino != (tree / "alice/era5/era5.nc").stat().st_ino
