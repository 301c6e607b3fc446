"""``ddas scan`` against jdupes and rmlint on one generated tree, in the same run.

    python benchmarks/scan.py                 # ~3 GiB, 20,000 files, ~25 % duplicate bytes
    python benchmarks/scan.py --size 800M     # smaller tree, same shape (files scale with size)

Every tool runs as a subprocess through its command line (``ddas scan`` through the ``ddas``
entry point, start-up and registration included), so the figures are what a cron job sees.
The page cache cannot be dropped without root on the host, so every tool is run once as a
warm-up first and *all are measured warm*: this compares CPU and syscall work, not disk speed.
The runs are interleaved (jdupes, rmlint, ddas, ddas rescan, jdupes, ...) so that a noisy
neighbour slows every tool alike; the table shows medians. ``ddas scan`` uses a fresh registry
for every full scan; the rescan rescans that registry's unchanged tree. ``find`` (one ``lstat``
per file, nothing else) is shown as the floor any stat-based rescan must pay.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from scan_tree import make_tree  # noqa: E402 - the benchmark's sibling module

GiB = 1 << 30


def parse_size(text: str) -> int:
    sys.path.insert(0, str(REPO))
    from ddas.scanning.cli import parse_size as parse

    return parse(text)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmd: list[str], env: dict[str, str], stdout: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run (CPU of the child, from getrusage)."""
    cpu0, t0 = children_cpu(), time.perf_counter()
    with open(stdout or os.devnull, "wb") as out:
        subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0, children_cpu() - cpu0


def count_groups(fdupes_output: Path) -> int:
    text = fdupes_output.read_text(errors="replace").strip()
    return len([b for b in text.split("\n\n") if b.strip()]) if text else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="3GiB", help="tree size (default 3GiB)")
    parser.add_argument("--files", type=int, default=None, help="default: 20,000 per 3 GiB")
    parser.add_argument("--runs", type=int, default=5, help="measured runs per tool")
    parser.add_argument("--dir", default=None, help="where the tree lives (reused if present)")
    parser.add_argument("--registry", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--json-out", default=None, help="also write the results as JSON")
    args = parser.parse_args()

    size = parse_size(args.size)
    n_files = args.files or max(100, round(20_000 * size / (3 * GiB)))
    for tool in ("jdupes", "rmlint", "find"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: `make chromium` (or apt-get install jdupes rmlint)")
    base = Path(args.dir or Path(tempfile.gettempdir()) / f"ddas-bench-{size}-{n_files}")
    tree = base / "tree"
    stamp = base / "tree.json"
    if not stamp.exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        t0 = time.perf_counter()
        stats = make_tree(tree, total_bytes=size, n_files=n_files)
        stamp.write_text(json.dumps(stats.__dict__))
        print(f"generated {tree} in {time.perf_counter() - t0:.1f} s")
    stats = json.loads(stamp.read_text())
    print(
        f"tree: {stats['files']} files, {stats['bytes'] / GiB:.2f} GiB, "
        f"{stats['duplicate_bytes'] / stats['bytes']:.0%} duplicate bytes, "
        f"{stats['hardlinks']} hard links, {stats['symlinks']} symlinks, "
        f"{stats['near_misses']} near misses; {os.cpu_count()} CPUs"
    )

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    work = base / "work"
    work.mkdir(exist_ok=True)
    pg = None
    if args.registry == "postgresql":
        import sqlalchemy as sa

        pg = sa.create_engine(args.pg_url, isolation_level="AUTOCOMMIT")

    def registry_url(tag: str) -> str:
        if pg is None:
            db = work / f"registry-{tag}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            return f"sqlite:///{db}"
        import sqlalchemy as sa

        schema = f"bench_{tag}_{os.getpid()}"
        with pg.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        return f"{args.pg_url}?options=-csearch_path%3D{schema}"

    jd_out, rm_out, dd_out = work / "jdupes.txt", work / "rmlint.txt", work / "ddas.json"
    commands = {
        "jdupes -r": (["jdupes", "-r", "-q", str(tree)], jd_out),
        "rmlint -T df": (["rmlint", "-T", "df", "-o", f"fdupes:{rm_out}", str(tree)], None),
        "find (lstat floor)": (["find", str(tree), "-type", "f", "-printf", "%s %i %T@\n"], None),
    }

    # the `ddas` entry point (ddas.cli:main), run with this interpreter and this checkout
    entry = ["-c", "from ddas.cli import main; main()"]
    if not (REPO / "ddas" / "cli.py").exists():  # pragma: no cover - before the main CLI existed
        entry = ["-m", "ddas.scanning.cli"]

    def ddas_cmd(url: str) -> list[str]:
        return [
            sys.executable,
            *entry,
            "scan",
            str(tree),
            "--min-size",
            "1",
            "--json",
            "--no-progress",
            "--registry",
            url,
        ]

    times: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
    times["ddas scan"], times["ddas rescan (unchanged)"] = [], []
    print("warm-up: one run of every tool (all measurements are warm page cache)")
    for cmd, out in commands.values():
        timed(cmd, env, out)
    warm = registry_url("warm")
    timed(ddas_cmd(warm), env, dd_out)
    timed(ddas_cmd(warm), env)
    for run in range(args.runs):
        for name, (cmd, out) in commands.items():
            times[name].append(timed(cmd, env, out))
        url = registry_url(f"run{run}")
        times["ddas scan"].append(timed(ddas_cmd(url), env, dd_out))
        times["ddas rescan (unchanged)"].append(timed(ddas_cmd(url), env, dd_out))
        rescan = json.loads(dd_out.read_text())
        assert rescan["hashed_bytes"] == 0, "an unchanged rescan must read nothing"
        print(
            f"run {run + 1}/{args.runs}: "
            + ", ".join(f"{k} {v[-1][0]:.2f}s" for k, v in times.items())
        )

    summary = json.loads(dd_out.read_text())
    groups = {
        "jdupes": count_groups(jd_out),
        "rmlint": count_groups(rm_out),
        "ddas": summary["duplicate_groups"],
    }
    ref = statistics.median(t for t, _ in times["jdupes -r"])
    rows = []
    for name, samples in times.items():
        wall = statistics.median(t for t, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        rows.append(
            {
                "tool": name,
                "median_s": wall,
                "min_s": min(t for t, _ in samples),
                "cpu_s": cpu,
                "vs_jdupes": wall / ref,
            }
        )
    print(f"\nduplicate groups found: {groups}")
    print(
        "\n| tool | median wall (s) | min (s) | median CPU (s) | wall / jdupes |\n"
        "|---|---:|---:|---:|---:|"
    )
    for r in rows:
        print(
            f"| {r['tool']} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['cpu_s']:.2f} "
            f"| {r['vs_jdupes']:.2f}x |"
        )
    speedup = ref / statistics.median(t for t, _ in times["ddas rescan (unchanged)"])
    print(f"\nrescan of the unchanged tree: {speedup:.1f}x faster than jdupes' full scan")
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps({"tree": stats, "groups": groups, "rows": rows, "runs": args.runs}, indent=2)
        )


if __name__ == "__main__":
    main()
