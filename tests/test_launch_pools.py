"""`dagc launch` of a disaggregated strategy (dagc.launch.pools): for each engine, both pools' servers
with their pool's degrees and role, every port a server binds apart from every other on its node, the
router listing every server, TensorRT-LLM's disaggregated YAML, the flags against each engine's
checked snapshot, E705 and a pool's own refusal located in the pool with the nearest deployment."""

from __future__ import annotations

import functools
import json
import re
import shlex

import pytest

from dagc.cli.main import main
from dagc.lang.load import load_plan, load_plan_text
from dagc.launch import sglang, trtllm, vllm
from dagc.launch.engines import launch_result
from dagc.launch.pools import MAX_POOL_SERVERS, ROUTER_PORT
from dagc.verdict.check import check
from conftest import EXAMPLES

DEEPSEEK = EXAMPLES / "deepseek-v3-disaggregated.moe"
QWEN = ('model preset "qwen3-30b-a3b"\ncluster {{ gpus = {gpus}  gpus_per_node = 8  gpu preset "h100-sxm" }}\n'
        'workload {{ batch = 64  prompt = 2000  generate = 200  serving = inflight }}\nstrategy {strategy}\n')
SMALL = "prefill 2 < tp 2 > decode 1 < dp 2 < tp 1 ; ep 4 > >"        # 4 + 8 GPUs: servers share nodes
TRT_DEEPSEEK = "prefill 3 < tp 8 > decode 1 < dp 4 < tp 1 ; ep 8 > >"   # the nearest TensorRT-LLM runs


@functools.cache
def _result(plan_key: str, strategy: str | None):
    plan = load_plan(DEEPSEEK) if plan_key == "deepseek" else load_plan_text(QWEN.format(gpus=16, strategy=SMALL))
    r = check(plan, strategy)[0]
    assert r.valid and r.pooled is not None
    return r


@functools.cache
def _launch(plan_key: str, strategy: str | None, engine: str):
    (x,) = launch_result(_result(plan_key, strategy), (engine,))
    return x


# (plan, strategy, engine) → per role: servers, and the flags each server of the role carries
CASES = {
    ("deepseek", None, "sglang"): {"prefill": (3, ["--tp-size", "8"]),
                                   "decode": (4, ["--tp-size", "8", "--attn-dp-size", "4", "--ep-size", "8"])},
    ("deepseek", None, "vllm"): {"prefill": (3, ["--tensor-parallel-size", "8"]),
                                 "decode": (4, ["--tensor-parallel-size", "2", "--data-parallel-size", "4",
                                                "--enable-expert-parallel"])},
    ("deepseek", TRT_DEEPSEEK, "trtllm"): {"prefill": (3, ["--tp_size", "8", "--ep_size", "1"]),
                                           "decode": (4, ["--tp_size", "8", "--ep_size", "8"])},
    ("small", None, "sglang"): {"prefill": (2, ["--tp-size", "2"]),
                                "decode": (2, ["--tp-size", "4", "--attn-dp-size", "4", "--ep-size", "4"])},
    ("small", None, "vllm"): {"prefill": (2, ["--tensor-parallel-size", "2"]),
                              "decode": (2, ["--tensor-parallel-size", "1", "--data-parallel-size", "4",
                                             "--enable-expert-parallel"])},
    ("small", None, "trtllm"): {"prefill": (2, ["--tp_size", "2", "--ep_size", "1"]),
                                "decode": (2, ["--tp_size", "4", "--ep_size", "4"])},
}
ROLE_FLAG = {"sglang": "--disaggregation-mode", "vllm": None, "trtllm": None}


def _words(c) -> list[str]:
    """The command as the shell splits it, environment assignments dropped."""
    words = shlex.split(c.text)
    while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
        words = words[1:]
    return words


def _servers(x) -> list:
    """The commands that start a server's HTTP endpoint (not the router)."""
    return [c for c in x.commands if c is not x.commands[-1]]


def _role_of(x, c) -> str:
    words = _words(c)
    if x.engine == "sglang":
        return words[words.index("--disaggregation-mode") + 1]
    if x.engine == "trtllm":
        return "prefill" if _value(words, "--extra_llm_api_options").endswith("-prefill.yml") else "decode"
    prefill_urls = set(re.findall(r"--prefill (\S+)", x.commands[-1].text))
    return "prefill" if _url(x, c) in prefill_urls else "decode"


def _value(words, flag: str) -> str:
    return words[words.index(flag) + 1]


def _url(x, c) -> str:
    return f"http://$NODE{c.node}_ADDR:{_value(_words(c), '--port')}"


