"""``policy="ask"``: let the person at the notebook choose, with two buttons, before anything moves.

A running cell cannot simply wait for a widget click: the kernel handles the click's comm message only
after the cell finishes. ``jupyter_ui_poll`` solves exactly this — it processes pending UI events
while the cell is blocked — so ``fetch`` really pauses until *Use existing copy* or *Download anyway*
is clicked. Without a live front end (papermill, scripts) ``ask`` never gets here: it means ``reuse``.
"""

from __future__ import annotations

import time

from ddas.alerts import Alert
from ddas.identity import NormalizedURL
from ddas.records import CopyInfo

ASK_TIMEOUT = 600.0  # seconds; then the safe choice (reuse) is taken


def ask_user(nurl: NormalizedURL, copy: CopyInfo, *, timeout: float = ASK_TIMEOUT) -> str:
    """Show the alert card with two buttons; return ``"reuse"`` or ``"download"``."""
    import ipywidgets as widgets
    from IPython.display import display
    from jupyter_ui_poll import ui_events

    alert = Alert("ask", nurl.name, nurl.url, "use the existing copy, or download anyway?",
                  [copy], copy.size)  # fmt: skip
    card = widgets.HTML(alert._repr_html_())
    use = widgets.Button(description="Use existing copy", button_style="success", icon="check")
    again = widgets.Button(description="Download anyway", button_style="warning", icon="download")
    use.add_class("ddas-ask-reuse")
    again.add_class("ddas-ask-download")
    status = widgets.Label("")
    choice: list[str] = []

    def choose(value: str, text: str) -> None:
        choice.append(value)
        use.disabled = again.disabled = True
        status.value = text

    use.on_click(lambda _: choose("reuse", "Using the existing copy."))
    again.on_click(lambda _: choose("download", "Downloading anyway…"))
    display(widgets.VBox([card, widgets.HBox([use, again]), status]))
    deadline = time.monotonic() + timeout
    with ui_events() as poll:
        while not choice and time.monotonic() < deadline:
            poll(10)
            time.sleep(0.05)
    if not choice:
        choose("reuse", "No answer: using the existing copy.")
    return choice[0]
