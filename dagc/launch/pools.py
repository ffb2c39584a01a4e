"""`dagc launch` of a disaggregated strategy (`prefill N < A > decode M < B >`, SPEC 11.3): both pools'
servers and the router that sends each request to a prefill server, then to a decode server.

Input: a `Plan`, a disaggregated `Strategy`, its `PooledCheck` (`dagc.verdict.pools`: each pool's
instance resolved into its layout) and an engine's tables — its `EngineTable` (the flags of one
strategy, reused for each pool's servers) and its `PdTable` (what disaggregation adds: each role's
flags, the KV transfer backend, the router). Output: a `Launch` whose commands are every server of
both pools and the router, or the located E7xx diagnostics of what the engine cannot run.

Where the servers run (`pool_places`): instances one after another in dagc's order, the prefill
pool first; an instance of a node or more starts on a node boundary (whole nodes), a smaller one
shares a node without crossing into the next. Inside an instance its whole-model replicas (`dp`)
are placed as a single strategy's (`dagc.launch.degrees.placements`), one server each. The k-th
server on a node gets slot k: each engine turns the slot into its ports so that no two servers
on a node share one. The router runs on node 0. E705: the pools do not fit the cluster's nodes
that way, or a pool has more servers than `dagc launch` lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from ..layout.pools import instance_starts
from ..plan.plan import Plan
from ..plan.strategy import Pool, Strategy
from ..rules.launch import engine_refusal
from ..serve.requests import length_limit
from ..verdict.pools import PooledCheck, PoolResult
from .addresses import address_note
from .degrees import BASE_PORT, Degrees, Placement, degrees, placements
from .kv_start import kv_start_refusal
from .launch import (
    Command,
    EngineTable,
    GeneratedFile,
    Launch,
    Setup,
    bare_text,
    engine_checkpoint,
    engine_split,
    field_span,
    model_flags,
    model_path,
    path_refusal,
    refusals_of,
    strategy_file_stem,
)
from .serving import Serving, serving

__all__ = ["MAX_POOL_SERVERS", "ROUTER_PORT", "SPECULATIVE_POOLS", "PdTable", "PoolServer", "launch_pooled",
           "pool_places", "pooled_refusals"]

MAX_POOL_SERVERS = 256     # servers of one pool whose commands `dagc launch` writes (the router lists each)
ROUTER_PORT = 7000         # the router's port on node 0: below every server's ports (8000 …) on any engine
# Why both pools' servers speculate alike: dagc's TPOT is the decode pool's with the draft's tokens, its prefill runs
# the draft's layer too, and each engine wants the same settings on both: SGLang sends the draft's hidden states
# from the prefill server to the decode server (sgl-project/sglang PR 7242), vLLM's NIXL handshake refuses prefill
# and decode servers whose model-based drafts differ (vllm-project/vllm PR 49230), and TensorRT-LLM's disaggregated
# configurations set `speculative_config` on its context and generation servers (NVIDIA/TensorRT-LLM PR 14391).
SPECULATIVE_POOLS = ("speculative decoding on both pools' servers, with the same settings: the decode pool's drafts "
                     "are what dagc's TPOT assumes, and the engine wants the prefill servers to draft alike (they "
                     "hand the draft's state over with the KV cache)")


@dataclass(frozen=True)
class PoolServer:
    """One server of a pool: its role, its instance, where it runs (`placement.port` = 8000 + its slot
    on its node) and the HTTP port its engine gives it."""

    role: str
    instance: int
    placement: Placement
    port: int
    d: Degrees

    @property
    def url(self) -> str:
        return f"http://$NODE{self.placement.head}_ADDR:{self.port}"


@dataclass(frozen=True)
class PdTable:
    """What disaggregated serving adds to one engine's flags (a module per engine holds its `PD`)."""

    version: str                                           # the release the flags and keys follow
    http_port: Callable[[Placement], int]                  # the engine's HTTP port of a server
    flags: Callable[[str, Placement], tuple[str, ...]]     # a server's flags of its role
    env: Callable[[PoolServer, int], tuple[tuple[str, str], ...]]   # its environment on a node
    # the router: (prefill servers, decode servers, strategy label, file stem, -o DIR) → its command and files
    router: Callable[[Sequence[PoolServer], Sequence[PoolServer], str, str, str | None],
                     tuple[Command, list[GeneratedFile]]]
    yaml: Callable[[str], str]                             # TensorRT-LLM: a role's YAML settings
    notes: tuple[str, ...]                                 # the KV transfer backend, and why


