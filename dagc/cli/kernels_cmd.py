"""`dagc kernels import --system S --engine E [--release R] -o FILE` and `dagc kernels list`: engine-measured
kernel tables of the optional extra `dagc[engines]` (aiconfigurator-core) as a dagc kernel profile
(`dagc.kernels.engine_import`, docs/kernels.md), which `cluster { kernels from "FILE" }` reads.

Exit codes: 0 written (or listed: `list` without the extra lists the built-in profiles and says how to install
it); 2 usage error; 4 an unknown system, engine or release, or `import` without the extra (the message says which
exist, or how to install it); 5 FILE not written (it exists and is not replaced without --force, or cannot be
written).
"""

from __future__ import annotations

import argparse
import sys
from typing import TypeVar

from ..exit_codes import EXIT_INPUT, EXIT_OK, EXIT_OUTPUT
from .output_file import output_refused, write_beside

__all__ = ["add_parser"]

EPILOG = """\
examples:
  pip install -e '.[engines]'        # in dagc's checkout: the optional extra
  dagc kernels list
  dagc kernels import --system h200_sxm --engine trtllm -o h200-trtllm.json
  # then in the plan: cluster { gpus = 8  gpu preset "h200"  kernels from "h200-trtllm.json" }
"""


ENGINE_HEADING = 'engine kernel tables (cluster { kernels = "ENGINE:SYSTEM[@RELEASE]" }, `dagc kernels import`)'

_P = TypeVar("_P", bound=argparse.ArgumentParser)   # the CLI's parser class

def add_parser(subparsers: argparse._SubParsersAction[_P]) -> _P:
    """Add `dagc kernels` to the CLI's subparsers."""
    p = subparsers.add_parser("kernels", help="make a kernel profile from engine-measured tables (the extra `engines`)",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="kernels_command", required=True, metavar="{import,list}")
    imp = sub.add_parser("import", help="convert one system, engine and release into a profile file",
                         epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    imp.add_argument("--system", required=True, help="an aiconfigurator system, e.g. h200_sxm (see `list`)")
    imp.add_argument("--engine", required=True, choices=("trtllm", "sglang", "vllm"),
                     help="the engine whose measured tables to convert")
    imp.add_argument("--release", default=None, help="the engine release (default: the newest with tables)")
    imp.add_argument("-o", "--output", required=True, metavar="FILE", help="the profile file to write")
    imp.add_argument("--force", action="store_true", help="replace FILE when it exists (a regular file only)")
    imp.set_defaults(func=cmd_import)
    ls = sub.add_parser("list", help="the built-in kernel profiles, and the systems, engines and releases the "
                        "installed engine tables hold",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    ls.set_defaults(func=cmd_list)
    return p


def cmd_list(args: argparse.Namespace) -> int:
    """The built-in kernel profiles (`dagc presets`' table), then the engine tables the optional extra holds, or a
    note that they need it: listing what is installed is not an input error when the extra is not (until 2026-12-02
    it was one, exit 4)."""
    from ..kernels.engine_import import EngineImportError, MissingExtraError, available, data_root
    from .builtin_text import preset_tables
    from .print_presets import PRESET_COLUMNS
    from .printing import make_console
    from .tables import print_fitted
    console = make_console()
    title = next(t for t in PRESET_COLUMNS if t.startswith("kernel profiles"))
    print_fitted(console, title, PRESET_COLUMNS[title], preset_tables()[2])
    console.print(ENGINE_HEADING, markup=False)
    try:
        found = available(data_root())
    except MissingExtraError as exc:
        console.print(f"  none installed: {exc}", markup=False)
        return EXIT_OK
    except EngineImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    for system, engines in found.items():
        console.print("  " + system + ": " + "; ".join(f"{e} {', '.join(r)}" for e, r in engines.items()),
                      markup=False)
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    import json

    from ..kernels.engine_import import EngineImportError, import_profile
    target = args.output
    if (refused := output_refused(target, args.force)) is not None:
        print(refused, file=sys.stderr)
        return EXIT_OUTPUT
    try:
        doc = import_profile(args.system, args.engine, args.release)
    except EngineImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    if (why := write_beside(target, json.dumps(doc, separators=(",", ":")), ".dagc-profile-")) is not None:
        print(f"error: cannot write {target}: {why}", file=sys.stderr)
        return EXIT_OUTPUT
    tables = ", ".join(f"{k} {len(v):,}" for k, v in doc["tables"].items())
    print(f"wrote {target}: profile `{doc['name']}` ({doc['provenance']['source']}); rows: {tables}")
    return EXIT_OK
