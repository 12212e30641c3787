"""The app's page: its components (a `Page` names them), their layout, and its static text, CSS and JS.

`layout` only makes the components, inside a Blocks being built; app.py wires their events to the
functions of `fsrcnn.events`, so nothing here runs when a visitor clicks.
"""
from dataclasses import dataclass

import gradio as gr

from . import batch, view
from . import demo as logic
from .checks import COMPARE, DEGRADATIONS, UPSCALE
from .jobs import ENSEMBLE, METHODS, PHOTO, TITLES
from .models import AUTO, CLEAN
from .models import PHOTO as PHOTO_VARIANT

MAX_UPLOAD = "50mb"  # refused by the server itself (HTTP 413) before any of our code runs
WARMING = ("**Warming up.** The app is still compiling its networks for this computer: a first request may take "
           "a little longer (it is served at once, and compiles only what it needs).")
CROPS = METHODS  # original, bicubic, fsrcnn, photo, ensemble
DETAIL_HEIGHT = 300  # of the overview and the slider: both fit a 1000-pixel window, and a phone's stacked
# System fonts only: nothing is downloaded, and every weight of a label comes from one family.
FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Noto Sans", "DejaVu Sans", "Liberation Sans",
         "Arial", "sans-serif"]
MONO = ["ui-monospace", "DejaVu Sans Mono", "Liberation Mono", "Menlo", "Consolas", "monospace"]
CSS = f"""
.crop img {{ width: {view.DETAIL}px !important; height: auto !important; max-width: none !important;
             object-fit: none !important; image-rendering: pixelated; }}
.crop-title {{ min-height: 3em; }}
.crop-title p {{ margin: 0 !important; font-weight: 600; }}
#slider img {{ image-rendering: pixelated; }}
#overview img {{ cursor: crosshair; }}
#report {{ max-height: 240px; overflow-y: auto; }}
"""
# A file that is not a picture would show in the upload box as a broken-image icon beside its
# message: hide such images (and show them again once a picture loads in their place).
HEAD = """<script>
for (const [event, visibility] of [["error", "hidden"], ["load", ""]]) {
  document.addEventListener(event, (e) => {
    if (e.target.tagName === "IMG" && e.target.closest("#photo")) e.target.style.visibility = visibility;
  }, true);
}
</script>"""
# Results in view: the detail view (overview, slider, download) is brought to the top of the window
# when a run starts and when its first answer arrives.
SCROLL = """() => { const d = document.getElementById("detail");
  if (d) requestAnimationFrame(() => d.scrollIntoView({block: "start", behavior: "instant"})); }"""
INTRO = """# FSRCNN super-resolution
Enlarge a photo 2, 3 or 4 times with a small neural network
([FSRCNN](https://arxiv.org/abs/1608.00367)) and see it next to plain bicubic enlargement.
**Upscale** enlarges your photo: the detail view shows one region of it, pixel for pixel, by
each method (click the whole photo to move it), and the full result comes as a download (PNG, WebP
or JPEG, at the scale or at a size you give). **Compare** shrinks a sharp photo first, rebuilds it,
and scores each method against the original (PSNR and SSIM). **Many photos** upscales several files
or a zip at once. Everything runs on this computer; nothing is sent anywhere."""


@dataclass
class Page:
    """The page's components, by name: event functions return {component: value}."""

    image: gr.Image
    mode: gr.Radio
    scale: gr.Radio
    model: gr.Radio
    ensemble: gr.Checkbox
    degradation: gr.Radio
    fmt: gr.Radio
    quality: gr.Number
    width: gr.Number
    height: gr.Number
    upscale_btn: gr.Button
    compare_btn: gr.Button
    report: gr.Markdown
    warming: gr.Markdown
    overview: gr.Image
    slider: gr.ImageSlider
    download: gr.DownloadButton
    zoom: gr.Radio
    crops: dict  # method -> gr.Image
    titles: dict  # method -> gr.Markdown, above its crop
    boxes: dict  # method -> gr.Column holding both
    job: gr.State
    files: gr.File
    many_btn: gr.Button
    many_download: gr.DownloadButton
    many_report: gr.Markdown

    @property
    def results(self) -> list:
        """A run's outputs, in the order API clients get them (docs/app.md)."""
        return [self.overview, *self.crops.values(), self.slider, self.download, self.report, self.job]

    @property
    def clearable(self) -> list:
        """What a reset or a failure empties: a run's outputs and the crops' titles."""
        return self.results + list(self.titles.values())

    @property
    def detail(self) -> list:
        return [self.overview, *self.crops.values(), self.slider, self.job]

    def inputs(self, mode: str) -> list:
        extra = [self.degradation] if mode == COMPARE else []
        return [self.image, self.scale, self.ensemble, self.model, *extra, self.fmt, self.quality, self.width,
                self.height]


