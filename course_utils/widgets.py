"""What every interactive demo shares: knowing whether a person is watching.

Under nbgrader, nbclient or CI no widget callback ever fires, so demos render a
static figure of their initial state instead of a widget. That is decided here,
in one place: ``COURSE_HEADLESS=1`` (set by the course's tests and the
autograder) or ``NBGRADER_EXECUTION`` (set by nbgrader) means headless;
``COURSE_HEADLESS=0`` forces widgets.

Under plain nbclient (``jupyter nbconvert --execute``, papermill) neither flag is
set, so the widgets are displayed; that is safe as long as a demo never writes
into an ``ipywidgets.Output`` while a cell runs. nbclient mirrors an Output
widget by sending comm messages on the shell socket that its execute-reply
poller is blocked on, and in about half the runs the reply's wake-up is lost:
the cell then waits one full cell timeout before nbclient sees the reply
(jupyter/nbclient#312; measured: regularization 20-34 s instead of 6 s). So
every demo draws its figure into an ``ipywidgets.Image`` (``figure_png``) and
updates that widget's ``value``; tests/course/test_no_stall.py executes each
notebook that way several times and fails on a stall.
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


def figure_png(fig, dpi: int = 96) -> bytes:
    """PNG bytes of a matplotlib figure (works with any backend, Agg included)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def show(widget, static_figure=None):
    """Display ``widget`` for a person, or ``static_figure()``'s figure when headless.

    The static figure is displayed as a PNG image, so it shows in executed
    notebooks and feedback whatever matplotlib backend the kernel runs.
    """
    from IPython.display import Image, display

    if is_headless():
        if static_figure is not None:
            import matplotlib.pyplot as plt

            fig = static_figure()
            if fig is not None:
                display(Image(data=figure_png(fig)))
                plt.close(fig)
        return None
    display(widget)
    return widget
