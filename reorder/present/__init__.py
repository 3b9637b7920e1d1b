"""Presentation on top of a plan: the report (text, HTML), plots and generated code.

Importing this package registers each view (`reorder.views`) on the class it shows: a plan,
a step profile, a balance report.
"""

from reorder.present import balance, codegen, plots, report, steps

__all__ = ["balance", "codegen", "plots", "report", "steps"]
