"""Colour photos with a trained model: load it (:mod:`.colorizer`), run it eagerly or with ONNX
Runtime (:mod:`.backends`, :mod:`.export`), fast paths (:mod:`.fast`), many files overlapped
(:mod:`.pipeline`) and measurement against photos with known colour (:mod:`.evaluate`).

Training sits above this package and uses it (a warm start finds its weights here; a comparison
evaluates its variants here); nothing here imports training (see docs/architecture.md).
"""
