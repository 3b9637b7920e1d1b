"""Presentation on top of a plan: the report (text, HTML), plots and generated code.

Importing this package registers each view (`reorder.views`) on the class it shows: a plan,
a step profile.
"""

from reorder.present import codegen, plots, report, steps

__all__ = ["codegen", "plots", "report", "steps"]
