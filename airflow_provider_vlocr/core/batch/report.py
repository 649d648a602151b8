"""The review report: one self-contained HTML page per batch listing each image that needs a person's eyes, with
the doubtful or failing fields cut out of the photo (from the answer's text locations) beside the value read, its
confidence and the reason. Images are inline (``data:`` URIs); nothing is fetched when the page is opened.

With redaction on, the page carries no owner data: values are the redacted ones, and neither the owner's fields
nor the whole photo (which shows them) are ever drawn; other fields are still cut out.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Iterable
from typing import Any

from ...licence.pii import PII_FIELDS
from .items import Item
from .manifest import review_reasons

CROP_MARGIN = 8  # pixels around a field's box
CROP_MAX = (560, 140)  # a crop is scaled down to fit this
PHOTO_MAX = (640, 640)  # the whole photo, when no field could be cut out (and redaction is off)
STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}
section{border:1px solid #ccc;border-radius:6px;padding:12px;margin:12px 0}h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse}td,th{border-top:1px solid #eee;padding:6px 10px;text-align:left;vertical-align:top}
img{border:1px solid #999;max-width:560px}.low{color:#b00}.muted{color:#777}
"""
SCRIPT = """addEventListener('load',()=>{const i=[...document.images];
document.body.dataset.imagesLoaded=i.filter(x=>x.complete&&x.naturalWidth>0).length;
document.body.dataset.images=i.length;});"""


def text_locations(result: dict[str, Any]) -> dict[str, Any]:
    """Field -> four points, from the top level and from each page of a two-page answer."""
    found: dict[str, Any] = {}
    for part in (result, result.get("front") or {}, result.get("back") or {}):
        found.update((part or {}).get("text_location") or {})
    return found


def crop(image: Any, points: list[list[float]]) -> str | None:
    """A PNG ``data:`` URI of the box around ``points`` (with a margin), or ``None`` when it is empty."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    box = (max(0, int(min(xs)) - CROP_MARGIN), max(0, int(min(ys)) - CROP_MARGIN),
           min(image.width, int(max(xs)) + CROP_MARGIN), min(image.height, int(max(ys)) + CROP_MARGIN))  # fmt: skip
    if box[2] <= box[0] or box[3] <= box[1]:
        return None
    return data_uri(image.crop(box), CROP_MAX)


def data_uri(image: Any, size: tuple[int, int]) -> str:
    picture = image.convert("RGB")
    picture.thumbnail(size)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def section(item: Item, photo: bytes | None, redacted: bool) -> str:
    """One image's part of the page."""
    from PIL import Image

    e = html.escape
    reasons = review_reasons(item)
    result: dict[str, Any] = dict(item.get("result") or {})
    confidence = item.get("field_confidence") or {}
    locations = text_locations(result)
    picture = None
    if photo is not None:
        try:
            picture = Image.open(io.BytesIO(photo))
            picture.load()
        except Exception:  # an unreadable photo is why some items are here: no picture then
            picture = None
    rows, drawn = [], 0
    for reason in reasons:
        name = reason["field"]
        shown = "" if name is None else result.get(name, (result.get("front") or {}).get(name, ""))
        cut = None
        if picture is not None and name in locations and not (redacted and name in PII_FIELDS):
            cut = crop(picture, locations[name])
        drawn += cut is not None
        image_cell = f'<img alt="{e(str(name))}" src="{cut}">' if cut else '<span class="muted">no crop</span>'
        score = confidence.get(name) if name else None
        rows.append(
            f"<tr><td>{e(str(name or '—'))}</td><td>{image_cell}</td><td>{e(str(shown))}</td>"
            f"<td class=\"{'low' if score is not None and score < 0.8 else ''}\">"
            f"{'' if score is None else f'{score:.2f}'}</td><td>{e(str(reason['reason']))}</td></tr>"
        )
    whole = ""
    if picture is not None and not drawn and not redacted:
        whole = f'<p><img alt="photo" src="{data_uri(picture, PHOTO_MAX)}"></p>'
    header = "<tr><th>field</th><th>on the photo</th><th>value read</th><th>confidence</th><th>reason</th></tr>"
    return (f"<section><h2>{e(str(item.get('source')))}</h2>{whole}<table>{header}{''.join(rows)}</table>"
            "</section>")  # fmt: skip


def review_report(
    items: Iterable[Item], read_photo: Callable[[Item], bytes | None], *, redacted: bool, title: str, more: int = 0
) -> str:
    """The page for ``items`` (those needing review); ``read_photo`` gives an item's image bytes, or ``None``;
    ``more`` says how many were left out (the summary lists them all by count)."""
    sections = [section(item, read_photo(item), redacted) for item in items]
    tail = f'<p class="muted">and {more} more (see the summary\'s review count)</p>' if more else ""
    return (
        f"<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style><script>{SCRIPT}</script></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{len(sections)} image(s) need review{' (owner data redacted)' if redacted else ''}.</p>"
        f"{''.join(sections)}{tail}</body></html>"
    )
