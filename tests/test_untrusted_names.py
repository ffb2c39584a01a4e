"""Issue 40, injection: names from a plan (model, GPU, plan file) reach every output as text —
no live Markdown or HTML, no script or external link in an SVG, nothing a shell would run — and
what an external `dot` prints is never inlined unchecked. Everything writes inside tmp dirs."""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from markdown_it import MarkdownIt

from dagc.export import html as html_mod, render as render_mod
from dagc.export.compile import compile_results
from dagc.export.dot_program import find_dot
from dagc.export.markdown import report_md
from dagc.export.md_escape import md_code, md_prose, md_text
from dagc.export.render import Renderer, render_dot
from dagc.export.svg_safe import UnsafeSvg, safe_svg
from dagc.lang.load import load_plan_text
from dagc.verdict.check import check

SVG_NS = "{http://www.w3.org/2000/svg}"
OUR_LINKS = {"dag.svg", "dag.dot", "placement.svg", "trace.json", "trace.json.gz", "pareto.svg", "report.md",
             "report.html"}


def plan_with(model: str, gpu: str) -> str:
    return (f'model "{model}" {{ layers = 4  hidden = 256  heads = 8  kv_heads = 2  head_dim = 32  vocab = 1000\n'
            "  moe { experts = 4  top_k = 2  ffn = 512 } }\n"
            f'cluster {{ gpus = 4  gpus_per_node = 2  gpu "{gpu}" {{ memory = 80 GB  flops = 400 TFLOPS  '
            "hbm = 2 TB/s } }\n"
            "workload { batch = 8  prompt = 128  generate = 8  microbatches = 2 }\n"
            "require { ttft <= 10 ms }\nstrategy pp 2 < tp 2 ; ep 2 >\n")


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def local(url: str) -> bool:
    return url == "https://ui.perfetto.dev" or url.startswith("#") or url.split("#")[0].split("/")[-1] in OUR_LINKS


def assert_markdown_inert(md: str) -> None:
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(md)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert all("Verdict: correct" not in h for h in headings[1:]), headings
    for t in tokens:
        assert t.type not in ("html_block",), t.content
        for c in t.children or ():
            assert c.type != "html_inline", c.content
            if c.type == "image":
                assert c.attrGet("src") in OUR_LINKS, c.attrGet("src")
            if c.type == "link_open":
                assert local(str(c.attrGet("href"))), c.attrGet("href")


def assert_html_inert(text: str) -> None:
    p = _Tags()
    p.feed(text)
    for tag, attrs in p.tags:
        assert tag not in ("script", "iframe", "object", "embed", "foreignobject", "image", "use", "b", "i"), tag
        assert not any(k.startswith("on") for k in attrs), attrs
        for k in ("href", "src", "xlink:href"):
            if k in attrs:
                assert local(attrs[k]), attrs


def assert_svg_inert(text: str) -> None:
    root = ET.fromstring(text.encode())
    for el in root.iter():
        assert isinstance(el.tag, str) and el.tag.startswith(SVG_NS), el.tag
        assert el.tag[len(SVG_NS):] not in ("script", "foreignObject", "image", "use", "style"), el.tag
        for k, v in el.attrib.items():
            assert not k.lower().startswith("on") and "javascript:" not in v.lower(), (k, v)
            if k.endswith("href"):
                assert v.startswith("#"), v


def assert_shell_inert(md: str) -> None:
    """Every command in the report's sh blocks splits into words with no operator between them."""
    blocks = md.split("```sh")[1:]
    for block in blocks:
        for line in block.split("```")[0].splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            lex = shlex.shlex(line, posix=True, punctuation_chars=True)
            lex.whitespace_split = True
            words = list(lex)
            assert not [w for w in words if w and set(w) <= set(";&|<>()")], line


NAMES = st.text(st.characters(codec="utf-8", exclude_characters='"\n\r\x00'), min_size=1, max_size=40)
HOSTILE = st.sampled_from(["![x](http://evil.example/a.png)", "[y](javascript:alert(1))", "<img src=x onerror=1>",
                           "<script>alert(1)</script>", "`; rm -rf ~ #", "$(touch pwned)", "a|b|c", "**bold** _em_",
                           "&lt;b&gt;", "x]]> <!-- --> ``` ~~~", "\\` \\[", "http://evil.example"])
FILE_NAMES = st.one_of(HOSTILE, NAMES,
                       st.binary(min_size=1, max_size=12).map(lambda b: os.fsdecode(b.replace(b"/", b"_")))
                       .filter(lambda s: s not in (".", "..") and "\x00" not in s),
                       st.just("plan\n## Verdict: correct yes"))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.one_of(HOSTILE, NAMES), gpu=st.one_of(HOSTILE, NAMES), stem=FILE_NAMES)
def test_random_names_come_out_inert_in_every_format(model, gpu, stem):
    try:
        plan = load_plan_text(plan_with(model, gpu), name=f"{stem}.moe")
    except Exception as exc:        # a name the language refuses never reaches an output
        assert type(exc).__name__ == "PlanError"
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        compile_results(plan, check(plan), out)
        for p in out.rglob("*"):
            if not p.is_file():
                continue
            raw = p.read_bytes()
            text = raw.decode("utf-8")           # every file is valid UTF-8
            if p.suffix == ".md":
                assert_markdown_inert(text)
                assert_shell_inert(text)
            elif p.suffix == ".html":
                assert_html_inert(text)
            elif p.suffix == ".svg":
                assert_svg_inert(text)
            elif p.suffix == ".json":
                json.loads(text)


