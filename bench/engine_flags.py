"""Snapshots of the serving engines' own flags, for `dagc launch`'s tests; and the engines' parsers run
on dagc's commands.

Run where the engine is importable (CPU-only is enough: only its argument parser is built):

    python bench/engine_flags.py snapshot vllm      # writes dagc/data/engine_flags/vllm-<release>.json
    python bench/engine_flags.py snapshot sglang    # writes dagc/data/engine_flags/sglang-<release>.json
    python bench/engine_flags.py parse vllm COMMANDS.json   # each argv parsed by the engine; a JSON summary

A snapshot holds every option of the engine's server command (its type, choices, whether it takes a
value, its other spellings), the deprecated ones, and the checks that tie flags together which the
engine's source states and dagc's commands must satisfy (read out of the source where a pattern finds
them, each with the file it is in). TensorRT-LLM does not install without NVIDIA's package index: its
snapshot (`trtllm-<release>.json`) is written by hand from its source (`tensorrt_llm/commands/serve.py`,
`tensorrt_llm/llmapi/llm_args.py`), and says so. vLLM needs `VLLM_TARGET_DEVICE=cpu` on a machine
without GPUs; this script sets it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent.parent / "dagc" / "data" / "engine_flags"


def _type_name(action) -> str | None:
    if action.nargs == 0:
        return None
    t = action.type
    if t in (int, float, str):
        return t.__name__
    if t is None:
        return "str"
    name = getattr(t, "__name__", type(t).__name__)
    return {"optional_type": "str"}.get(name, name)


def _flags(parser) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for a in parser._actions:
        if not a.option_strings or a.dest == "help":
            continue
        deprecated = type(a).__name__.startswith("Deprecated") or bool(getattr(a, "deprecated", False)) or \
            (a.help or "").lstrip().lower().startswith("deprecated")
        entry = {"dest": a.dest, "takes_value": a.nargs != 0, "type": _type_name(a),
                 "choices": sorted(map(str, a.choices)) if a.choices else None,
                 "deprecated": deprecated, "spellings": sorted(a.option_strings)}
        for s in a.option_strings:
            out[s] = entry
    return dict(sorted(out.items()))


def _vllm_parser():
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    from vllm.entrypoints.common.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser
    return make_arg_parser(FlexibleArgumentParser())


def _sglang_parser():
    from sglang.srt.server_args import ServerArgs
    p = argparse.ArgumentParser(prog="sglang.launch_server", allow_abbrev=False)
    ServerArgs.add_cli_args(p)
    return p


def _source(module: str, rel: str) -> str:
    root = Path(importlib.import_module(module).__file__).parent
    return (root / rel).read_text(encoding="utf-8")


def _vllm_checks() -> list[dict]:
    text = _source("vllm", "config/vllm.py")
    # the non-ROCm branch of `if self.parallel_config.use_ubatching:` lists the backends DBO runs with
    m = re.search(r"# CUDA and other platforms\.\s*supported_backends = \[([^\]]*)\]", text)
    backends = re.findall(r'"([a-z_0-9]+)"', m.group(1)) if m else []
    return [{"flag": "--enable-dbo", "requires": {"--all2all-backend": backends},
             "source": "vllm/config/vllm.py (VllmConfig.__post_init__: microbatching's supported_backends)"},
            {"flag": "--enable-eplb", "requires": {"--enable-expert-parallel": True},
             "source": "vllm/config/parallel.py (ParallelConfig._validate_parallel_config)"},
            {"flag": "--disable-chunked-prefill", "requires": "--max-num-batched-tokens at least --max-model-len",
             "source": "vllm/config/scheduler.py (SchedulerConfig.verify_max_model_len)"},
            {"flag": "--decode-context-parallel-size", "rule": "with --prefill-context-parallel-size C > 1, "
             "DCP is 1, C or TP × C", "source": "vllm/config/parallel.py (_validate_parallel_config)"},
            {"env": "VLLM_RAY_DP_PACK_STRATEGY", "choices": ["fill", "span", "strict"],
             "rule": "a data-parallel rank spanning nodes under Ray needs `span`",
             "source": "vllm/v1/engine/utils.py (CoreEngineActorManager placement groups)"}]


def _sglang_checks() -> list[dict]:
    text = _source("sglang", "srt/server_args.py")
    zmq = re.search(r"ZMQ_TCP_PORT_DELTA = (\d+)", text)
    hand = re.search(r"DP_ATTENTION_HANDSHAKE_PORT_DELTA = (\d+)", text)
    derived = re.search(r"NUM_DERIVED_PORTS = (\d+)", text)
    return [{"ports": {"zmq_tcp_port_delta": int(zmq.group(1)) if zmq else None,
                       "dp_attention_handshake_port_delta": int(hand.group(1)) if hand else None,
                       "num_derived_ports": int(derived.group(1)) if derived else None},
             "rule": "with attention DP a server on HTTP port H binds H+delta (distributed init) and the derived ports "
                     "above it, and H+handshake; with --dist-init-addr HOST:Q, Q and the ports above it",
             "source": "python/sglang/srt/server_args.py (PortArgs.init_new)"},
            {"flag": "--enable-two-batch-overlap", "requires": "--moe-a2a-backend other than none, or --attn-dp-size "
             "above 1", "source": "python/sglang/srt/arg_groups/validation_hook.py (check_two_batch_overlap)"},
            {"flag": "--moe-a2a-backend", "rule": "deepep sets --ep-size to --tp-size",
             "source": "python/sglang/srt/arg_groups/overrides.py (_a2a_ep_size)"},
            {"flag": "--host", "default": "127.0.0.1", "source": "python/sglang/srt/arg_groups/fields/serving.py"}]


def snapshot(engine: str) -> Path:
    """Write the snapshot of `engine` (vllm or sglang) into dagc/data/engine_flags/; its path."""
    module = importlib.import_module(engine)
    release = getattr(module, "__version__", "unknown")
    parser = _vllm_parser() if engine == "vllm" else _sglang_parser()
    command = "vllm serve MODEL" if engine == "vllm" else "python -m sglang.launch_server"
    flags = _flags(parser)
    data = {"engine": engine, "release": release, "command": command,
            "how": f"read from {engine} {release}'s own argument parser by bench/engine_flags.py",
            "abbreviations": False, "flags": flags,
            "deprecated": sorted(k for k, v in flags.items() if v["deprecated"]),
            "checks": _vllm_checks() if engine == "vllm" else _sglang_checks()}
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{engine}-{release}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path


def _engine_args(engine: str, argv: list[str]) -> list[str] | None:
    if engine == "vllm":
        return argv[2:] if argv[:2] == ["vllm", "serve"] else None
    if "sglang.launch_server" in argv:
        return argv[argv.index("sglang.launch_server") + 1:]
    return None


def parse(engine: str, commands_file: str) -> int:
    """Parse every argv of COMMANDS.json (a list of {"name", "argv"}) with the engine's own parser
    (abbreviations off); print a JSON summary; 0 when every one parsed and passed the checks."""
    parser = _vllm_parser() if engine == "vllm" else _sglang_parser()
    parser.exit_on_error = False
    items = json.loads(Path(commands_file).read_text(encoding="utf-8"))
    failures, parsed = [], 0
    for item in items:
        args = _engine_args(engine, item["argv"])
        if args is None:
            continue
        try:
            ns, extra = parser.parse_known_args(args)
            if extra:
                raise ValueError(f"not flags of {engine}: {extra}")
            _engine_checks(engine, ns)
            parsed += 1
        except (Exception, SystemExit) as exc:     # noqa: BLE001 - every failure is reported, none stops the run
            failures.append({"name": item["name"], "error": f"{type(exc).__name__}: {exc}"})
    release = getattr(importlib.import_module(engine), "__version__", "unknown")
    print(json.dumps({"engine": engine, "release": release, "parsed": parsed, "failures": failures}))
    return 1 if failures else 0


def _engine_checks(engine: str, ns) -> None:
    if engine == "vllm":
        if ns.enable_dbo:
            allowed = _vllm_checks()[0]["requires"]["--all2all-backend"]
            if ns.all2all_backend not in allowed:
                raise ValueError(f"--enable-dbo with --all2all-backend {ns.all2all_backend} (vLLM wants {allowed})")
        if ns.enable_chunked_prefill is False and (ns.max_num_batched_tokens or 0) < (ns.max_model_len or 0):
            raise ValueError(f"--disable-chunked-prefill with --max-num-batched-tokens {ns.max_num_batched_tokens} "
                             f"below --max-model-len {ns.max_model_len} (SchedulerConfig.verify_max_model_len)")
        from vllm.config.parallel import ParallelConfig
        ParallelConfig(tensor_parallel_size=ns.tensor_parallel_size, pipeline_parallel_size=ns.pipeline_parallel_size,
                       data_parallel_size=ns.data_parallel_size,
                       prefill_context_parallel_size=ns.prefill_context_parallel_size,
                       decode_context_parallel_size=ns.decode_context_parallel_size,
                       enable_expert_parallel=ns.enable_expert_parallel, all2all_backend=ns.all2all_backend,
                       enable_dbo=ns.enable_dbo)
        return
    if ns.enable_dp_attention:
        raise ValueError("--enable-dp-attention is deprecated")
    if ns.enable_two_batch_overlap and ns.moe_a2a_backend in (None, "none") and ns.attn_dp_size <= 1:
        raise ValueError("--enable-two-batch-overlap without an EP all-to-all backend nor attention DP")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("snapshot", help="write the engine's flag snapshot into dagc/data/engine_flags/")
    s.add_argument("engine", choices=("vllm", "sglang"))
    q = sub.add_parser("parse", help="parse dagc's commands with the engine's own parser")
    q.add_argument("engine", choices=("vllm", "sglang"))
    q.add_argument("commands", help="a JSON list of {name, argv}")
    args = p.parse_args(argv)
    if args.what == "snapshot":
        print(snapshot(args.engine))
        return 0
    return parse(args.engine, args.commands)


if __name__ == "__main__":
    sys.exit(main())
