"""Every command `dagc launch` writes, checked against the engines' flag snapshots
(dagc/data/engine_flags/, written by bench/engine_flags.py from the engines' own parsers), without
the engines installed: no flag absent from the snapshot, no deprecated name, values of the right type
and among the choices, the checks that tie flags together; TensorRT-LLM's YAML keys against its
LlmArgs model. Also: model paths the shell or a parser could misread, ports of servers sharing a
node, node address placeholders."""

from __future__ import annotations

import json
import re
import shlex
from functools import cache
from pathlib import Path

from dagc.lang.load import load_plan, load_plan_text
from dagc.launch.checkpoint import safe_path
from dagc.launch.engines import ENGINES, launch_result
from dagc.verdict.check import check
from conftest import EXAMPLES, checked_example, plan_text

SNAPSHOTS = Path(__file__).resolve().parent.parent / "dagc" / "data" / "engine_flags"
RELEASES = {"vllm": "vllm-0.33.0.json", "sglang": "sglang-0.5.23.json", "trtllm": "trtllm-1.2.json"}
QWEN = 'model preset "qwen3-30b-a3b"'
DSV3 = 'model preset "deepseek-v3"'
C = 'cluster {{ gpus = {n}  gpus_per_node = 8  gpu preset "h100-sxm" }}'
H200 = 'cluster {{ gpus = {n}  gpus_per_node = 8  gpu preset "h200" }}'
LONG = "workload { batch = 64  prompt = 8192  generate = 256 }"
INFLIGHT = "workload { batch = 250  prompt = 2000  generate = 500  serving = inflight  chunk = 4096 }"
WHOLE = ("workload { batch = 250  prompt = 2000  generate = 500  serving = inflight  chunk = 4096  "
         "chunked_prefill = off }")
SPEC = ("workload {{ batch = 64  prompt = 1024  generate = 128 "
        "speculative {{ method = {m}  tokens = 2  acceptance = 0.7 }} }}")

# every strategy family the mappings know, on plans small enough to check quickly
FAMILIES = [
    dict(strategy="strategy tp 8"), dict(model=QWEN, strategy="strategy tp 1 ; ep 8"),
    dict(strategy="strategy tp 2 ; ep 8"), dict(strategy="strategy tp 8 ; ep 4 etp 2"),
    dict(cluster=C.format(n=16), strategy="strategy pp 2 < tp 8 >"),
    dict(strategy="strategy pp 4 [10, 8, 8, 6] < tp 2 >"), dict(strategy="strategy dp 2 < tp 4 >"),
    dict(model=QWEN, strategy="strategy dp 2 < tp 1 ; ep 4 >"),
    dict(model=QWEN, cluster=C.format(n=16), strategy="strategy tp 1 ; ep 16"),
    dict(model=QWEN, cluster=C.format(n=16), strategy="strategy tp 2 ; ep 16"),
    dict(model=QWEN, cluster=C.format(n=32), strategy="strategy dp 2 < pp 2 < tp 8 ; ep 8 > >"),
    dict(model=QWEN, cluster=C.format(n=16), strategy="strategy tp 4 ; ep 16 with overlap microbatch"),
    dict(workload=LONG, strategy="strategy tp 2 cp 4 ; ep 8"),
    dict(model=QWEN, strategy="strategy tp 1 ; ep 8 with overlap microbatch"),
    dict(model=QWEN, workload=INFLIGHT, strategy="strategy tp 1 ; ep 8"),
    # chunked prefill off: vLLM --disable-chunked-prefill, SGLang --chunked-prefill-size -1, TensorRT-LLM's YAML false
    dict(model=QWEN, workload=WHOLE, strategy="strategy tp 1 ; ep 8"),
    dict(model=QWEN, cluster=C.format(n=16), workload=WHOLE, strategy="strategy pp 2 < tp 8 ; ep 8 >"),
    dict(model='model preset "qwen3-30b-a3b" { weights = fp8  kv_cache = fp8 }', strategy="strategy tp 1 ; ep 8"),
    dict(model=DSV3, cluster=H200.format(n=16), workload=SPEC.format(m="mtp"), strategy="strategy tp 1 ; ep 16"),
    dict(model=QWEN, workload=SPEC.format(m="eagle"), strategy="strategy tp 1 ; ep 8"),
    dict(model=QWEN, workload=SPEC.format(m="ngram"), strategy="strategy tp 8 ; ep 8"),
    dict(model=DSV3, cluster=H200.format(n=32), strategy="strategy tp 1 ; ep 32 with redundant 32"),
    dict(model='model preset "kimi-k2"', cluster=H200.format(n=32), strategy="strategy tp 1 ; ep 32"),
    # Helix where TensorRT-LLM runs it: an MLA model's decode pool on Blackwell (its YAML's block sizes)
    dict(model=DSV3, cluster='cluster { gpus = 16  gpus_per_node = 8  gpu preset "b200" }',
         workload="workload { batch = 64  prompt = 8000  generate = 400  serving = inflight }",
         strategy="strategy prefill 1 < tp 8 ; ep 8 > decode 1 < tp 4 cp 2 ; ep 8 >"),
]


