"""Build the plan parser's LALR tables into dagc/data/plan_parser.pickle (`dagc.lang.parse.PARSER_PATH`).

Usage: python bench/make_parser.py

Lark takes about 0.1 s to build them from grammar/plan.lark, a tenth of a `dagc check`; loading
them takes a few milliseconds. The file starts with `dagc.lang.parse.parser_header` — the grammar's
SHA-256 and Lark's version — and dagc uses it only when both match its own (else it builds the
parser from the grammar, as before). Run this after changing the grammar: tests/test_parse.py
fails while the shipped tables are of another grammar. Two runs may write different bytes (Lark
orders some of its tables by sets of objects); the test compares what they parse, not the bytes.
"""

from __future__ import annotations

import io
import sys

from dagc.lang.parse import GRAMMAR_PATH, PARSER_PATH, build_parser, parser_header


def main() -> None:
    grammar = GRAMMAR_PATH.read_text()
    body = io.BytesIO()
    build_parser(grammar).save(body)
    PARSER_PATH.write_bytes(parser_header(grammar) + body.getvalue())
    sys.stdout.write(f"wrote {PARSER_PATH} ({PARSER_PATH.stat().st_size:,} bytes)\n")


if __name__ == "__main__":
    main()
