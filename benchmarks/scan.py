"""``ddas scan`` against jdupes and rmlint on one generated tree, in the same run.

    python benchmarks/scan.py                      # ~3 GiB, 20,000 files, ~25 % duplicate bytes
    python benchmarks/scan.py --size 800M          # smaller tree, same shape (files scale with size)
    python benchmarks/scan.py --small 100000       # 100,000 files of 1-16 KiB, 25 % copies
    python benchmarks/scan.py --small 1000000 --runs 1 --no-rmlint   # the million-file tree

Every tool runs as a subprocess through its command line (``ddas scan`` through the ``ddas``
entry point, start-up and registration included), so the figures are what a cron job sees. Each
``ddas scan`` gets a fresh registry whose schema was created beforehand (creating a database is
not part of a scan). Start-up is shown on its own row: ``ddas scan`` of an empty folder against
that registry (interpreter, imports, connecting, the scan event). The page cache cannot be dropped
without root on the host, so every tool is run once as a warm-up first and *all are measured warm*:
this compares CPU and syscall work, not disk speed. The runs are interleaved (jdupes, rmlint,
ddas, ddas rescan, jdupes, ...) so that a noisy neighbour slows every tool alike; the table shows
medians, and each process's peak memory (``wait4``'s maxrss). ``find`` (one ``lstat`` per file,
nothing else) is the floor any stat-based rescan must pay; "registry writes alone"
(``scan_writes.py``: the full scan's rows registered again into a fresh registry, in-process) is
the floor under a full scan that registers every file. The CPU column of ``ddas scan`` leaves out
its hashing processes (grandchildren through the forkserver, which ``wait4`` does not count): its
wall is the figure to compare. Trees are generated, never committed.
"""

from __future__ import annotations

import argparse
import json
import os
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

from scan_tree import make_small_tree, make_tree  # noqa: E402 - the benchmark's sibling module

GiB = 1 << 30
WRITES = "registry writes alone (scan_writes.py)"


def parse_size(text: str) -> int:
    sys.path.insert(0, str(REPO))
    from ddas.scanning.cli import parse_size as parse

    return parse(text)


def timed(cmd: list[str], env: dict[str, str], stdout: Path | None = None) -> tuple[float, ...]:
    """Wall seconds, CPU seconds and peak RSS (MiB) of one run of ``cmd``."""
    t0 = time.perf_counter()
    with open(stdout or os.devnull, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    wall = time.perf_counter() - t0
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def count_groups(fdupes_output: Path) -> int:
    text = fdupes_output.read_text(errors="replace").strip()
    return len([b for b in text.split("\n\n") if b.strip()]) if text else 0


def build_tree(args: argparse.Namespace) -> tuple[Path, dict]:
    """Generate the tree once (kept under --dir for the next run) and say what is in it."""
    if args.small:
        base = Path(args.dir or Path(tempfile.gettempdir()) / f"ddas-bench-small-{args.small}")
    else:
        size = parse_size(args.size)
        n_files = args.files or max(100, round(20_000 * size / (3 * GiB)))
        base = Path(args.dir or Path(tempfile.gettempdir()) / f"ddas-bench-{size}-{n_files}")
    tree, stamp = base / "tree", base / "tree.json"
    if not stamp.exists():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir(parents=True)
        t0 = time.perf_counter()
        if args.small:
            stats = make_small_tree(tree, n_files=args.small)
        else:
            stats = make_tree(tree, total_bytes=size, n_files=n_files)
        stamp.write_text(json.dumps(stats.__dict__))
        print(f"generated {tree} in {time.perf_counter() - t0:.1f} s")
    stats = json.loads(stamp.read_text())
    print(
        f"tree: {stats['files']} files, {stats['bytes'] / GiB:.2f} GiB, "
        f"{stats['duplicate_bytes'] / stats['bytes']:.0%} duplicate bytes, "
        f"{stats['hardlinks']} hard links, {stats['symlinks']} symlinks, "
        f"{stats['near_misses']} near misses; {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return tree, stats


class Registries:
    """A fresh, migrated registry per full scan (SQLite file or PostgreSQL schema)."""

    def __init__(self, kind: str, pg_url: str, work: Path) -> None:
        self.kind, self.pg_url, self.work = kind, pg_url, work
        if kind == "postgresql":
            import sqlalchemy as sa

            self.pg = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")

    def fresh(self, tag: str) -> str:
        if self.kind == "sqlite":
            db = self.work / f"registry-{tag}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            url = f"sqlite:///{db}"
        else:
            import sqlalchemy as sa

            schema = f"bench_{tag}_{os.getpid()}"
            with self.pg.connect() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            url = f"{self.pg_url}?options=-csearch_path%3D{schema}"
        # migrate now (creating the schema is not part of a scan), in a child: this process stays
        # small, so that the children's peak RSS (inherited through fork) is their own
        code = "import sys; from ddas.registry import Registry; Registry(sys.argv[1])"
        subprocess.run([sys.executable, "-c", code, url], check=True, cwd=REPO)
        return url


def commands(tree: Path, work: Path, rmlint: bool) -> dict[str, tuple[list[str], Path | None]]:
    out = {"jdupes -r": (["jdupes", "-r", "-q", str(tree)], work / "jdupes.txt")}
    if rmlint:
        rm_out = work / "rmlint.txt"
        out["rmlint -T df"] = (["rmlint", "-T", "df", "-o", f"fdupes:{rm_out}", str(tree)], None)
    out["find (lstat floor)"] = (["find", str(tree), "-type", "f", "-printf", "%s %i %T@\n"], None)
    return out


def ddas_cmd(root: Path, url: str) -> list[str]:
    """The ``ddas`` entry point (ddas.cli:main), run with this interpreter and this checkout."""
    return [
        sys.executable,
        "-c",
        "from ddas.cli import main; main()",
        "scan",
        str(root),
        "--min-size",
        "1",
        "--json",
        "--no-progress",
        "--registry",
        url,
    ]


def measure(args: argparse.Namespace, tree: Path, work: Path) -> dict[str, list[tuple]]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    os.environ["PYTHONPATH"] = env["PYTHONPATH"]
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "ddas")], check=True)
    registries = Registries(args.registry, args.pg_url, work)
    peers = commands(tree, work, not args.no_rmlint)
    empty = work / "empty"
    empty.mkdir(exist_ok=True)
    dd_out = work / "ddas.json"
    times: dict[str, list[tuple]] = {k: [] for k in peers}
    for name in ("ddas scan", "ddas rescan (unchanged)", "ddas start-up (empty folder)", WRITES):
        times[name] = []
    if args.runs > 1:
        print("warm-up: one run of every tool (all measurements are warm page cache)")
        for cmd, out in peers.values():
            timed(cmd, env, out)
        timed(ddas_cmd(tree, registries.fresh("warm")), env, dd_out)
    for run in range(args.runs):
        for name, (cmd, out) in peers.items():
            times[name].append(timed(cmd, env, out))
        url = registries.fresh(f"run{run}")
        times["ddas start-up (empty folder)"].append(timed(ddas_cmd(empty, url), env))
        times["ddas scan"].append(timed(ddas_cmd(tree, url), env, dd_out))
        times["ddas rescan (unchanged)"].append(timed(ddas_cmd(tree, url), env, dd_out))
        rescan = json.loads(dd_out.read_text())
        assert rescan["hashed_bytes"] == 0, "an unchanged rescan must read nothing"
        times[WRITES].append(writes_alone(url, registries.fresh(f"writes{run}"), env))
        print(
            f"run {run + 1}/{args.runs}: "
            + ", ".join(f"{k} {v[-1][0]:.2f}s" for k, v in times.items())
        )
    return times