@cache
def snapshot(engine: str) -> dict:
    return json.loads((SNAPSHOTS / RELEASES[engine]).read_text(encoding="utf-8"))


@cache
def _results() -> list:
    out = []
    for path in sorted(EXAMPLES.glob("*.moe")):
        out += [r for r in checked_example(path.name) if r.valid]
    for parts in FAMILIES:
        out += [r for r in check(load_plan_text(plan_text(**parts))) if r.valid]
    return out


@cache
def _launches() -> list:
    return [x for r in _results() for x in launch_result(r) if x.ok]


def _engine_args(engine: str, argv: tuple[str, ...]) -> list[str] | None:
    """The words a command hands the engine's own parser (after the program and, for vLLM and
    TensorRT-LLM, the model), or None for a command that does not start a server (ray, a router)."""
    if engine == "vllm" and "vllm" in argv and argv[argv.index("vllm") + 1:][:1] == ("serve",):
        return list(argv[argv.index("vllm") + 3:])
    if engine == "sglang" and "sglang.launch_server" in argv:
        return list(argv[argv.index("sglang.launch_server") + 1:])
    if engine == "trtllm" and "trtllm-serve" in argv and argv[argv.index("trtllm-serve") + 1] != "disaggregated":
        return list(argv[argv.index("trtllm-serve") + 2:])
    return None


def _parse(engine: str, words: list[str]) -> dict[str, str | None]:
    """The flags of `words` by the snapshot: every flag known, not deprecated, its value typed."""
    flags = snapshot(engine)["flags"]
    out: dict[str, str | None] = {}
    it = iter(words)
    for w in it:
        assert w.startswith("-"), f"{engine}: a stray word {w!r} in {words}"
        assert w in flags, f"{engine} {snapshot(engine)['release']}: no flag {w}"
        spec = flags[w]
        assert not spec["deprecated"], f"{engine}: {w} is deprecated"
        value = next(it) if spec["takes_value"] else None
        if value is not None:
            if spec["type"] == "int":
                int(value)
            elif spec["type"] == "float":
                float(value)
            if spec["choices"]:
                assert value in spec["choices"], f"{engine}: {w} {value} not among {spec['choices']}"
        out[spec["dest"]] = value if spec["takes_value"] else w     # a switch: the spelling written
    return out


def _checks(engine: str, flags: dict[str, str | None]) -> None:
    if engine == "vllm" and "enable_dbo" in flags:
        dbo = next(c for c in snapshot("vllm")["checks"] if c.get("flag") == "--enable-dbo")
        assert flags.get("all2all_backend") in dbo["requires"]["--all2all-backend"]
    if engine == "vllm" and flags.get("enable_chunked_prefill") == "--disable-chunked-prefill":
        rule = next(c for c in snapshot("vllm")["checks"] if c.get("flag") == "--disable-chunked-prefill")
        assert rule["requires"] == "--max-num-batched-tokens at least --max-model-len"
        assert int(flags["max_num_batched_tokens"] or 0) >= int(flags["max_model_len"] or 0), flags
    if engine == "sglang" and "enable_two_batch_overlap" in flags:
        assert flags.get("moe_a2a_backend", "none") != "none" or int(flags.get("attn_dp_size") or 1) > 1
    if engine in ("sglang", "trtllm"):
        assert flags.get("host") == "0.0.0.0", "the load balancer (or router) must reach the server"


def _yaml_keys(text: str) -> set[str]:
    keys, stack = set(), []
    for line in text.splitlines():
        m = re.match(r"( *)([A-Za-z_]+):", line)
        if not m or line.lstrip().startswith("#"):
            continue
        depth = len(m.group(1)) // 2
        stack = stack[:depth] + [m.group(2)]
        keys.add(".".join(stack))
    return keys


def test_snapshots_name_their_release_and_source():
    for engine, name in RELEASES.items():
        data = snapshot(engine)
        assert name == f"{engine}-{data['release']}.json" and data["how"] and data["flags"]


def test_every_flag_of_every_command_is_in_the_snapshot():
    seen = {e: 0 for e in ENGINES}
    for x in _launches():
        for c in x.commands:
            words = _engine_args(x.engine, c.argv)
            if words is None:
                continue
            _checks(x.engine, _parse(x.engine, words))
            seen[x.engine] += 1
        if x.engine == "trtllm":
            allowed = set(snapshot("trtllm")["yaml_keys"])
            for f in x.files:
                if not f.name.endswith("-disagg.yml"):
                    assert _yaml_keys(f.text) <= allowed, (f.name, _yaml_keys(f.text) - allowed)
    assert all(n > 20 for n in seen.values()), seen


def test_no_deprecated_or_abbreviated_name_is_written():
    for x in _launches():
        for c in x.commands:
            assert not {"--tp", "--dp", "--ep", "--enable-dp-attention"} & set(c.argv), c.text


