"""colorkit-faces: the ``face_parts`` preprocessor (MediaPipe Face Mesh landmarks and selfie segmentation).

Installed beside colorkit (``pip install -e plugins/colorkit-faces``), it registers ``face_parts``
and the metrics ``lips_ab_error`` and ``eyes_ab_error`` through the ``colorkit`` entry point;
mediapipe itself is imported on the first call only.
"""

from colorkit.hookspecs import hookimpl
from colorkit_faces.face_parts import PARTS, FaceParts

__version__ = "0.1.0"
__all__ = ["FaceParts", "PARTS"]


@hookimpl
def colorkit_register_preprocessors(register):
    register("face_parts", FaceParts)


@hookimpl
def colorkit_register_metrics(register):
    from colorkit_faces.metrics import eyes_ab_error, lips_ab_error

    register("lips_ab_error", lips_ab_error)
    register("eyes_ab_error", eyes_ab_error)
