"""Label-anchored layout parser: OCR text boxes of a licence photo -> a :class:`LicenseReading`.

Pure geometry and text rules, no OCR engine here, so it is tested on its own. Steps:

1. normalise each box's text (Traditional -> Simplified, full-width -> half-width) and deskew all boxes by the
   median angle of the long ones;
2. find the printed labels (exact, then within edit distance 1, letter-spaced 所 有 人 / 住 址 / 备 注 in parts);
3. split a photo holding both pages into two cards along the widest empty band between the front and back labels;
4. read each label's value: text after the label in its own box, then boxes to its right on the same row, up to
   the next label; the seal text left of the VIN column for the issuing authority; the digits under the barcode;
5. clean each value by its format (plate, VIN, dates, masses, dimension, ...) into the API's formats.
"""

from __future__ import annotations

from .geometry import Point, page_tilt
from .parser import complete_seal, label_count, parse_boxes

__all__ = ["Point", "complete_seal", "label_count", "page_tilt", "parse_boxes"]
