"""The click-to-assess page (Gradio): upload or pick an image, click the ROI, read the answers.

The handlers are thin: the steps live in `session` (prompts -> mask) and `assessor` (model ->
answers). Every handler turns a DemoError (or any other failure) into a sentence in the page's
message box, never a stack trace; the traceback of an unexpected failure goes to the server log.
Besides the page, one API endpoint, `/assess_point` (image, x, y -> the three answers as JSON),
serves scripts and the Gradio-client test.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Nothing of the demo library may phone home: set before gradio is imported (it reads them then).
OFFLINE_ENV = {"GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "1"}
os.environ.update(OFFLINE_ENV)

import gradio as gr  # noqa: E402 - after the environment above

from seagull.demo import session as sess  # noqa: E402
from seagull.demo.assessor import ModelSlot, assess_roi  # noqa: E402
from seagull.demo.session import DemoError, SharedSegmenter  # noqa: E402

log = logging.getLogger(__name__)

# Dragging on the image draws a box. Gradio's image reports clicks only, so this page script measures
# the drag in image pixels the way Gradio maps a click (object-fit: scale-down, centred), writes
# "x0,y0,x1,y1,n" into the hidden #drag-box textbox (n makes each drag a new value), presses the
# hidden #drag-go button that sends it, and swallows the click that ends the drag, so it does not
# also add a point.
DRAG_JS = """
() => {
  const MIN_DRAG = 6;  // CSS px: a shorter move is a click
  let start = null, dragged = false, count = 0;
  const toPixel = (img, clientX, clientY) => {
    const r = img.getBoundingClientRect();
    const k = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight, 1);
    const left = r.left + (r.width - img.naturalWidth * k) / 2, top = r.top + (r.height - img.naturalHeight * k) / 2;
    return [Math.round((clientX - left) / k), Math.round((clientY - top) / k)];
  };
  document.addEventListener("dragstart", (e) => { if (e.target.closest("#canvas")) e.preventDefault(); }, true);
  document.addEventListener("pointerdown", (e) => {
    const img = e.target.closest("#canvas") && document.querySelector("#canvas img");
    start = img ? { img, x: e.clientX, y: e.clientY } : null;
    dragged = false;
  }, true);
  document.addEventListener("pointerup", (e) => {
    if (!start) return;
    const s = start; start = null;
    if (Math.hypot(e.clientX - s.x, e.clientY - s.y) < MIN_DRAG) return;
    dragged = true;
    const box = document.querySelector("#drag-box textarea");
    box.value = [...toPixel(s.img, s.x, s.y), ...toPixel(s.img, e.clientX, e.clientY), ++count].join(",");
    box.dispatchEvent(new Event("input", { bubbles: true }));
    setTimeout(() => document.querySelector("#drag-go").click(), 50);
  }, true);
  document.addEventListener("click", (e) => {
    if (dragged && e.target.closest("#canvas")) { e.stopPropagation(); e.preventDefault(); }
    dragged = false;
  }, true);
}
"""

# System fonts: the default theme would make the browser fetch Google Fonts.
SYSTEM_FONTS = (["ui-sans-serif", "system-ui", "sans-serif"], ["ui-monospace", "monospace"])


@dataclass(frozen=True)
class DemoConfig:
    """What `seagull demo` hands the page."""

    examples: tuple[Path, ...] = ()  # example images offered under the upload box
    max_side: int = sess.MAX_SIDE  # larger uploads get a message instead of an answer


def build_app(slot: ModelSlot, segmenter: SharedSegmenter, config: DemoConfig = DemoConfig()):
    """The Gradio Blocks of the demo (not launched)."""
    handlers = _Handlers(slot, segmenter, config)
    with gr.Blocks(title="SEAGULL click-to-assess", analytics_enabled=False) as app:
        gr.Markdown(
            "# SEAGULL: click to assess a region\n"
            "Upload an image (or pick an example), then click on it: the segmenter turns the click into "
            "a region (ROI) and the model assesses its quality, its importance and its distortions."
        )
        gr.Markdown(f"**Segmenter:** {segmenter.name}", elem_id="segmenter")
        model_status = gr.Markdown(slot.status(), elem_id="model-status")
        state = gr.State(None)
        with gr.Row():
            with gr.Column(scale=1):
                upload = gr.Image(label="1. Image", sources=["upload"], type="numpy", elem_id="upload")
                if config.examples:
                    gr.Examples([[str(p)] for p in config.examples], inputs=upload, label="Examples")
                mode = gr.Radio(list(sess.MODES), value=sess.POSITIVE, label="A click adds", elem_id="mode")
                clear = gr.Button("Clear the clicks")
                mask_upload = gr.Image(
                    label="…or upload a mask (white = ROI, same size as the image)",
                    sources=["upload"],
                    type="numpy",
                    image_mode="L",
                    elem_id="mask-upload",
                )
            with gr.Column(scale=2):
                canvas = gr.Image(
                    label="2. Click on the image (the ROI is tinted)",
                    interactive=False,
                    type="numpy",
                    format="png",
                    elem_id="canvas",
                )
                drag = gr.Textbox(visible="hidden", elem_id="drag-box")
                drag_go = gr.Button(visible="hidden", elem_id="drag-go")
                message = gr.Markdown("", elem_id="message")
                answers = gr.Markdown("", elem_id="answers")
                with gr.Row():
                    quality = gr.Label(label="Quality", num_top_classes=5, elem_id="quality")
                    importance = gr.Label(label="Importance", num_top_classes=5, elem_id="importance")
                with gr.Row():
                    severity = gr.Label(label="Distortion severity", num_top_classes=5, elem_id="severity")
                    dist_type = gr.Label(label="Distortion type", num_top_classes=6, elem_id="dist-type")
        outputs = [state, canvas, message, answers, quality, importance, severity, dist_type]
        upload.change(handlers.on_image, [upload], outputs)
        canvas.select(handlers.on_click, [state, mode], outputs)
        drag_go.click(handlers.on_drag, [state, drag], outputs)
        mask_upload.upload(handlers.on_mask, [state, mask_upload], outputs)
        clear.click(handlers.on_clear, [state], outputs)
        _api_endpoint(handlers)
        timer = gr.Timer(1.0)
        timer.tick(handlers.on_tick, None, [model_status, timer])
    return app


def launch(app, host: str, port: int | None, allowed: list[str], block: bool = True):
    """Serve `app` on host:port with sharing, SSR and the MCP server off."""
    theme = gr.themes.Default(font=SYSTEM_FONTS[0], font_mono=SYSTEM_FONTS[1])
    return app.launch(
        server_name=host,
        server_port=port,
        share=False,
        ssr_mode=False,
        mcp_server=False,
        allowed_paths=allowed,
        prevent_thread_lock=not block,
        show_error=False,
        quiet=not block,
        theme=theme,
        js=DRAG_JS,
    )


def _api_endpoint(handlers: _Handlers) -> None:
    """`/assess_point`: (image file, x, y) -> JSON answers, for scripts and tests."""
    with gr.Row(visible=False):
        image = gr.Image(type="numpy")
        x, y = gr.Number(precision=0), gr.Number(precision=0)
        result = gr.JSON()
        run = gr.Button()
    run.click(handlers.assess_point, [image, x, y], result, api_name="assess_point")


Outputs = tuple[Any, ...]


def _page_errors(handler: Callable[..., Outputs]) -> Callable[..., Outputs]:
    """Turn a failure of `handler` into (unchanged state and views, the message) for the page."""

    @functools.wraps(handler)
    def wrapped(self: _Handlers, *args: Any, **kwargs: Any) -> Outputs:
        try:
            return handler(self, *args, **kwargs)
        except DemoError as error:
            return self.message_only(str(error))
        except Exception as error:  # noqa: BLE001 - the page gets a sentence, the log the traceback
            log.exception("demo handler %s failed", handler.__name__)
            return self.message_only(f"Something went wrong ({type(error).__name__}: {error}).")

    return wrapped


class _Handlers:
    """The page's event handlers; each returns the 8 outputs of `build_app` (state, canvas, …)."""

    def __init__(self, slot: ModelSlot, segmenter: SharedSegmenter, config: DemoConfig) -> None:
        self.slot, self.segmenter, self.config = slot, segmenter, config

    def message_only(self, text: str) -> Outputs:
        keep = gr.skip()
        return (keep, keep, f"⚠️ {text}", keep, keep, keep, keep, keep)

    @_page_errors
    def on_image(self, pixels: np.ndarray | None) -> Outputs:
        if pixels is None:
            return (None, None, "", "", None, None, None, None)
        session = sess.start(pixels, self.config.max_side)
        return self._show(session, "Click on the region you want assessed.", answers=None)

    @_page_errors
    def on_click(self, session: sess.Session | None, mode: str, evt: gr.SelectData) -> Outputs:
        x, y = evt.index if isinstance(evt.index, list | tuple) and len(evt.index) == 2 else (None, None)
        if x is None or y is None:
            raise DemoError("The click did not land on the image: click on the picture itself.")
        session = sess.click(session, float(x), float(y), mode, self.segmenter)
        if session.corner is not None:
            return self._show(session, "Now click the opposite corner of the box.", answers=None)
        return self._assess(session)

    @_page_errors
    def on_drag(self, session: sess.Session | None, text: str) -> Outputs:
        x0, y0, x1, y1 = (float(v) for v in text.split(",")[:4])
        return self._assess(sess.drag(session, (x0, y0), (x1, y1), self.segmenter))

    @_page_errors
    def on_mask(self, session: sess.Session | None, mask: np.ndarray | None) -> Outputs:
        return self._assess(sess.use_mask(session, mask))

    @_page_errors
    def on_clear(self, session: sess.Session | None) -> Outputs:
        return self._show(sess.clear(session), "Clicks cleared: click on the image.", answers=None)

    def on_tick(self):
        loading = not self.slot.wait(0)
        return self.slot.status(), gr.Timer(active=loading)

    def assess_point(self, pixels: np.ndarray | None, x: float | None, y: float | None) -> dict[str, Any]:
        """The API endpoint: DemoError -> gr.Error, so a client gets the sentence, not a traceback."""
        try:
            if x is None or y is None:
                raise DemoError("Give the click as x and y pixel coordinates.")
            session = sess.click(
                sess.start(pixels, self.config.max_side), x, y, sess.POSITIVE, self.segmenter
            )
            loaded = self.slot.get()
            result = assess_roi(loaded, session.pixels, sess.require_mask(session))
        except DemoError as error:
            raise gr.Error(str(error)) from None
        return {
            **result,
            "roi_area": int(session.mask.sum()),
            "segmenter": self.segmenter.name,
            "model": loaded.description,
            "meaningful": loaded.meaningful,
        }

    def _assess(self, session: sess.Session) -> Outputs:
        mask = sess.require_mask(session)
        try:
            loaded = self.slot.get()
        except DemoError as error:  # show the mask anyway: the click worked, the model is not there yet
            return self._show(session, f"⚠️ {error}", answers=None)
        result = assess_roi(loaded, session.pixels, mask)
        note = "" if loaded.meaningful else "⚠️ Tiny model: these answers are not meaningful."
        return self._show(session, note, answers=result)

    def _show(self, session: sess.Session | None, text: str, answers: dict[str, Any] | None) -> Outputs:
        if answers is None:
            return (session, sess.overlay(session), text, "", None, None, None, None)
        distortion = answers["distortion"]
        return (
            session,
            sess.overlay(session),
            text,
            describe(answers, session),
            answers["quality"]["probabilities"],
            answers["importance"]["probabilities"],
            distortion["severity_probabilities"] or None,
            distortion["type_probabilities"] or None,
        )


def describe(answers: dict[str, Any], session: sess.Session) -> str:
    """The answers as Markdown lines (word and score of each task, the distortions present)."""
    lines = [
        f"**{task.capitalize()}:** {answers[task]['word']} (score {answers[task]['score']:.2f} of 1–5)"
        for task in ("quality", "importance")
    ]
    present = answers["distortion"]["present"]
    said = answers["distortion"]["answer"]
    clean = "none" if "without" in said.lower() else "none named (the answer names no distortion type)"
    named = ", ".join(f"{d['severity'] or 'unrated'} {d['type']}" for d in present) or clean
    lines.append(f"**Distortions:** {named} (answer: “{answers['distortion']['answer']}”)")
    lines.append(f"ROI: {int(session.mask.sum())} px from {_prompts(session)}.")
    return "\n\n".join(lines)


def _prompts(session: sess.Session) -> str:
    if session.source != "clicks":
        return session.source
    counts = (
        (len(session.positive), "positive point"),
        (len(session.negative), "negative point"),
        (len(session.boxes), "box"),
    )
    return ", ".join(
        f"{n} {what}{'es' if what == 'box' and n > 1 else 's' if n > 1 else ''}" for n, what in counts if n
    )
