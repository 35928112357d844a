"""Plotly figures as PNG images for the PDF report, through kaleido and a headless Chromium.

kaleido drives a Chromium it finds on the machine (Debian's ``/usr/bin/chromium`` here;
``BROWSER_PATH`` points it elsewhere); it never downloads one. All figures of a report are
drawn by one browser, started once (starting it is most of the time: about 8 s on a
loaded 2-core machine, then well under a second per figure).

Where no browser can be started, or kaleido is not installed, nothing raises: the result
has no images and says why, and the PDF prints that sentence instead of its charts.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)
RENDER_TIMEOUT_S = 180  # a whole report's figures, browser start included
WIDTH_PX, SCALE = 900, 2


@dataclass(frozen=True)
class RenderedFigures:
    """PNG bytes per figure name, or why there are none (``unavailable``)."""

    images: dict[str, bytes] = field(default_factory=dict)
    unavailable: str | None = None


def render_figures(figures: dict, *, width: int = WIDTH_PX, timeout_s: float = RENDER_TIMEOUT_S) -> RenderedFigures:
    """Render ``figures`` (name -> plotly Figure) to PNG, each at its layout height and ``width`` px.

    Returns:
        :class:`RenderedFigures`: every image, or none and the reason (no kaleido, no browser, a
        browser that failed or took longer than ``timeout_s``).
    """
    if not figures:
        return RenderedFigures()
    try:
        import kaleido  # noqa: F401 (checked here so that a missing package is a sentence, not an error)
    except ImportError:
        return RenderedFigures(unavailable="Charts are unavailable: the chart renderer (kaleido) is not installed.")
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="kaleido") as pool:
        # a thread of its own, so that an event loop already running in the caller does not matter
        future = pool.submit(asyncio.run, _render(figures, width))
        try:
            return RenderedFigures(images=future.result(timeout=timeout_s))
        except concurrent.futures.TimeoutError:
            log.warning("rendering %d figures took longer than %ss", len(figures), timeout_s)
            return RenderedFigures(unavailable="Charts are unavailable: drawing them took longer than "
                                               f"{timeout_s:g} s.")
        except Exception as exc:  # noqa: BLE001 (any browser failure: the report is still written, without charts)
            log.warning("figures could not be rendered", exc_info=True)
            return RenderedFigures(unavailable="Charts are unavailable: no browser could draw them on this machine "
                                               f"({_reason(exc)}). Install Chromium to include them.")


async def _render(figures: dict, width: int) -> dict[str, bytes]:
    import kaleido

    out = {}
    async with kaleido.Kaleido(n=1, timeout=90, mathjax=False) as renderer:
        for name, fig in figures.items():
            height = int(fig.layout.height or 400)
            out[name] = await renderer.calc_fig(fig, opts={"format": "png", "width": width, "height": height,
                                                           "scale": SCALE})
    return out


def _reason(exc: BaseException) -> str:
    """The first sentence of a renderer's error (``no Chromium was found`` when it found none)."""
    if "ChromeNotFound" in type(exc).__name__:
        return "no Chromium was found"
    text = " ".join(str(exc).split())
    return (text.split(". ")[0][:160] or type(exc).__name__).rstrip(".")
