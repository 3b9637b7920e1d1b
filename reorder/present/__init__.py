"""Presentation on top of a plan: the report (text, HTML), plots and generated code.

Importing this package registers each view on `reorder.plan.Plan` (`plan.VIEWS`).
"""

from reorder.present import codegen, plots, report

__all__ = ["codegen", "plots", "report"]