def layout(demo: logic.Demo) -> Page:
    """The page's components, in a Blocks being built: the controls, the detail view, the crops."""
    photo_scales = demo.bank.photo_scales()
    photo_info = (f"Photo (for {', '.join(f'x{s}' for s in photo_scales)}): trained on JPEG-compressed and noisy "
                  "photos (a lighter touch for JPEGs of high quality); Auto picks per image." if photo_scales
                  else f"The photo model is not installed (weights/{PHOTO_VARIANT.file('*')}): Auto uses Clean.")
    gr.Markdown(INTRO)
    warming = gr.Markdown(WARMING, visible=not demo.upscaler.warm, elem_id="warming")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Tabs():
                with gr.Tab("One photo", id="one"):
                    image = gr.Image(label="Your photo", type="filepath", image_mode=None,
                                     sources=["upload", "clipboard"], height=320, elem_id="photo",
                                     placeholder=f"Drop a photo here or click to upload (PNG, JPEG, WebP, ...; "
                                                 f"up to {demo.max_pixels / 1e6:g} megapixels and {MAX_UPLOAD})")
                    gr.Examples([[str(p)] for p in logic.example_paths()], inputs=[image], cache_examples=False,
                                label="Or pick an example (public-domain photos)", api_visibility="private")
                with gr.Tab("Many photos", id="many"):
                    files = gr.File(label="Photos, or a zip of them", file_count="multiple",
                                    file_types=["image", ".zip"], elem_id="files")
                    many_btn = gr.Button("Upscale them all", variant="primary", elem_id="upscale-many")
                    many_download = gr.DownloadButton("Download the results (zip)", interactive=False,
                                                      elem_id="many-download")
                    many_report = gr.Markdown(f"Up to {batch.MAX_FILES} photos, each within the limits of one.",
                                              elem_id="many-report")
        with gr.Column(scale=2):
            mode = gr.Radio([("Upscale my photo", UPSCALE), ("Compare with the original", COMPARE)],
                            value=UPSCALE, label="Mode", elem_id="mode",
                            info="Compare shrinks the photo by the scale first, so each method can be scored "
                                 "against it.")
            scale = gr.Radio([(f"x{s}", s) for s in demo.scales], value=demo.scales[0], label="Scale",
                             elem_id="scale")
            model = gr.Radio([("Auto", AUTO), ("Clean", CLEAN.name), ("Photo", PHOTO_VARIANT.name)],
                             value=AUTO, label="Model", elem_id="model", info=photo_info)
            ensemble = gr.Checkbox(value=False, elem_id="ensemble",
                                   label="Self-ensemble (8 flips and rotations averaged: better, 8x slower)")
            degradation = gr.Radio([(label, key) for key, label in DEGRADATIONS.items()], value="",
                                   label="Degrade the shrunk photo like a camera or website would",
                                   elem_id="degradation", visible=False)
            with gr.Accordion("Output: format and size", open=False, elem_id="output"):
                fmt = gr.Radio([("PNG (lossless)", "png"), ("WebP", "webp"), ("JPEG", "jpeg")], value="png",
                               label="Format", elem_id="format")
                quality = gr.Number(None, label="Quality (1-100)", minimum=1, maximum=100, precision=0,
                                    elem_id="quality", info="JPEG: default 90. WebP: empty for lossless.")
                with gr.Row():
                    width = gr.Number(None, label="Width", precision=0, minimum=1, elem_id="width")
                    height = gr.Number(None, label="Height", precision=0, minimum=1, elem_id="height")
            upscale_btn = gr.Button("Upscale", variant="primary", size="lg", elem_id="upscale")
            compare_btn = gr.Button("Compare", variant="primary", size="lg", elem_id="compare", visible=False)
            report_box = gr.Markdown(f"Runs on **{demo.upscaler.device_name}**. Pick a photo and press the button.",
                                     label="Report", elem_id="report")
    with gr.Row(equal_height=False, elem_id="detail"):
        with gr.Column(scale=1, min_width=300):
            overview = gr.Image(label="The whole photo: click to choose the detail", type="pil", format="jpeg",
                                interactive=False, elem_id="overview", buttons=["fullscreen"],
                                height=DETAIL_HEIGHT, placeholder="The whole photo, with the region marked")
        with gr.Column(scale=1, min_width=300):
            slider = gr.ImageSlider(label="Bicubic (left) and FSRCNN (right), the same region", type="pil",
                                    format="png", interactive=False, elem_id="slider", height=DETAIL_HEIGHT)
            download = gr.DownloadButton("Download the full result", interactive=False, elem_id="download")
    with gr.Row(equal_height=False):
        boxes, titles, crops = {}, {}, {}
        for k in CROPS:
            visible = (k != PHOTO or demo.has_photo_model) and k != ENSEMBLE
            with gr.Column(scale=0, min_width=view.DETAIL + 4, elem_id=f"crop-{k}", visible=visible) as box:
                titles[k] = gr.Markdown(TITLES[k], elem_classes="crop-title")
                crops[k] = gr.Image(show_label=False, type="pil", format="png", interactive=False,
                                    elem_classes="crop", buttons=[], height=view.DETAIL + 8,
                                    placeholder=TITLES[k])
            boxes[k] = box
    zoom = gr.Radio([("1:1", 1), ("2:1", 2)], value=1, label="Detail zoom (screen pixels per result pixel)",
                    elem_id="zoom")
    job = gr.State()
    return Page(image, mode, scale, model, ensemble, degradation, fmt, quality, width, height, upscale_btn,
                compare_btn, report_box, warming, overview, slider, download, zoom, crops, titles, boxes, job,
                files, many_btn, many_download, many_report)


def theme() -> gr.themes.Base:
    return gr.themes.Default(font=FONTS, font_mono=MONO)
