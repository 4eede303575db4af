"""Face-part masks from MediaPipe Face Mesh (468 landmarks) and selfie segmentation, on the gray image.

Parts: landmark polygons filled at 4x the image size and area-averaged down, so small parts (an eye
is about 5 pixels wide at 64 px) come out as soft coverage in [0, 1] rather than jagged 0/1 masks.

- ``eyes``, ``brows``, ``nose`` (the convex hull of mediapipe's nose landmarks), ``lips`` (outer lip
  line minus the inner one: an open mouth is not lips);
- ``skin``: the face oval minus the parts above and the mouth;
- ``hair``: the person mask of selfie segmentation minus the face oval, above the chin and within
  1.2 face widths of the face's centre (a heuristic: ears and a hat count as hair, hair below the
  chin is left out);
- ``background``: 1 minus the person mask.

When no face is found every channel is 0 (the image still trains; part weights then weigh it as
usual). The detector works on the gray image repeated in three channels, upscaled so its short side
is at least ``detect_size`` (Face Mesh finds faces at 64 px, but more reliably larger).
"""

from __future__ import annotations

import os
from importlib import metadata

import numpy as np

from colorkit.preprocess.base import Preprocessor

PARTS = ("skin", "brows", "eyes", "lips", "nose", "hair", "background")
SUPERSAMPLE = 4
VERSION = 1
"""Bumped whenever the masks change, so cached masks of an older version are not reused."""


class FaceParts(Preprocessor):
    """Face-part masks (skin, brows, eyes, lips, nose, hair, background) from MediaPipe landmarks."""

    channels = PARTS

    def __init__(self, max_faces: int = 1, min_confidence: float = 0.5, detect_size: int = 192):
        if isinstance(max_faces, bool) or not isinstance(max_faces, int) or max_faces < 1:
            raise ValueError(f"face_parts: option 'max_faces' must be an integer >= 1, got {max_faces!r}")
        if isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float)) or not 0 < min_confidence < 1:
            raise ValueError(f"face_parts: option 'min_confidence' must be in (0, 1), got {min_confidence!r}")
        if isinstance(detect_size, bool) or not isinstance(detect_size, int) or not 32 <= detect_size <= 1024:
            raise ValueError(f"face_parts: option 'detect_size' must be an integer in [32, 1024], got {detect_size!r}")
        self.max_faces, self.min_confidence, self.detect_size = max_faces, float(min_confidence), detect_size
        self._models = None  # (pid, face mesh, selfie segmentation), built on the first call in each process

    @property
    def cache_key(self) -> str:
        return (
            f"face_parts/v{VERSION}/mediapipe={metadata.version('mediapipe')}/"
            f"max_faces={self.max_faces}/min_confidence={self.min_confidence}/detect_size={self.detect_size}"
        )

    def __getstate__(self) -> dict:  # DataLoader workers build their own models
        return dict(self.__dict__, _models=None)

    def models(self):
        if self._models is None or self._models[0] != os.getpid():
            import mediapipe as mp

            mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=self.max_faces, refine_landmarks=False, min_detection_confidence=self.min_confidence
            )
            selfie = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
            self._models = (os.getpid(), mesh, selfie)
        return self._models[1:]

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        import cv2
        from mediapipe.python.solutions import face_mesh_connections as fmc

        from colorkit_faces.polygons import outline, ring

        gray = np.asarray(gray, dtype=np.uint8)
        h, w = gray.shape
        scale = max(1.0, self.detect_size / min(h, w))
        big = cv2.resize(gray, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_CUBIC) if scale > 1 else gray
        rgb = np.ascontiguousarray(np.repeat(big[..., None], 3, axis=2))
        mesh, selfie = self.models()
        found = mesh.process(rgb).multi_face_landmarks
        out = np.zeros((len(PARTS), h, w), np.float32)
        if not found:
            return out
        H, W = h * SUPERSAMPLE, w * SUPERSAMPLE
        person = cv2.resize(selfie.process(rgb).segmentation_mask, (W, H), interpolation=cv2.INTER_LINEAR) > 0.5
        canvas = {p: np.zeros((H, W), np.uint8) for p in ("oval", "brows", "eyes", "lips", "mouth", "nose", "hair")}

        def fill(name, poly, value=1):
            cv2.fillPoly(canvas[name], [np.round(poly * 16).astype(np.int32)], value, lineType=cv2.LINE_8, shift=4)

        for face in found:
            pts = np.array([(p.x * W, p.y * H) for p in face.landmark], np.float64)
            oval = outline(fmc.FACEMESH_FACE_OVAL, pts)
            fill("oval", oval)
            for edges in (fmc.FACEMESH_LEFT_EYEBROW, fmc.FACEMESH_RIGHT_EYEBROW):
                fill("brows", outline(edges, pts))
            for edges in (fmc.FACEMESH_LEFT_EYE, fmc.FACEMESH_RIGHT_EYE):
                fill("eyes", outline(edges, pts))
            outer, inner = ring(fmc.FACEMESH_LIPS, pts)
            fill("lips", outer)
            fill("mouth", outer)
            fill("lips", inner, 0)
            nose = sorted({i for edge in fmc.FACEMESH_NOSE for i in edge})
            fill("nose", cv2.convexHull(pts[nose].astype(np.float32))[:, 0].astype(np.float64))
            x0, x1 = oval[:, 0].min(), oval[:, 0].max()
            cx, half, chin = (x0 + x1) / 2, 1.2 * (x1 - x0), oval[:, 1].max()
            near = (np.arange(H)[:, None] < chin) & (np.abs(np.arange(W)[None, :] - cx) < half)
            canvas["hair"] |= (person & near).astype(np.uint8)

        oval = canvas["oval"].astype(bool)
        parts = {
            "brows": canvas["brows"] > 0,
            "eyes": canvas["eyes"] > 0,
            "lips": canvas["lips"] > 0,
            "nose": canvas["nose"] > 0,
        }
        taken = parts["brows"] | parts["eyes"] | parts["nose"] | (canvas["mouth"] > 0)
        parts["skin"] = oval & ~taken
        parts["hair"] = (canvas["hair"] > 0) & ~oval
        parts["background"] = ~person & ~oval
        for i, name in enumerate(PARTS):
            out[i] = cv2.resize(parts[name].astype(np.float32), (w, h), interpolation=cv2.INTER_AREA)
        return np.clip(out, 0.0, 1.0)