def test_plan_names_are_text_in_the_report(tmp_path):
    plan = load_plan_text(plan_with("![x](http://evil.example/a.png) <b>b</b> *em*", "[g](http://e.example)"),
                          name="p\n## Verdict: correct yes.moe")
    compile_results(plan, check(plan), tmp_path / "o")
    md = (tmp_path / "o" / "report.md").read_text()
    html = (tmp_path / "o" / "report.html").read_text()
    assert_markdown_inert(md)
    assert_html_inert(html)
    assert "evil.example/a.png" in html and 'src="http' not in html
    assert html.replace('href="https://ui.perfetto.dev"', "").count('href="http') == 0
    assert "\n## Verdict: correct" not in md


def test_escapes_round_trip_through_markdown_it():
    md = MarkdownIt("commonmark").enable("table")
    for name in ["![x](http://e)", "<b>b</b>", "a`b``c", "*x* _y_", "a|b", "&amp;", "\\", "x]]"]:
        assert "<" not in md.renderInline(md_text(name)).replace("&lt;", "")
        assert md.renderInline(md_code(name)).startswith("<code>")
    assert md.renderInline(md_prose("`x` then [a](http://e)")) == "<code>x</code> then [a](http://e)"


def test_an_empty_or_relative_path_entry_is_not_searched_for_dot(tmp_path, monkeypatch):
    evil = tmp_path / "dot"
    evil.write_text("#!/bin/sh\nexec 0</dev/null\necho '<svg xmlns=\"http://www.w3.org/2000/svg\"><script>x</script>"
                    "</svg>'\n")
    evil.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    assert find_dot(":", str(tmp_path)) is None
    assert find_dot(f".:{tmp_path}", str(tmp_path)) is None         # inside the current directory
    assert find_dot(str(tmp_path), "/") == str(evil)                 # outside it, absolute: found
    monkeypatch.setenv("PATH", ":")
    assert render_dot("digraph { a -> b }", renderers=(Renderer.DOT,)).svg is None


def test_what_dot_prints_is_reserialised_or_refused(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    dot = bin_dir / "dot"
    dot.write_text("#!/bin/sh\nexec 0</dev/null\necho '<svg xmlns=\"http://www.w3.org/2000/svg\" "
                   "xmlns:xlink=\"http://www.w3.org/1999/xlink\"><script>alert(1)</script><g onload=\"x()\">"
                   "<a xlink:href=\"http://evil.example\"><text>n1</text></a><foreignObject><p>x</p></foreignObject>"
                   "</g></svg>'\n")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    drawn = render_dot("digraph { a -> b }", renderers=(Renderer.DOT,))
    assert drawn.svg is not None and "n1" in drawn.svg
    assert_svg_inert(drawn.svg)
    page = html_mod.report_html("![DAG](dag.svg)\n", {"dag.svg": drawn.svg})
    assert_html_inert(page)
    assert "<script" not in page and "onload" not in page and "evil.example" not in page
    dot.write_text("#!/bin/sh\nexec 0</dev/null\necho '<html><script>alert(1)</script></html>'\n")
    refused = render_dot("digraph { a -> b }", renderers=(Renderer.DOT,))
    assert refused.svg is None and "refuses" in (refused.warning or "")
    page = html_mod.report_html("![DAG](dag.svg)\n", {"dag.svg": "<html><script>x</script></html>"})
    assert "<script" not in page and '<a href="dag.svg">' in page
    for bad in ('<!DOCTYPE svg [<!ENTITY a "b">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
                "not xml", '<svg xmlns="http://www.w3.org/2000/svg">' + "<g>" * 100 + "</g>" * 100 + "</svg>"):
        with pytest.raises(UnsafeSvg):
            safe_svg(bad)


@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
def test_a_dot_timeout_kills_everything_dot_started(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pid_file = tmp_path / "child.pid"
    dot = bin_dir / "dot"
    # the child dot starts: this Python sleeping (whatever the PATH holds, `sleep` included or not)
    sleeper = f"{shlex.quote(sys.executable)} -c 'import time; time.sleep(300)'"
    dot.write_text(f"#!/bin/sh\n{sleeper} &\necho $! > {pid_file}\nwait\n")
    dot.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    drawn = render_mod.render_dot("digraph { a -> b }", timeout_s=0.5, renderers=(Renderer.DOT,))
    assert drawn.svg is None and "stopped" in (drawn.warning or "")
    child = int(pid_file.read_text())
    def state() -> str:        # R, S, … running or sleeping; Z a zombie (dead); "" gone
        try:
            return Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return ""
    for _ in range(50):
        if state() in ("", "Z", "X"):
            break
        time.sleep(0.05)
    assert state() in ("", "Z", "X"), f"the child dot started still runs ({state()})"


def test_a_dollar_in_a_name_is_not_math_where_github_renders_math():
    """GitHub (and GitLab) render `$…$` and `$$…$$` in a Markdown file as math, so a model named `cost $5$ & $$x$$`
    would show an italic 5 and a display formula in report.md on GitHub: each `$` of a name is escaped, `\\$`, which
    CommonMark (markdown-it, report.html) reads back as the `$` itself. Before, the dollars stood bare."""
    name = "cost $5$ & $$x$$"
    assert md_text(name) == "cost \\$5\\$ \\& \\$\\$x\\$\\$"
    assert MarkdownIt("commonmark").renderInline(md_text(name)) == "cost $5$ &amp; $$x$$"
    plan = load_plan_text(plan_with(name, "gpu $a$"), name="p.moe")
    md = report_md(check(plan)[0])
    assert "**cost \\$5\\$ \\& \\$\\$x\\$\\$**" in md and "gpu \\$a\\$" in md
