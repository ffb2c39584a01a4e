"""TensorRT-LLM's disaggregated serving for `dagc launch` (`dagc.launch.pools`): each role's
settings, the KV transfer backend and the router.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

from .launch import OWN_HEADER_END, Command, GeneratedFile
from .pools import ROUTER_PORT, PdTable, PoolServer

__all__ = ["DISAGG_KEYS", "PD", "PD_FLAGS", "PD_YAML_KEYS", "ROUTER_FLAGS", "disagg_yaml"]

# Disaggregated serving (dagc.launch.pools), TensorRT-LLM 1.2: context and generation servers are
# `trtllm-serve` servers whose YAML has `cache_transceiver_config.backend` (llmapi/llm_args.py
# `CacheTransceiverConfig`: DEFAULT, UCX, NIXL, MPI; without a backend the transceiver is off, and
# DEFAULT means NIXL: _torch/pyexecutor/kv_cache_transceiver.py), listening on `--host 0.0.0.0`
# (serve.py; default localhost). `trtllm-serve disaggregated -c FILE` (serve.py) reads FILE with
# llmapi/disagg_utils.py `extract_disagg_cfg`: `hostname`, `port`, `context_servers` and
# `generation_servers`, each with `num_instances` and `urls` ("host:port", as many as instances:
# one per server) and the servers' LLM arguments (`tensor_parallel_size`, `pipeline_parallel_size`,
# `moe_expert_parallel_size`, `enable_attention_dp`; `context_parallel_size` for a Helix pool, as the Helix test
# of tests/integration/defs/accuracy/test_disaggregated_serving.py writes it), which disagg_utils keeps beside each
# URL.
PD_VERSION = "TensorRT-LLM 1.2 trtllm-serve disaggregated"
CACHE_BACKEND = "NIXL"
PD_FLAGS: frozenset[str] = frozenset()
ROUTER_FLAGS = frozenset({"-c"})
PD_YAML_KEYS = frozenset({"cache_transceiver_config.backend"})
DISAGG_KEYS = frozenset({"hostname", "port", "context_servers", "generation_servers", "num_instances", "urls",
                         "tensor_parallel_size", "pipeline_parallel_size", "context_parallel_size",
                         "moe_expert_parallel_size", "enable_attention_dp"})
_SECTIONS = {"prefill": "context_servers", "decode": "generation_servers"}


def _servers_yaml(role: str, servers: Sequence[PoolServer]) -> list[str]:
    d = servers[0].d
    # the servers' own --tp_size and --cp_size (world = tp × pp × cp): a Helix pool's stage of G GPUs is G / cp × cp
    lines = [f"{_SECTIONS[role]}:", f"  num_instances: {len(servers)}",
             f"  tensor_parallel_size: {d.group // d.cp}", f"  pipeline_parallel_size: {d.pp}",
             *([f"  context_parallel_size: {d.cp}"] if d.cp > 1 else [])]
    if d.has_experts:
        lines.append(f"  moe_expert_parallel_size: {d.ep}")
    lines += [f"  enable_attention_dp: {'true' if d.adp > 1 else 'false'}", "  urls:"]
    return lines + [f'    - "$NODE{s.placement.head}_ADDR:{s.port}"' for s in servers]


def disagg_yaml(prefill: Sequence[PoolServer], decode: Sequence[PoolServer], label: str) -> str:
    """The YAML of `trtllm-serve disaggregated -c`: the router's address and both pools' servers."""
    label = " ".join(label.split())
    lines = [f"# TensorRT-LLM 1.2 disaggregated server for strategy `{label}` {OWN_HEADER_END}",
             "# num_instances counts servers (a pool's instances × their dp); the router's script writes the",
             "# nodes' addresses for $NODE<k>_ADDR into a copy it starts on (by hand: e.g. envsubst)",
             "hostname: 0.0.0.0", f"port: {ROUTER_PORT}", *_servers_yaml("prefill", prefill),
             *_servers_yaml("decode", decode)]
    return "".join(line + "\n" for line in lines)


def _router(prefill: Sequence[PoolServer], decode: Sequence[PoolServer], label: str, stem: str,
            file_dir: str | None) -> tuple[Command, list[GeneratedFile]]:
    name = f"trtllm-{stem}-disagg.yml"
    path = posixpath.join(file_dir, name) if file_dir else name
    return Command(0, 0, ("trtllm-serve", "disaggregated", "-c", path)), [
        GeneratedFile(name, disagg_yaml(prefill, decode, label))]


PD = PdTable(version=PD_VERSION, http_port=lambda p: p.port, flags=lambda role, p: (),
             env=lambda server, node: (), router=_router,
             yaml=lambda role: f"cache_transceiver_config:\n  backend: {CACHE_BACKEND}\n",
             notes=(f"KV transfer: cache_transceiver_config backend {CACHE_BACKEND} in both pools' YAML, "
                    "what TensorRT-LLM's DEFAULT resolves to (NIXL over UCX; UCX and MPI are the others); the "
                    "context and generation servers are trtllm-serve with that YAML, the disaggregated server reads "
                    "their URLs from its own YAML",))
