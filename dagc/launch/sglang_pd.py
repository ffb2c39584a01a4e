"""SGLang's disaggregated serving for `dagc launch` (`dagc.launch.pools`): each role's
settings, the KV transfer backend and the router.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..plan.workload import PoolRole
from .degrees import BASE_PORT, Placement
from .launch import Command, GeneratedFile
from .pools import ROUTER_PORT, PdTable, PoolServer

__all__ = ["PD", "PD_FLAGS", "PORT_STRIDE", "ROUTER_FLAGS", "bootstrap_port", "http_port"]

PORT_STRIDE = 250         # between the HTTP ports of two servers on a node (`http_port`)


def http_port(p: Placement) -> int:
    """The HTTP port of the server of `p`: the k-th server on a node (p.port = 8000 + k) takes
    8000 + 250·k. A server on port H also binds H + 13 and H + 233 … H + 239 (with attention DP:
    `ZMQ_TCP_PORT_DELTA` = 233 and `DP_ATTENTION_HANDSHAKE_PORT_DELTA` = 13 in
    python/sglang/srt/server_args.py of 0.5.23), so servers 250 apart never share a port.

    Example:
        >>> from dagc.launch.degrees import Placement
        >>> [http_port(Placement(k, range(0, 1), range(k, k + 1), 8000 + k)) for k in range(3)]
        [8000, 8250, 8500]
    """
    return BASE_PORT + PORT_STRIDE * (p.port - BASE_PORT)


# Disaggregated serving (dagc.launch.pools), SGLang 0.5.23 and its router: each server's role
# (`--disaggregation-mode`, python/sglang/srt/arg_groups/fields/disagg.py), the KV transfer backend
# (`--disaggregation-transfer-backend`, choices mooncake, nixl, ascend, fake, mori, mooncake_tcp;
# default mooncake), the prefill server's bootstrap server (`--disaggregation-bootstrap-port`,
# default 8998, bound on `--host`: managers/disagg_service.py), `--host 0.0.0.0` since the router
# and the decode servers reach the prefill servers over the network. The router: sglang-router
# 0.3.2's `python -m sglang_router.launch_router --pd-disaggregation --prefill URL BOOTSTRAP_PORT
# … --decode URL …` (sglang_router/router_args.py; the spelling SGLang 0.5.23's own PD tests use,
# test/server_fixtures/disaggregation_fixture.py); a prefill URL without its bootstrap port means
# none to the router, so it is always written.
PD_VERSION = "SGLang 0.5.23 --disaggregation-mode, sglang-router 0.3.2"
TRANSFER_BACKEND = "mooncake"
BOOTSTRAP_PORT = 8998
PD_FLAGS = frozenset({"--disaggregation-mode", "--disaggregation-transfer-backend", "--disaggregation-bootstrap-port",
                      "--host"})
ROUTER_FLAGS = frozenset({"--pd-disaggregation", "--prefill", "--decode", "--host", "--port"})


def bootstrap_port(p: Placement) -> int:
    """A prefill server's bootstrap port: 8998 (SGLang's default) + 250 per server before it on its node;
    998 mod 250 = 248 lies outside every server's own ports mod 250 (0, 13, 233 … 239)."""
    return BOOTSTRAP_PORT + PORT_STRIDE * (p.port - BASE_PORT)


def _pd_flags(role: str, p: Placement) -> tuple[str, ...]:
    flags: tuple[str, ...] = ("--disaggregation-mode", role, "--disaggregation-transfer-backend", TRANSFER_BACKEND)
    if role == PoolRole.PREFILL:
        flags += ("--disaggregation-bootstrap-port", str(bootstrap_port(p)))
    return flags


def _router(prefill: Sequence[PoolServer], decode: Sequence[PoolServer], label: str, stem: str,
            file_dir: str | None) -> tuple[Command, list[GeneratedFile]]:
    argv = ["python", "-m", "sglang_router.launch_router", "--pd-disaggregation"]
    for s in prefill:
        argv += ["--prefill", s.url, str(bootstrap_port(s.placement))]
    for s in decode:
        argv += ["--decode", s.url]
    return Command(0, 0, (*argv, "--host", "0.0.0.0", "--port", str(ROUTER_PORT))), []


PD = PdTable(version=PD_VERSION, http_port=http_port, flags=_pd_flags, env=lambda server, node: (), router=_router,
             yaml=lambda role: "",
             notes=(f"KV transfer: --disaggregation-transfer-backend {TRANSFER_BACKEND}, SGLang's default (RDMA "
                    "through the Mooncake transfer engine; `nixl` is the other GPU-to-GPU backend SGLang offers, "
                    "`mooncake_tcp` the one without RDMA); each prefill server's bootstrap port is given to the "
                    "router beside its URL",))
