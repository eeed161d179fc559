"""Feedback math is drawn offline: TeX becomes MathML, the MathJax CDN script goes."""

from __future__ import annotations

import nbformat
from nbconvert import HTMLExporter

from autograder.reports.offline_math import render_math_offline, tex_to_mathml


def _page(*cells):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    body, _ = HTMLExporter(template_name="lab", sanitize_html=False).from_notebook_node(nb)
    return body


def test_markdown_math_becomes_mathml_and_needs_no_cdn():
    page = _page(nbformat.v4.new_markdown_cell(r"Stable iff $\eta h < 2$, and $$w_{t+1} = w_t - \eta \nabla f(w_t)$$"),
                 nbformat.v4.new_markdown_cell("$$\n\\begin{aligned} v &= \\rho v + g \\\\ w &= w - \\alpha v \\end{aligned}\n$$"))
    assert "mathjax/2" in page  # nbconvert's page loads MathJax from a CDN ...
    out = render_math_offline(page)
    assert "mathjax/2" not in out and "x-mathjax-config" not in out  # ... ours does not
    assert out.count('<math xmlns="http://www.w3.org/1998/Math/MathML"') == 3
    assert 'display="block"' in out and "<mtable" in out  # aligned equations keep their rows
    assert "$" not in out.split("<body", 1)[1].split("<script", 1)[0].replace("&#36;", "")


def test_code_outputs_and_bad_tex_are_left_readable():
    page = _page(nbformat.v4.new_markdown_cell("a price of \\$5, code `$x$` and broken $\\frac{1}{$"),
                 nbformat.v4.new_code_cell("print('$not math$')", outputs=[
                     nbformat.v4.new_output("stream", name="stdout", text="$not math$\n")]))
    out = render_math_offline(page)
    assert "<code>$x$</code>" in out  # inline code is code
    assert "$not math$" in out  # code and outputs are never touched
    assert "\\frac{1}{" in out  # an unreadable formula stays as its source


def test_tex_to_mathml_inline_and_display():
    assert 'display="inline"' in tex_to_mathml(r"\hat m_t", display=False)
    assert 'display="block"' in tex_to_mathml(r"\sqrt{\hat v_t} + \epsilon", display=True)
