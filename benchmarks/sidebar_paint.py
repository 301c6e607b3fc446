"""First paint of the sidebar's Duplicates and Savings tabs on a 1M-copy registry, in a real browser.

A user opens the tab and waits: the time from the click to the first duplicate group (Duplicates) or
the "bytes saved" figure (Savings) being on screen, in JupyterLab driven by Debian's headless
Chromium through Playwright. Each run opens a fresh page (the tab's first visit: its request and its
first React render). The peer is the tab's REST call alone (``GET duplicates?limit=50``,
``GET stats``) timed from Python against the same server: paint/peer is what the browser adds.
Target: first paint <= 1 s.

The registry is the one ``benchmarks/seeding.py`` builds (``--keep DIR``) (reused if it is there).

    python benchmarks/sidebar_paint.py --copies 1000000 --backends sqlite postgresql --keep /tmp/regscale-1m
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "jupyter_server_ext"), str(Path(__file__).parent)]

from seeding import arguments, kept_registry, load_average  # noqa: E402

from tests.fixtures.lab import CHROMIUM, CHROMIUM_ARGS, open_lab, show_sidebar, start_lab, stop_lab  # noqa: E402

TABS = {
    "duplicates": ('[data-testid="ddas-duplicate-group"]', "duplicates?limit=50"),
    "savings": ('[data-testid="ddas-bytes-saved"] .jp-ddas-card-value', "stats"),
}


def rest_ms(lab, route: str) -> float:
    request = urllib.request.Request(
        f"{lab.url}/ddas/api/{route}", headers={"Authorization": f"token {lab.token}"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def paint_ms(browser, lab, tab: str, ready: str) -> float:
    from playwright.sync_api import expect

    page = open_lab(browser, lab, f"lab/workspaces/paint-{tab}-{time.monotonic_ns()}")
    try:
        show_sidebar(page)
        started = time.perf_counter()
        page.get_by_test_id(f"ddas-tab-{tab}").click()
        expect(page.locator(ready).first).to_be_visible(timeout=60_000)
        return (time.perf_counter() - started) * 1000
    finally:
        page.close()


def run(backend: str, copies: int, runs: int, keep: Path | None) -> list[dict]:
    from playwright.sync_api import sync_playwright

    out = []
    with (
        kept_registry(backend, copies, keep) as registry,
        tempfile.TemporaryDirectory(prefix="ddas-paint-") as tmp,
    ):
        env = {"DDAS_REGISTRY": registry.url, "DDAS_STORE": f"{tmp}/store", "DDAS_USER": "alice"}
        lab = start_lab(Path(tmp), env)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for tab, (ready, route) in TABS.items():
                    paints = [paint_ms(browser, lab, tab, ready) for _ in range(runs)]
                    peers = [rest_ms(lab, route) for _ in range(runs)]
                    out.append(
                        {
                            "backend": backend,
                            "tab": tab,
                            "median": statistics.median(paints),
                            "max": max(paints),
                            "rest": statistics.median(peers),
                            "load": load_average(),
                        }
                    )
                    print(f"    {tab}: {out[-1]['median']:.0f} ms", file=sys.stderr, flush=True)
                browser.close()
        finally:
            stop_lab(lab)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = arguments(__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    results = []
    for backend in args.backends:
        print(f"... {backend}, {args.copies:,} copies", file=sys.stderr, flush=True)
        results += run(backend, args.copies, args.runs, args.keep)
    head = f"{'backend':<11}{'tab':<12}{'paint median':>14}{'paint max':>11}{'REST median':>13}"
    print(head + "  load average after")
    for r in results:
        print(
            f"{r['backend']:<11}{r['tab']:<12}{r['median']:>12.0f}ms{r['max']:>9.0f}ms"
            f"{r['rest']:>11.1f}ms  {r['load']}"
        )
    print(
        f"paint = click on the tab to its first content visible, fresh page each run ({args.runs}"
        " runs); REST = the tab's request alone from Python. Target: paint <= 1 s."
    )


if __name__ == "__main__":
    main()
