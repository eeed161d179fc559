"""Batch grading for the course, built around nbgrader (see README, TA section)."""

__version__ = "0.1.0"
