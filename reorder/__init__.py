"""reorder: a faster, verified-equivalent plan for your augmentation pipeline.

plan = reorder.optimize(train_transform, sample_paths)
ds = ImageFolder(root, loader=plan.loader, transform=plan.transform)
"""

from reorder.measure.loader import LoaderReport, profile_loader
from reorder.plan import Plan, PlanFileError, load
from reorder.planner import optimize
from reorder.runtime import LazyImage

__all__ = [
    "LazyImage",
    "LoaderReport",
    "Plan",
    "PlanFileError",
    "load",
    "optimize",
    "profile_loader",
]
__version__ = "0.1.0"
