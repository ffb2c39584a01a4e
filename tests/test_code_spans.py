"""Names from a plan that hold backticks keep their code spans whole in report.md and report.html: a span is
fenced by one backtick more than the name's longest run of them, padded with a space where the name starts or
ends with one (CommonMark; docs/security.md). A trial's model named "a`<img src=x onerror=alert(1)>`b" closed
the span of report.md's Launch section early (``model `a`\\<img …\\>`b` ``), and report.html showed
`<code>a</code>&lt;img…`."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from dagc.diagnostics import code
from dagc.export.launch import launch_md
from dagc.export.md_escape import md_prose
from dagc.export.summary import summary_md
from dagc.verdict.check import check, load_plan_text

NAMES = ["a`<img src=x onerror=alert(1)>`b", "`x", "y`", "a``b`c", "plain"]


def _spans(md: str) -> list[str]:
    """The code spans CommonMark finds in `md`, their text."""
    tokens = MarkdownIt("commonmark", {"html": False}).parseInline(md)
    return [c.content for t in tokens for c in t.children or () if c.type == "code_inline"]


def _plan(model: str, strategy: str = "tp 2", experts: bool = True) -> str:
    moe = "  moe { experts = 8  top_k = 2  ffn = 1024  gated = false }\n" if experts else "  ffn = 1024\n"
    return (f'model "{model}" {{\n  layers = 4  hidden = 1024  heads = 8  kv_heads = 8  head_dim = 128  vocab = 32000\n'
            f"{moe}}}\n"
            'cluster { gpus = 8  gpus_per_node = 8  gpu preset "h100-sxm" }\n'
            f"workload {{ batch = 8  prompt = 128  generate = 16 }}\nstrategy {strategy}\n")


@pytest.mark.parametrize("name", NAMES)
def test_code_fences_a_name_whole(name):
    assert _spans(f"model {code(name)} has none") == [name]
    assert _spans(md_prose(f"model {code(name)} has none, see `tp 2` <b>")) == [name, "tp 2"]


@pytest.mark.parametrize("name", NAMES[:3])
def test_the_launch_section_quotes_the_model_whole(name):
    (result,) = check(load_plan_text(_plan(name)))
    md = "\n".join(launch_md(result))
    line = next(x for x in md.splitlines() if "has no known checkpoint" in x)
    assert name in _spans(line)
    html = MarkdownIt("commonmark", {"html": False}).render(line)
    assert "<img" not in html
    shown = re.search(r"model <code>(.*?)</code> has no known checkpoint", html)
    assert shown is not None and shown.group(1) == name.replace("<", "&lt;").replace(">", "&gt;")


def test_a_diagnostic_quoting_the_model_keeps_its_span_in_report_md():
    name = NAMES[0]
    (result,) = check(load_plan_text(_plan(name, "tp 2 ; ep 2", experts=False)))
    e304 = [d for d in result.diagnostics if d.code == "E304"]
    assert e304 and e304[0].message.startswith(f"model {code(name)} has no routed experts")
    md = "\n".join(summary_md(result))
    line = next(x for x in md.splitlines() if "has no routed experts" in x)
    assert name in _spans(line)