@pytest.mark.parametrize("key", sorted(CASES, key=str), ids=lambda k: f"{k[0]}-{k[2]}")
def test_each_pools_servers_carry_its_degrees_and_role(key):
    x = _launch(*key)
    assert x.ok, x.refusals
    by_role: dict[str, list] = {"prefill": [], "decode": []}
    for c in _servers(x):
        by_role[_role_of(x, c)].append(c)
    for role, (count, flags) in CASES[key].items():
        assert len(by_role[role]) == count, (role, [c.text for c in by_role[role]])
        for c in by_role[role]:
            words = _words(c)
            assert " ".join(flags) in " ".join(words), (flags, c.text)
            if x.engine == "sglang":
                assert _value(words, "--disaggregation-transfer-backend") == "mooncake"
                assert ("--disaggregation-bootstrap-port" in words) == (role == "prefill")
            if x.engine in ("sglang", "trtllm"):
                assert _value(words, "--host") == "0.0.0.0"
            if x.engine == "vllm":
                config = json.loads(_value(words, "--kv-transfer-config"))
                assert config == {"kv_connector": "NixlConnector", "kv_role": "kv_both"}
                assert dict(c.env)["VLLM_NIXL_SIDE_CHANNEL_HOST"] == f"$NODE{c.node}_ADDR"


def _bound_ports(x, c) -> set[int]:
    """Every port a server binds on its node, as its engine binds them (ENGINES.md "Ports")."""
    words = _words(c)
    port = int(_value(words, "--port"))
    if x.engine == "sglang":
        ports = {port, port + 13, *range(port + 233, port + 240)}
        if "--disaggregation-bootstrap-port" in words:
            ports.add(int(_value(words, "--disaggregation-bootstrap-port")))
        return ports
    if x.engine == "vllm":
        ranks = int(_value(words, "--data-parallel-size")) if "--data-parallel-size" in words else 1
        side = int(dict(c.env)["VLLM_NIXL_SIDE_CHANNEL_PORT"])
        rpc = {int(_value(words, "--data-parallel-rpc-port"))} if "--data-parallel-rpc-port" in words else set()
        return {port, *range(side, side + ranks), *rpc}
    return {port}


def _gpus(c, gpus_per_node: int) -> set[int]:
    visible = dict(c.env).get("CUDA_VISIBLE_DEVICES")
    return {int(g) for g in visible.split(",")} if visible else set(range(gpus_per_node))


@pytest.mark.parametrize("key", sorted(CASES, key=str), ids=lambda k: f"{k[0]}-{k[2]}")
def test_no_two_servers_share_a_port_or_a_gpu_and_the_router_lists_each(key):
    x = _launch(*key)
    ports: dict[int, set[int]] = {0: {ROUTER_PORT}}
    gpus: dict[int, set[int]] = {}
    for c in _servers(x):
        mine, used = _bound_ports(x, c), ports.setdefault(c.node, set())
        assert not mine & used, (c.text, sorted(mine & used))
        used |= mine
        own, taken = _gpus(c, x.gpus_per_node), gpus.setdefault(c.node, set())
        assert not own & taken, c.text
        taken |= own
    assert sum(len(g) for g in gpus.values()) == x.gpus          # every GPU of both pools, once
    router = x.commands[-1]
    assert router.node == 0 and _value(_words(router), "--port" if x.engine != "trtllm" else "-c")
    urls = [_url(x, c) for c in _servers(x)]
    if x.engine == "trtllm":
        (disagg,) = [f for f in x.files if f.name.endswith("-disagg.yml")]
        listed = [f"http://{u}" for u in re.findall(r'- "(\$NODE\d+_ADDR:\d+)"', disagg.text)]
    else:
        listed = re.findall(r"--(?:prefill|decode) (\S+)", router.text)
        assert shlex.split(router.text)[-2:] == ["--port", str(ROUTER_PORT)]
    assert sorted(listed) == sorted(urls) and len(set(urls)) == len(urls)
    prefill = [_url(x, c) for c in _servers(x) if _role_of(x, c) == "prefill"]
    if x.engine == "sglang":                 # each prefill URL with its own server's bootstrap port
        pairs = re.findall(r"--prefill (\S+) (\d+)", router.text)
        boot = {_url(x, c): _value(_words(c), "--disaggregation-bootstrap-port") for c in _servers(x)
                if _role_of(x, c) == "prefill"}
        assert dict(pairs) == boot and [u for u, _ in pairs] == prefill


