"""The pledge card: its register as printed, its own arithmetic, and the records reconciled with it."""

from pledgeflow.card.figures import build_budget_table, report_results, report_targets
from pledgeflow.card.reconcile import reconcile_all, reconcile_settled
from pledgeflow.card.register import Report, load_report

__all__ = ["Report", "build_budget_table", "load_report", "reconcile_all", "reconcile_settled", "report_results",
           "report_targets"]
