"""Evaluation over a QA set: metrics, runner, reports."""
