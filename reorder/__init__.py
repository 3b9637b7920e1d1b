"""reorder: a faster, verified-equivalent plan for your augmentation pipeline.

plan = reorder.optimize(train_transform, sample_paths)
ds = ImageFolder(root, loader=plan.loader, transform=plan.transform)
"""

from reorder import present  # noqa: F401  (registers the report, plots and code views)
from reorder.loading import load
from reorder.measure.balance import BalanceReport, balance
from reorder.measure.loader import LoaderReport, profile_loader
from reorder.measure.steps import StepProfile
from reorder.optimizer import optimize, profile
from reorder.plan import Plan
from reorder.planfile import PlanFileError
from reorder.runtime import LazyImage

__all__ = [
    "BalanceReport",
    "LazyImage",
    "LoaderReport",
    "Plan",
    "PlanFileError",
    "StepProfile",
    "balance",
    "load",
    "optimize",
    "profile",
    "profile_loader",
]
__version__ = "0.1.0"
