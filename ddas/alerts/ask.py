"""``policy="ask"``: let the person at the notebook choose, with two buttons.

A running cell cannot simply wait for a widget click: the kernel handles the click's comm message only
after the cell finishes. Two designs, chosen by what the kernel can do:

* **Blocking** (ipykernel < 7, where ``jupyter_ui_poll`` can pump pending UI events while the cell
  waits): ``fetch`` really pauses until *Use existing copy* or *Download anyway* is clicked.
* **Non-blocking** (ipykernel 7+, whose message loop ``jupyter_ui_poll`` cannot drive): ``fetch``
  returns the existing copy at once — the safe choice, nothing moves — and the buttons stay live;
  *Download anyway* then downloads in a background thread, reporting into the card.

Without a live front end (papermill, scripts) ``ask`` never gets here: it means ``reuse``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from ddas.alerts import Alert
from ddas.identity import NormalizedURL
from ddas.records import CopyInfo

ASK_TIMEOUT = 600.0  # seconds a blocking ask waits; then the safe choice (reuse) is taken


def can_block() -> bool:
    """True when the running kernel lets ``jupyter_ui_poll`` process clicks inside a cell."""
    try:
        import IPython
        import jupyter_ui_poll  # noqa: F401
    except ImportError:
        return False
    kernel = getattr(IPython.get_ipython(), "kernel", None)
    return kernel is not None and hasattr(kernel, "do_one_iteration")


class _Card:
    """The alert card with the two buttons and a status line."""

    def __init__(self, nurl: NormalizedURL, copy: CopyInfo, question: str) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        alert = Alert("ask", nurl.name, nurl.url, question, [copy], copy.size)
        self.use = widgets.Button(
            description="Use existing copy",
            button_style="success",
            icon="check",
            layout=widgets.Layout(width="auto"),
        )
        self.again = widgets.Button(
            description="Download anyway",
            button_style="warning",
            icon="download",
            layout=widgets.Layout(width="auto"),
        )
        self.use.add_class("ddas-ask-reuse")
        self.again.add_class("ddas-ask-download")
        self.status = widgets.HTML("")
        self.status.add_class("ddas-ask-status")
        display(
            widgets.VBox(
                [
                    widgets.HTML(alert._repr_html_()),
                    widgets.HBox([self.use, self.again]),
                    self.status,
                ]
            )
        )

    def settle(self, text: str) -> None:
        import html

        self.use.disabled = self.again.disabled = True
        self.status.value = f"<span>{html.escape(text)}</span>"


def ask_user(nurl: NormalizedURL, copy: CopyInfo, *, timeout: float = ASK_TIMEOUT) -> str:
    """Blocking ask: show the card, wait for a click; return ``"reuse"`` or ``"download"``."""
    from jupyter_ui_poll import ui_events

    card = _Card(nurl, copy, f"{copy.owner} already has it: use that copy, or download your own?")
    choice: list[str] = []
    card.use.on_click(lambda _: (choice.append("reuse"), card.settle("Using the existing copy.")))
    card.again.on_click(lambda _: (choice.append("download"), card.settle("Downloading anyway…")))
    deadline = time.monotonic() + timeout
    with ui_events() as poll:
        while not choice and time.monotonic() < deadline:
            poll(10)
            time.sleep(0.05)
    if not choice:
        card.settle("No answer: using the existing copy.")
    return choice[0] if choice else "reuse"


def offer_download(nurl: NormalizedURL, copy: CopyInfo, download: Callable[[], Path]) -> None:
    """Non-blocking ask: the caller reuses ``copy`` now; *Download anyway* runs ``download``
    later in a background thread and reports the new path in the card."""
    card = _Card(
        nurl,
        copy,
        f"{copy.owner} already has it; you are using that copy now. Download your own anyway?",
    )

    def run() -> None:
        try:
            path = download()
        except Exception as exc:  # shown to the user in the card; the kernel stays usable
            card.settle(f"Download failed: {exc}")
            return
        card.settle(f"Downloaded anyway: {path}")

    def on_download(_: object) -> None:
        card.settle("Downloading anyway…")
        threading.Thread(target=run, name="ddas-ask-download", daemon=True).start()

    card.use.on_click(lambda _: card.settle(f"Keeping the existing copy: {copy.location}"))
    card.again.on_click(on_download)