def writes_alone(scanned: str, fresh: str, env: dict[str, str]) -> tuple[float, float, int]:
    """The full scan's registrations replayed into a fresh registry, timed inside that process
    (its start-up and the read of the rows excluded): the floor under the scan's wall."""
    script = Path(__file__).with_name("scan_writes.py")
    out = subprocess.run(
        [sys.executable, str(script), scanned, fresh],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    return result["wall"], result["cpu"], 0


def table(times: dict[str, list[tuple]], groups: dict[str, int]) -> list[dict]:
    ref = statistics.median(t for t, *_ in times["jdupes -r"])
    rows = []
    for name, samples in times.items():
        wall = statistics.median(s[0] for s in samples)
        rows.append(
            {
                "tool": name,
                "median_s": wall,
                "min_s": min(s[0] for s in samples),
                "cpu_s": statistics.median(s[1] for s in samples),
                "peak_mib": max(s[2] for s in samples),
                "vs_jdupes": wall / ref,
            }
        )
    print(f"\nduplicate groups found: {groups}; load average now {os.getloadavg()[0]:.1f}")
    print(
        "\n| tool | median wall (s) | min (s) | median CPU (s) | peak RSS (MiB) | wall / jdupes |"
        "\n|---|---:|---:|---:|---:|---:|"
    )
    for r in rows:
        print(
            f"| {r['tool']} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['cpu_s']:.2f} "
            f"| {r['peak_mib']:.0f} | {r['vs_jdupes']:.2f}x |"
        )
    rescan = statistics.median(s[0] for s in times["ddas rescan (unchanged)"])
    speedup = ref / rescan
    floor = statistics.median(s[0] for s in times["find (lstat floor)"])
    print(
        f"\nrescan of the unchanged tree: {speedup:.1f}x faster than jdupes' full scan; "
        f"{rescan / floor:.2f}x the lstat floor (find)"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="3GiB", help="mixed tree size (default 3GiB)")
    parser.add_argument("--files", type=int, default=None, help="default: 20,000 per 3 GiB")
    parser.add_argument("--small", type=int, default=0, help="N files of 1-16 KiB instead")
    parser.add_argument("--runs", type=int, default=5, help="measured runs per tool")
    parser.add_argument("--no-rmlint", action="store_true", help="leave rmlint out (slow)")
    parser.add_argument("--dir", default=None, help="where the tree lives (reused if present)")
    parser.add_argument("--registry", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--json-out", default=None, help="also write the results as JSON")
    args = parser.parse_args()
    for tool in ("jdupes", "rmlint", "find"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed: `make chromium` (or apt-get install jdupes rmlint)")
    tree, stats = build_tree(args)
    work = tree.parent / "work"
    work.mkdir(exist_ok=True)
    times = measure(args, tree, work)
    summary = json.loads((work / "ddas.json").read_text())
    groups = {"jdupes": count_groups(work / "jdupes.txt"), "ddas": summary["duplicate_groups"]}
    if not args.no_rmlint:
        groups["rmlint"] = count_groups(work / "rmlint.txt")
    rows = table(times, groups)
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps({"tree": stats, "groups": groups, "rows": rows, "runs": args.runs}, indent=2)
        )


if __name__ == "__main__":
    main()
