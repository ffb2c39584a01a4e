"""vLLM's disaggregated serving for `dagc launch` (`dagc.launch.pools`): each server's KV transfer
settings and environment, and the router.
"""

from __future__ import annotations

from collections.abc import Sequence

from .launch import Command, GeneratedFile
from .pools import ROUTER_PORT, PdTable, PoolServer

__all__ = ["PD", "PD_ENV", "PD_FLAGS", "ROUTER_FLAGS"]

# Disaggregated serving (dagc.launch.pools), vLLM 0.33.0 with its NIXL connector and vllm-router:
# `--kv-transfer-config` is `KVTransferConfig` (vllm/config/kv_transfer.py: `kv_connector`, the
# connector's registered name, `NixlConnector` in distributed/kv_transfer/kv_connector/factory.py;
# `kv_role` one of kv_producer, kv_consumer, kv_both, required with a connector). The connector's
# handshake listener binds VLLM_NIXL_SIDE_CHANNEL_HOST (default localhost) on
# VLLM_NIXL_SIDE_CHANNEL_PORT (default 5600) + the engine's data-parallel index
# (vllm/envs.py; distributed/kv_transfer/kv_connector/v1/nixl/base_scheduler.py), and a decode
# server connects to the host the prefill server names: each server is given its node's address,
# and servers sharing a node ports apart by their first GPU. The router: vllm-router 0.1.17
# (`vllm-router --vllm-pd-disaggregation --kv-connector nixl --prefill URL … --decode URL …`,
# vllm_router/router_args.py).
PD_VERSION = "vLLM 0.33.0 NixlConnector, vllm-router 0.1.17"
KV_TRANSFER_CONFIG = '{"kv_connector":"NixlConnector","kv_role":"kv_both"}'
NIXL_PORT = 5600
PD_FLAGS = frozenset({"--kv-transfer-config"})
PD_ENV = frozenset({"VLLM_NIXL_SIDE_CHANNEL_HOST", "VLLM_NIXL_SIDE_CHANNEL_PORT"})
ROUTER_FLAGS = frozenset({"--vllm-pd-disaggregation", "--kv-connector", "--prefill", "--decode", "--host", "--port"})


def _pd_env(server: PoolServer, node: int) -> tuple[tuple[str, str], ...]:
    return (("VLLM_NIXL_SIDE_CHANNEL_HOST", f"$NODE{node}_ADDR"),
            ("VLLM_NIXL_SIDE_CHANNEL_PORT", str(NIXL_PORT + server.placement.gpus[0])))


def _router(prefill: Sequence[PoolServer], decode: Sequence[PoolServer], label: str, stem: str,
            file_dir: str | None) -> tuple[Command, list[GeneratedFile]]:
    argv = ["vllm-router", "--vllm-pd-disaggregation", "--kv-connector", "nixl"]
    for s in prefill:
        argv += ["--prefill", s.url]
    for s in decode:
        argv += ["--decode", s.url]
    return Command(0, 0, (*argv, "--host", "0.0.0.0", "--port", str(ROUTER_PORT))), []


PD = PdTable(version=PD_VERSION, http_port=lambda p: p.port, flags=lambda role, p: ("--kv-transfer-config",
                                                                                     KV_TRANSFER_CONFIG),
             env=_pd_env, router=_router, yaml=lambda role: "",
             notes=("KV transfer: vLLM's NixlConnector with kv_role kv_both on both pools, as vLLM documents its "
                    "NIXL disaggregated serving (the decode server pulls the KV cache from the prefill server over "
                    "NIXL, UCX underneath; vllm-router pairs them); VLLM_NIXL_SIDE_CHANNEL_HOST is the node's "
                    "address, since the listener binds it and the decode servers connect to it",))