def _yaml_lists(text: str) -> dict:
    """The YAML dagc writes for `trtllm-serve disaggregated` (top-level keys, sections of keys and lists
    of URLs) as a dict, its scalars parsed as JSON; written here since the tests have no YAML library."""
    out: dict = {}
    section = key = None
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if not line.startswith(" "):
            k, _, v = line.partition(":")
            section = k if not v.strip() else None
            out[k] = {} if section else (int(v) if v.strip().isdigit() else v.strip())
        elif line.strip().startswith("- "):
            out[section][key].append(line.strip()[2:].strip('"'))
        else:
            key, _, v = line.strip().partition(":")
            out[section][key] = [] if not v.strip() else json.loads(v.strip())
    return out


@pytest.mark.parametrize("key", [k for k in CASES if k[2] == "trtllm"], ids=lambda k: k[0])
def test_trtllm_disaggregated_yaml_lists_both_pools(key):
    x = _launch(*key)
    files = {f.name.rsplit("-", 1)[-1]: f for f in x.files}
    assert set(files) == {"prefill.yml", "decode.yml", "disagg.yml"}
    config = _yaml_lists(files["disagg.yml"].text)
    assert config["hostname"] == "0.0.0.0" and config["port"] == ROUTER_PORT
    assert set(config) | {k for s in ("context_servers", "generation_servers") for k in config[s]} <= \
        trtllm.DISAGG_KEYS
    for section, role in (("context_servers", "prefill"), ("generation_servers", "decode")):
        servers = [c for c in _servers(x) if _role_of(x, c) == role]
        s = config[section]
        assert s["num_instances"] == len(servers) == CASES[key][role][0] == len(s["urls"])
        assert s["urls"] == [f"$NODE{c.node}_ADDR:{_value(_words(c), '--port')}" for c in servers]
        words = _words(servers[0])
        assert s["tensor_parallel_size"] == int(_value(words, "--tp_size"))
        assert s["moe_expert_parallel_size"] == int(_value(words, "--ep_size"))
        assert s["pipeline_parallel_size"] == 1
        text = files[f"{role}.yml"].text
        assert text.startswith("# ") and "(dagc launch)" in text.splitlines()[0]
        assert "cache_transceiver_config:\n  backend: NIXL\n" in text
    assert config["generation_servers"]["enable_attention_dp"] is (key[1] == TRT_DEEPSEEK or key[0] == "small")
    assert x.commands[-1].argv == ("trtllm-serve", "disaggregated", "-c", files["disagg.yml"].name)


@pytest.mark.parametrize("key", sorted(CASES, key=str), ids=lambda k: f"{k[0]}-{k[2]}")
def test_every_flag_is_in_the_engines_checked_snapshot(key):
    x = _launch(*key)
    server_flags = {"sglang": sglang.FLAGS | sglang.PD_FLAGS, "vllm": vllm.FLAGS | vllm.PD_FLAGS,
                    "trtllm": trtllm.FLAGS | trtllm.PD_FLAGS}[x.engine]
    router_flags = {"sglang": sglang.ROUTER_FLAGS, "vllm": vllm.ROUTER_FLAGS, "trtllm": trtllm.ROUTER_FLAGS}[x.engine]
    start = {"sglang": "sglang.launch_server", "vllm": "serve", "trtllm": "trtllm-serve"}[x.engine]
    for c in _servers(x):
        words = _words(c)
        assert {w for w in words[words.index(start) + 1:] if w.startswith("-")} <= server_flags, c.text
        if x.engine == "vllm":
            assert {k for k, _ in c.env} <= vllm.PD_ENV | {"CUDA_VISIBLE_DEVICES"}
    router = _words(x.commands[-1])
    assert {w for w in router[2:] if w.startswith("-")} <= router_flags, router
    for f in x.files:
        if not f.name.endswith("-disagg.yml"):
            keys = set(re.findall(r"^(\w+):[ \t]*\S", f.text, re.M)) | {
                f"{a}.{b}" for a, b in re.findall(r"^(\w+):\n  (\w+):", f.text, re.M)}
            assert keys <= trtllm.YAML_KEYS | trtllm.PD_YAML_KEYS, keys


def test_trtllm_refuses_the_examples_decode_pool_in_the_pool_with_the_nearest_deployment(capsys):
    x = _launch("deepseek", None, "trtllm")
    (d,) = x.refusals
    assert d.code == "E721" and d.message.startswith("decode pool: TensorRT-LLM")
    assert d.span.text == "tp 2" and d.span.line == 27 and d.span.column == 52
    assert main(["launch", str(DEEPSEEK), "--engine", "trtllm", "--strategy",
                 "prefill 3 < tp 8 > decode 1 < dp 4 < tp 2 ; ep 8 > >"]) == 3
    out = capsys.readouterr().out
    assert f"the nearest strategy TensorRT-LLM can run: `{TRT_DEEPSEEK}`" in out
    assert f"--strategy '{TRT_DEEPSEEK}'" in out and "Traceback" not in out
    assert main(["launch", str(DEEPSEEK), "--engine", "trtllm", "--strategy", TRT_DEEPSEEK]) == 0


