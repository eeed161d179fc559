"""What every interactive demo shares: knowing whether a person is watching.

Under nbgrader, nbclient or CI no widget callback ever fires, so demos render a
static figure of their initial state instead of a widget. That is decided here,
in one place: ``COURSE_HEADLESS=1`` (set by the course's tests and the
autograder) or ``NBGRADER_EXECUTION`` (set by nbgrader) means headless;
``COURSE_HEADLESS=0`` forces widgets.
"""

from __future__ import annotations

import os


def is_headless() -> bool:
    flag = os.environ.get("COURSE_HEADLESS", "").strip().lower()
    if flag in {"1", "true", "yes"}:
        return True
    if flag in {"0", "false", "no"}:
        return False
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def show(widget, static_figure=None):
    """Display ``widget`` for a person, or ``static_figure()``'s figure when headless."""
    from IPython.display import display

    if is_headless():
        if static_figure is not None:
            import matplotlib.pyplot as plt

            fig = static_figure()
            if fig is not None:
                display(fig)
                plt.close(fig)
        return None
    display(widget)
    return widget