def test_the_engine_release_is_in_each_header():
    for x in _launches():
        assert snapshot(x.engine)["release"] in x.version


# ------------------------------------------------------------------ model paths
def _config(directory: Path) -> None:
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({
        "architectures": ["MixtralForCausalLM"], "num_hidden_layers": 4, "hidden_size": 256,
        "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 32, "vocab_size": 1000,
        "intermediate_size": 512, "num_local_experts": 4, "num_experts_per_tok": 2, "torch_dtype": "bfloat16"}))


def test_a_model_path_read_as_a_flag_or_by_the_shell_is_written_safely(tmp_path, monkeypatch):
    name = "-w;rm $HOME `x`"
    _config(tmp_path / name)
    (tmp_path / "plan.moe").write_text(plan_text(model=f'model from "{name}/config.json"', strategy="strategy tp 8"))
    monkeypatch.chdir(tmp_path)
    results = check(load_plan("plan.moe"))
    for x in launch_result(results[0]):
        assert x.ok, x.refusals
        for c in x.commands:
            words = shlex.split(c.text)
            model = words[words.index("--model-path") + 1] if x.engine == "sglang" else \
                words[words.index("serve" if x.engine == "vllm" else "trtllm-serve") + 1]
            assert model == "./" + name                              # one word, literally, not a flag
    assert safe_path("$NODE0_ADDR") == "./$NODE0_ADDR" and safe_path("/abs/x") == "/abs/x"


def test_a_model_path_with_a_control_character_is_refused_at_the_model(monkeypatch):
    from dagc.launch import launch as launch_module
    plan = load_plan_text(plan_text(strategy="strategy tp 8"))
    monkeypatch.setattr(launch_module, "model_path", lambda p: launch_module.ModelPath("weights\nv2", "a directory"))
    for x in launch_result(check(plan)[0]):
        assert [d.code for d in x.refusals] == ["E708"], x.refusals
        assert x.refusals[0].span is not None and x.refusals[0].span.text.startswith("model")


# ------------------------------------------------------------------ ports and node addresses
def _bound(engine: str, argv: tuple[str, ...]) -> set[int]:
    """The ports a server binds on its node, by the engine's own rules (snapshot `checks`)."""
    def val(flag: str) -> str | None:
        return argv[argv.index(flag) + 1] if flag in argv else None
    if engine == "sglang" and "sglang.launch_server" in argv:
        http = int(val("--port") or 30000)
        ports = next(c["ports"] for c in snapshot("sglang")["checks"] if "ports" in c)
        zmq, hand = ports["zmq_tcp_port_delta"], ports["dp_attention_handshake_port_delta"]
        n = ports["num_derived_ports"]
        out = {http}
        dist = val("--dist-init-addr")
        base = int(dist.rsplit(":", 1)[1]) if dist else http + zmq
        if val("--attn-dp-size") or dist:
            out |= set(range(base, base + n + 1)) | {(base if dist else http) + hand}
        if val("--disaggregation-bootstrap-port"):
            out.add(int(val("--disaggregation-bootstrap-port") or 0))
        return out
    if engine == "vllm" and "serve" in argv:
        out = {int(val("--port") or 8000)} if "--headless" not in argv else set()
        if val("--data-parallel-rpc-port"):
            out.add(int(val("--data-parallel-rpc-port") or 0))
        return out
    if "trtllm-serve" in argv and "disaggregated" not in argv:
        return {int(val("--port") or 8000)}
    if "--port" in argv:                                # a router
        return {int(val("--port") or 0)}
    return set()


def test_servers_on_one_node_never_share_a_port():
    for x in _launches():
        by_node: dict[int, list[set[int]]] = {}
        for c in x.commands:
            env = dict(c.env)
            ports = _bound(x.engine, c.argv)
            if "VLLM_NIXL_SIDE_CHANNEL_PORT" in env:
                ports.add(int(env["VLLM_NIXL_SIDE_CHANNEL_PORT"]))
            if ports:
                by_node.setdefault(c.node, []).append(ports)
        for node, sets in by_node.items():
            union = set().union(*sets)
            assert len(union) == sum(map(len, sets)), (x.engine, x.strategy, node, sets)


def test_node_address_placeholders_are_consistent():
    for x in _launches():
        nodes = x.nodes
        heads: dict[int, set[str]] = {}
        for c in x.commands:
            for k in map(int, re.findall(r"\$NODE(\d+)_ADDR", c.text)):
                assert k < nodes, (x.engine, x.strategy, c.text)
            env = dict(c.env)
            if "VLLM_NIXL_SIDE_CHANNEL_HOST" in env:
                assert env["VLLM_NIXL_SIDE_CHANNEL_HOST"] == f"$NODE{c.node}_ADDR"     # its own node
            for flag in ("--dist-init-addr", "--data-parallel-address"):
                if flag in c.argv:
                    heads.setdefault(c.replica, set()).add(c.argv[c.argv.index(flag) + 1].split(":")[0])
        assert all(len(h) == 1 for h in heads.values()), (x.engine, x.strategy, heads)
