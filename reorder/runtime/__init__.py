"""Running a plan: the interpreter, what it reads, and the drop-in transform."""

from reorder.runtime.interpreter import Call, Executor, draw, segment_path
from reorder.runtime.sources import JpegSource, LazyImage

__all__ = ["Call", "Executor", "JpegSource", "LazyImage", "draw", "segment_path"]
