"""The demo notebooks run top to bottom, as a newcomer runs them, and show what their text promises.

Each runs in a real kernel (nbclient), against the demo data server and a registry of its own; the
assertions read the cells' outputs (alert cards, printed byte counts, tables) by the cell's tag, so a
change in the library that breaks a notebook's story fails here instead of in front of a newcomer.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ddas.demo import air_temperature_csv, ocean_buoys_csv

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
DEMOS = ["01_quickstart.ipynb", "02_mirrors_and_versions.ipynb", "03_pooch_and_xarray.ipynb"]


def run_notebook(name: str, cwd: Path) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>`` in a fresh python3 kernel; prints how long it took."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    started = time.monotonic()
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()
    print(f"{name}: {time.monotonic() - started:.1f} s")
    return nb


def cell(nb: nbformat.NotebookNode, tag: str) -> nbformat.NotebookNode:
    found = [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]
    assert len(found) == 1, f"one cell tagged {tag!r} expected"
    return found[0]


def stdout(c: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def html(c: nbformat.NotebookNode) -> str:
    return "".join(o.data.get("text/html", "") for o in c.outputs if "data" in o)


def alerts(c: nbformat.NotebookNode) -> list[str]:
    """The kinds of the DDAS alert cards a cell displayed, in order."""
    return re.findall(r"class='ddas-alert ddas-alert-(\w+)'", html(c))


def bytes_downloaded(c: nbformat.NotebookNode) -> int:
    match = re.search(r"bytes downloaded: ([\d,]+)", stdout(c))
    assert match, f"no byte count in {stdout(c)!r}"
    return int(match.group(1).replace(",", ""))


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A kernel that imports this checkout, keeps its temp files in tmp_path, and has no demo
    around it: no DDAS_DEMO_DIR, and DDAS_REGISTRY pointing at a registry it must not touch."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setenv("DDAS_REGISTRY", str(tmp_path / "real-registry.db"))
    monkeypatch.setenv("DDAS_STORE", str(tmp_path / "real-store"))
    monkeypatch.setenv("DDAS_USER", "newcomer")
    for name in ("DDAS_DEMO_DIR", "DDAS_POLICY", "JUPYTERHUB_USER"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_committed_notebooks_carry_no_outputs() -> None:
    """Outputs are stripped before committing: diffs stay readable and no local path leaks."""
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert set(DEMOS) <= set(names)
    for name in names:
        nb = json.loads((NOTEBOOKS / name).read_text())
        for c in nb["cells"]:
            if c["cell_type"] == "code":
                assert c["outputs"] == [] and c["execution_count"] is None, name


@pytest.mark.slow
def test_quickstart_shows_a_miss_then_a_hit_and_leaves_a_real_registry_alone(
    kernel_env: Path,
) -> None:
    nb = run_notebook("01_quickstart.ipynb", kernel_env)

    assert "(temporary)" in "".join(o.data["text/plain"] for o in cell(nb, "setup").outputs)
    miss = cell(nb, "miss")
    assert alerts(miss) == [] and bytes_downloaded(miss) == len(ocean_buoys_csv())
    hit = cell(nb, "hit")
    assert alerts(hit) == ["reuse"] and bytes_downloaded(hit) == 0
    assert "alice already has it" in html(hit) and "BLAKE3" in html(hit)
    fsspec = cell(nb, "fsspec")
    assert alerts(fsspec) == ["reuse"] and "OSLO" in html(fsspec)
    assert "stations-copy.csv" in html(cell(nb, "lookup"))
    assert "[alice, bob]" in html(cell(nb, "duplicates"))
    assert "newcomer" in html(cell(nb, "stats"))
    assert stdout(cell(nb, "policy")).startswith("refused:")
    # outside a demo, the notebook must not have written alice and bob into the real registry
    assert not (kernel_env / "real-registry.db").exists()
    assert not (kernel_env / "real-store").exists()


@pytest.mark.slow
def test_quickstart_in_a_demo_folder_writes_the_demo_registry(
    kernel_env: Path, ddas_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under `make lab` (DDAS_DEMO_DIR set) the notebook uses the demo registry the sidebar reads;
    on SQLite and PostgreSQL."""
    monkeypatch.setenv("DDAS_DEMO_DIR", str(kernel_env / "demo"))
    monkeypatch.setenv("DDAS_USER", "newcomer")

    nb = run_notebook("01_quickstart.ipynb", kernel_env)

    assert alerts(cell(nb, "hit")) == ["reuse"]
    from ddas.registry import Registry

    registry = Registry(ddas_env["DDAS_REGISTRY"])
    users = {row["user"]: row for row in registry.stats().to_dict()["by_user"]}
    assert users["alice"]["downloads"] == 2 and users["bob"]["reuses"] == 1
    assert users["newcomer"]["downloads"] == 1  # ocean_buoys.csv
    assert users["newcomer"]["reuses"] == 2  # the hit and ddas::; policy="error" reused nothing
    assert [g.name for g in registry.duplicates().items] == ["stations.csv"]


@pytest.mark.slow
def test_mirrors_and_versions_notebook(kernel_env: Path) -> None:
    nb = run_notebook("02_mirrors_and_versions.ipynb", kernel_env)

    assert alerts(cell(nb, "first")) == []
    mirror = cell(nb, "mirror")
    assert alerts(mirror) == ["mirror"] and "same stored file: True" in stdout(mirror)
    for tag in ("mirror-hit", "known-hash"):  # learned mirror, and a new URL found by checksum
        assert alerts(cell(nb, tag)) == ["reuse"] and bytes_downloaded(cell(nb, tag)) == 0
    version = cell(nb, "new-version")
    assert alerts(version) == ["new_version"] and "a different file: True" in stdout(version)
    assert "2022" in html(version)
    assert html(cell(nb, "versions")).count("<tr>") == 2  # one body row per version


@pytest.mark.slow
def test_pooch_notebook_switches_pooch_to_ddas_in_one_argument(kernel_env: Path) -> None:
    nb = run_notebook("03_pooch_and_xarray.ipynb", kernel_env)

    assert bytes_downloaded(cell(nb, "plain")) == len(air_temperature_csv())
    with_ddas = cell(nb, "ddas")
    assert alerts(with_ddas) == ["reuse"] and bytes_downloaded(with_ddas) == 0
    assert "(a hard link): True" in stdout(with_ddas)
    assert alerts(cell(nb, "pooch-create")) == ["reuse", "reuse"]
    assert "time: 366, lat: 6, lon: 8" in "".join(
        o.data["text/plain"] for o in cell(nb, "xarray").outputs
    )
    july = html(cell(nb, "xarray-mean"))
    assert "<th>65</th>" in july and "296.4" in july  # 40°N 10°W in July: 288 K + summer