def pool_places(pools: Sequence[tuple[Pool, Degrees]], gpus_per_node: int
                ) -> list[list[list[Placement]]] | None:
    """Each pool's instances' servers, placed on the cluster's nodes (module docstring); None when a
    replica of a pool's instance straddles nodes (E701, said by `refusals_of`).

    Example:
        >>> from dagc.lang.load import load_plan_text
        >>> from dagc.verdict.check import check
        >>> p = load_plan_text('model preset "qwen3-30b-a3b" cluster { gpus = 24 gpu preset "h100-sxm" } '
        ...     'workload { batch = 64 prompt = 1024 generate = 128 serving = inflight } '
        ...     'strategy prefill 2 < tp 4 > decode 1 < tp 1 ; ep 8 >')
        >>> r = check(p)[0]
        >>> ds = [(x.pool, degrees(r.plan, x.pool.strategy, x.analysis.layout)) for x in r.pooled.pools]
        >>> [[(tuple(s.nodes), tuple(s.gpus), s.port) for i in pool for s in i] for pool in pool_places(ds, 8)]
        [[((0,), (0, 1, 2, 3), 8000), ((0,), (4, 5, 6, 7), 8001)], [((1,), (0, 1, 2, 3, 4, 5, 6, 7), 8000)]]
    """
    gpn = gpus_per_node
    sizes = [d.dp * d.replica_gpus for pool, d in pools for _ in range(pool.instances)]
    starts = iter(instance_starts(sizes, gpn))
    out: list[list[list[Placement]]] = []
    for pool, d in pools:
        own = placements(d)
        if own is None:
            return None
        size = d.dp * d.replica_gpus
        instances = []
        for _ in range(pool.instances):
            start = next(starts)
            shift = start % gpn if size < gpn else 0
            instances.append([replace(p, nodes=range(p.nodes.start + start // gpn, p.nodes.stop + start // gpn),
                                      gpus=range(p.gpus.start + shift, p.gpus.stop + shift)) for p in own])
        out.append(instances)
    # slots: the k-th server on a node takes port 8000 + k; a node with several servers shares it
    servers = [s for pool in out for inst in pool for s in inst]
    on_node: dict[int, int] = {}
    for s in servers:
        on_node[s.head] = on_node.get(s.head, 0) + 1
    seen: dict[int, int] = {}
    slotted = []
    for i, s in enumerate(servers):
        k = seen.get(s.head, 0)
        seen[s.head] = k + 1
        slotted.append(replace(s, replica=i, port=BASE_PORT + k, shares_node=on_node[s.head] > 1))
    it = iter(slotted)
    return [[[next(it) for _ in inst] for inst in pool] for pool in out]


def _e705(base: Launch, strategy: Strategy, message: str) -> Launch:
    diag = engine_refusal("E705", message, strategy.span_of("strategy"))
    return replace(base, refusals=(diag,), refused_at=("strategy",))


def _pool_degrees(plan: Plan, pooled: PooledCheck) -> list[tuple[Pool, Degrees]]:
    """Each pool and the degrees its servers are started with: its own strategy's, in its role; a pool's instance
    runs no mixed step, so the plan's chunked prefill setting is not its (no E730)."""
    return [(r.pool, replace(degrees(plan, r.pool.strategy, r.analysis.layout), role=r.pool.role, whole_prompts=None))
            for r in pooled.pools]


def pooled_refusals(plan: Plan, strategy: Strategy, pooled: PooledCheck, table: EngineTable,
                    pd_version: str = "") -> Launch:
    """What the engine of `table` refuses of a disaggregated strategy's degrees — a model path no command carries
    (E708), each pool's strategy it cannot express (its E7xx, named by the pool and located in it) — as a `Launch`
    with no commands. These read the pools' degrees only, never their memory: `dagc check` says them beside dagc's
    own errors of a pool (E402), as of an aggregated strategy (`dagc.launch.engine_check.refusals_on`)."""
    pools = _pool_degrees(plan, pooled)
    gpus = sum(r.gpus for r in pooled.pools)
    version = f"{table.version}; disaggregated: {pd_version}" if pd_version else table.version
    base = Launch(table.key, table.name, version, strategy.label, gpus, plan.cluster.gpus_per_host, len(pools),
                  model_path(plan))
    diags, at = [], []
    for r in path_refusal(base.model):
        diags.append(engine_refusal(r.code, r.message, field_span(plan, strategy, r.at)))
        at.append(r.at)
    found = [(pool, r) for pool, d in pools for r in refusals_of(table, d)]
    # a refusal every pool gets in the same words is the plan's (its checkpoint, GPU or memory share): said once
    every = {r for _, r in found if sum(x == r for _, x in found) == len(pools)}
    for pool, r in found:
        if r in every:
            if r.code not in {d.code for d in diags}:
                diags.append(engine_refusal(r.code, r.message, field_span(plan, strategy, r.at)))
                at.append(r.at)
            continue
        # EPLB (`with redundant R`) is written once, for the pools of ep > 1: the refusal points at it there
        span = field_span(plan, strategy if r.at == "redundant" else pool.strategy, r.at)
        diags.append(engine_refusal(r.code, f"{pool.role} pool: {r.message}", span))
        at.append(f"{pool.role}:{r.at}")
    return replace(base, refusals=tuple(diags), refused_at=tuple(at))


def launch_pooled(plan: Plan, strategy: Strategy, pooled: PooledCheck, table: EngineTable, pd: PdTable,
                  file_dir: str | None = None) -> Launch:
    """The commands that start a disaggregated strategy's pools and router on the engine of `table`
    and `pd`, or why it cannot: a pool's strategy the engine cannot express (its E7xx, named by the
    pool and located in it), or E705 (module docstring)."""
    gpn = plan.cluster.gpus_per_host          # the machines the commands start on (a GB200 rack's trays of 4)
    # each pool's servers speculate as the workload does: dagc's figures draft on both pools (the prefill pass runs
    # the draft's layer too, the decode steps verify its tokens), and each engine wants the same speculative
    # settings on the prefill and the decode servers (module docstring)
    pools = _pool_degrees(plan, pooled)
    base = pooled_refusals(plan, strategy, pooled, table, pd.version)
    diags, at = list(base.refusals), list(base.refused_at)
    for pr in pooled.pools:             # an instance whose KV cache its memory share leaves short does not start
        a = pr.analysis
        short = kv_start_refusal(a.plan, a.strategy, a.layout, table.key, a.memory)
        if short is not None:
            diags.append(replace(short, message=f"{pr.pool.role} pool: {short.message}"))
            at.append(f"{pr.pool.role}:workload")
    if diags:
        return replace(base, refusals=tuple(diags), refused_at=tuple(at))
    for pool, d in pools:
        if pool.instances * d.dp > MAX_POOL_SERVERS:
            return _e705(base, strategy, f"{table.name}: the {pool.role} pool has {pool.instances * d.dp:,} "
                         f"servers ({pool.instances:,} instances × dp {d.dp}); dagc launch writes at most "
                         f"{MAX_POOL_SERVERS} per pool")
    places = pool_places(pools, gpn)
    assert places is not None                # refusals_of says E701 otherwise
    last = max(s.gpus.stop - 1 + s.nodes[-1] * gpn for pool in places for inst in pool for s in inst)
    if last >= plan.cluster.gpus:
        return _e705(base, strategy, f"{table.name}: the pools' instances, each on whole nodes of {gpn} GPUs or "
                     f"inside one node (the prefill pool first), need {last + 1:,} GPUs; the cluster has "
                     f"{plan.cluster.gpus:,}")
    placed = [PlacedPool(pool, d, inst, _pool_serving(plan, r))
              for (pool, d), inst, r in zip(pools, places, pooled.pools, strict=True)]
    return _assemble(base, plan, strategy, table, pd, placed, file_dir)


@dataclass(frozen=True, slots=True)
class PlacedPool:
    """A pool, the degrees its servers are started with, and each instance's placements."""

    pool: Pool
    degrees: Degrees
    instances: list[list[Placement]]
    serving: Serving | None = None     # what dagc priced for the pool's instance: its serving flags


def _pool_serving(plan: Plan, r: PoolResult) -> Serving | None:
    """The serving figures of a pool's instance as dagc analysed it by itself (`dagc.verdict.pools`): its
    batch run statically in its role — a prefill instance its prefill batch at once, a decode instance the
    decode steps of its share of the batch — with the memory it priced, under the plan's memory requirement
    (judged on the deployment, so not in the instance's own plan)."""
    a = r.analysis
    v = serving(a.plan.model_copy(update={"requirements": plan.requirements}), r.pool.strategy, a.layout, a.memory)
    # every server takes the whole request (the router sends a prefill server the user's, its output length too)
    return replace(v, max_len=max(v.max_len, length_limit(plan.workload, plan.model.context_length)))


def _assemble(base: Launch, plan: Plan, strategy: Strategy, table: EngineTable, pd: PdTable,
              pools: Sequence[PlacedPool], file_dir: str | None) -> Launch:
    model = base.model
    ckpt = engine_checkpoint(plan, table.key, model)
    if ckpt.path is not None:
        model = replace(model, text=ckpt.path, placeholder=True)
    commands: list[Command] = []
    files: dict[str, GeneratedFile] = {}
    notes: list[str] = []
    by_role: dict[str, list[PoolServer]] = {}
    for placed in pools:
        pool, d = placed.pool, placed.degrees
        for i, inst in enumerate(placed.instances):
            for p in inst:
                server = PoolServer(pool.role, i, p, pd.http_port(p), d)
                by_role.setdefault(pool.role, []).append(server)
                setup = Setup(d, model, (p,), engine_split(table, d), f"{strategy.label} ({pool.role} pool)",
                              bare_text(pool.strategy), f"{strategy_file_stem(strategy)}-{pool.role}", file_dir,
                              placed.serving, (*ckpt.flags, *model_flags(plan, table.key), *pd.flags(pool.role, p)),
                              pd.yaml(pool.role), checkpoint=ckpt)
                cmds, fs, ns = table.commands(setup)
                commands += [replace(c, env=(*c.env, *pd.env(server, c.node))) if _serves(c) else c for c in cmds]
                files.update((f.name, f) for f in fs)
                notes += [f"{pool.role} pool: {n}" for n in ns if f"{pool.role} pool: {n}" not in notes]
    router, router_files = pd.router(by_role["prefill"], by_role["decode"], strategy.label,
                                     strategy_file_stem(strategy), file_dir)
    files.update((f.name, f) for f in router_files)
    nodes = 1 + max(s.placement.nodes[-1] for servers in by_role.values() for s in servers)
    counts = "; ".join(f"{role}: {len(servers):,} server{'s' if len(servers) > 1 else ''} "
                       f"({pool.instances:,} instance{'s' if pool.instances > 1 else ''} of `{pool.strategy.text}`)"
                       for pool, (role, servers) in zip((p.pool for p in pools), by_role.items(), strict=True))
    notes = [*ckpt.notes,
             f"disaggregated: {counts}; the router on node 0 (port {ROUTER_PORT}) sends each request to a prefill "
             "server, then its KV cache to a decode server", *pd.notes, *notes,
             "each pool's serving flags (requests in flight, step tokens, memory share) are those of its instance "
             "as dagc analyses it by itself: a prefill instance prefills its batch of whole prompts at once, a "
             "decode instance runs the decode steps of its share of the batch",
             *([SPECULATIVE_POOLS] if plan.workload.speculative else []),
             *address_note(["$NODE"], _hosts(plan))]
    return replace(base, commands=(*commands, router), files=tuple(files.values()), notes=tuple(notes),
                   pool_nodes=nodes)


def _serves(c: Command) -> bool:
    """Whether the command starts an engine's server (not `ray start`, nor a node's part of mpirun)."""
    return c.argv[:1] != ("ray",)


def _hosts(plan: Plan) -> int | None:
    """The GPUs of a host where a node's NVLink domain spans several (GB200's trays of 4: the pools' `$NODE<k>` are
    hosts; until 2026-12-03 their note said "node k holds dagc's GPUs k·gpus_per_node", 72·k), else None."""
    c = plan.cluster
    return c.gpus_per_host if c.gpus_per_host != c.gpus_per_node else None
