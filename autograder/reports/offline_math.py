"""Math in feedback pages without a network: TeX rendered to MathML when the page is written.

nbconvert's HTML pages load MathJax from a CDN, so a student who opens their
feedback offline (or behind a campus proxy) sees raw ``$\\eta h$``. Here every
``$...$``/``$$...$$`` (and ``\\(...\\)``/``\\[...\\]``) in rendered markdown is
converted to MathML with ``latex2mathml``; browsers draw MathML natively
(Chromium since 109, Firefox, Safari), so the page needs no script at all, and
the CDN script tags are dropped. A formula the converter cannot read stays as
its TeX source in a ``<code>`` span: never an error, never lost text.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert

_MARKDOWN_START = re.compile(r'<div class="[^"]*jp-MarkdownOutput[^"]*"[^>]*>')
_NEXT_CELL = re.compile(r'<div class="[^"]*\bjp-Cell\b|</main>|</body>')
_CODE = re.compile(r"(<(code|pre)\b.*?</\2>)", re.S)
_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<![\\$])\$(?!\s)(.+?)(?<![\s\\])\$|\\\((.+?)\\\)", re.S)
_ALIGNED = re.compile(r"\\(begin|end)\{aligned\}")
_CDN_SCRIPTS = re.compile(
    r"<script[^>]*src=\"[^\"]*(mathjax|require\.js|require\.min\.js)[^\"]*\"[^>]*>\s*</script>\s*"
    r"|<!-- MathJax configuration -->.*?<!-- End of mathjax configuration -->", re.S | re.I)


def tex_to_mathml(tex: str, display: bool) -> str:
    """MathML for one formula, or its TeX source in ``<code>`` when it cannot be converted."""
    # latex2mathml reads split (same columns as aligned) but not aligned
    tex = _ALIGNED.sub(r"\\\1{split}", tex.strip())
    try:
        return convert(tex, display="block" if display else "inline").replace("<mi>&</mi>", "<mi>&amp;</mi>")
    except Exception:  # noqa: BLE001 - any converter failure keeps the source visible
        return f"<code>{html.escape(tex)}</code>"


def _render_text(fragment: str) -> str:
    def one(m: re.Match) -> str:
        display_tex = m.group(1) or m.group(2)
        tex = display_tex if display_tex is not None else (m.group(3) or m.group(4) or "")
        return tex_to_mathml(html.unescape(tex), display=display_tex is not None)

    # leave code spans and blocks alone: `$x$` in code is code
    parts = _CODE.split(fragment)
    out, skip = [], False
    for i, part in enumerate(parts):
        if skip:  # the tag-name group of the previous code match
            skip = False
            continue
        if _CODE.fullmatch(part or ""):
            out.append(part)
            skip = True
        else:
            out.append(_MATH.sub(one, part))
    return "".join(out)


def render_math_offline(page: str) -> str:
    """The nbconvert HTML ``page`` with its markdown math as MathML and no CDN math script."""
    out, pos = [], 0
    for start in _MARKDOWN_START.finditer(page):
        if start.start() < pos:
            continue
        end = _NEXT_CELL.search(page, start.end())
        stop = end.start() if end else len(page)
        out += [page[pos:start.end()], _render_text(page[start.end():stop])]
        pos = stop
    out.append(page[pos:])
    return _CDN_SCRIPTS.sub("", "".join(out))