def test_pools_that_do_not_fit_whole_nodes_get_E705(tmp_path, capsys):
    """prefill 4 GPUs on node 0; the decode instance of 12 GPUs starts on node 1: 20 GPUs of 16."""
    path = tmp_path / "pd.moe"
    path.write_text(QWEN.format(gpus=16, strategy="prefill 1 < tp 4 > decode 1 < dp 3 < tp 4 > >"))
    assert check(load_plan(path))[0].valid
    assert main(["launch", str(path)]) == 3
    out = capsys.readouterr().out
    assert out.count("error[E705]") == 3 and "need 20 GPUs; the cluster has 16" in out
    path.write_text(QWEN.format(gpus=16, strategy="prefill 1 < tp 4 > decode 3 < tp 4 >"))
    assert main(["launch", str(path), "--engine", "sglang"]) == 0
    out = capsys.readouterr().out
    assert out.count("--port 8250") == 2 and "--port 8500" not in out       # two servers on each of 2 nodes
    assert MAX_POOL_SERVERS == 256


def test_launch_writes_the_trtllm_files_and_the_report_lists_the_pools(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["launch", str(DEEPSEEK), "--engine", "trtllm", "--strategy", TRT_DEEPSEEK, "-o", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert [n.rsplit("-", 1)[-1] for n in written if n.endswith(".yml")] == ["decode.yml", "disagg.yml", "prefill.yml"]
    # and one script a command: the 7 nodes' servers, then the router on node 0
    assert [n.rsplit("-", 2)[-2:] for n in written if n.endswith(".sh")] == [
        [str(k + 1), f"node{k}.sh"] for k in range(7)] + [["8", "node0.sh"]]
    (router,) = [n for n in written if n.endswith("-8-node0.sh")]
    assert "exec trtllm-serve disaggregated -c " in (out / router).read_text()
    text = capsys.readouterr().out
    assert f"trtllm-serve disaggregated -c {out}/" in text and "KV transfer: cache_transceiver_config" in text
    # again into the same directory: dagc's own files are replaced
    assert main(["launch", str(DEEPSEEK), "--engine", "trtllm", "--strategy", TRT_DEEPSEEK, "-o", str(out)]) == 0


@pytest.mark.parametrize("strategy", [
    "prefill 1 < tp 1 > decode 1 < tp 1 >", "prefill 3 < tp 2 > decode 2 < tp 1 ; ep 4 >",
    "prefill 1 < pp 2 < tp 4 > > decode 1 < tp 8 ; ep 8 >", "prefill 2 < tp 2 cp 2 > decode 1 < tp 8 ; ep 4 >",
    "prefill 1 < tp 8 ; ep 4 > decode 1 < tp 8 ; ep 8 > with overlap microbatch",
])
def test_other_pooled_plans_launch_or_refuse_without_a_traceback(tmp_path, capsys, strategy):
    path = tmp_path / "pd.moe"
    path.write_text(QWEN.format(gpus=32, strategy=strategy))
    code = main(["launch", str(path)])
    out = capsys.readouterr()
    assert code in (0, 3) and "Traceback" not in out.out + out.err
    r = check(load_plan(path))[0]
    for x in launch_result(r):
        if x.ok:
            for c in x.commands:
                assert shlex.split(c.text)
            assert sum(len(_gpus(c, 8)) for c in _servers(x) if "trtllm-llmapi-launch" not in c.argv) <= 32
        else:
            assert all(d.code.startswith("E7") and d.span is not None for d in x.refusals)


def test_a_pool_whose_replica_straddles_nodes_is_told_its_own_replica_size(capsys, tmp_path):
    """E701 on a pool names that pool's replica (pp × stage group), and so does its hint: the decode pool's
    `pp 3 < tp 4 >` takes 12 GPUs. Until 2026-11-30 the hint divided the deployment's 16 GPUs by its 2 servers and
    said "no strategy whose replica takes 8 GPUs can be launched" — 8 GPUs, a whole node, that launch."""
    plan = tmp_path / "p.moe"
    plan.write_text(QWEN.format(gpus=16, strategy="prefill 1 < tp 4 > decode 1 < pp 3 < tp 4 > >"))
    assert main(["launch", str(plan), "--engine", "sglang"]) == 3
    out = capsys.readouterr().out
    assert "error[E701]: decode pool: SGLang: a replica of 12 GPUs (pp × stage group)" in out
    assert ("= help: no strategy whose replica takes 12 GPUs can be launched, whatever its degrees: a replica of 8 or "
            "16 GPUs (pp × stage group: a divisor of the node's 8 GPUs, or whole nodes) can") in out
