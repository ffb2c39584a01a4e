"""What a serving engine cannot express (`dagc launch`): E701–E727 (E705: the pools of a disaggregated strategy
placed on the cluster's nodes; E706 and E714: the workload's speculative decoding; E707: the strategy's EPLB,
`with redundant R`; E708: a model path no command can carry); E728 and E729, what the engine cannot run on the
plan's GPU, are `dagc.rules.launch_gpu`'s.
Each was checked against the engine's release named in its text: vLLM 0.33.0 and SGLang 0.5.23 (their own
parsers and source), TensorRT-LLM 1.2 (its source).

`dagc launch` maps a valid strategy onto the flags of vLLM, SGLang and TensorRT-LLM (dagc.launch.launch and
its engine tables). When an engine has no way to say a strategy, the mapping refuses with one of these codes,
located at the part of the strategy the engine cannot express, and names the nearest strategy the engine can
run. The codes are emitted by `engine_refusal` below, which the launch mapping calls. A plan that chose its
engine (`cluster { engine = vllm }`, or a kernel profile imported from that engine's tables) gets them from
`check` and `compile` too, as errors of the strategy — beside dagc's own errors of it (E402, E3xx: the engines
read its degrees only, so fixing one does not uncover the other) —: the same diagnostics, from the same mapping
(`dagc.launch.engine_check`, also the library's `dagc.check` and `dagc.compile`), the last with the hint `dagc
launch` prints (the nearest strategy the engine can run), and the strategy search leaves out the candidates
they refuse (`dagc.search.space.engine_left_out`), so it never ranks first what `check` rejects. A plan on the
default engine or on `pytorch` gets them from `dagc launch` only.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Severity
from ..source import Span
from .base import pass_rule

__all__ = ["RULES", "engine_refusal"]


def engine_refusal(code: str, message: str, span: Span | None, hint: str | None = None) -> Diagnostic:
    """The located error of a strategy an engine cannot express (codes E7xx)."""
    return Diagnostic(code, Severity.ERROR, message, span, hint)


E701 = """
A whole-model replica (`dp`) must sit on whole nodes, or inside one node: every engine starts
one server per replica with the same number of GPUs on each of its nodes. A replica of pp × G
GPUs larger than a node but not a whole number of nodes, or smaller than a node and placed by
dagc's rank order across a node boundary, straddles nodes unevenly, which no engine's launcher
places.

Bad:
    cluster { gpus = 24  gpus_per_node = 8 … }
    strategy dp 2 < pp 3 < tp 4 > >          # replicas of 12 GPUs on nodes of 8
Fixed:
    strategy dp 3 < pp 2 < tp 4 > >          # replicas of 8 GPUs: one node each
"""

E702 = """
vLLM (0.33): attention is data-parallel across the `--data-parallel-size` D engines and
tensor-parallel (T) and context-parallel (C, `--prefill-context-parallel-size`) inside each, and
the MoE layers span all D × C × T GPUs of a stage. Without `--enable-expert-parallel` each expert is
tensor-sharded over all of them (EP = 1); with it, EP = D × C × T and expert TP = 1. There is no
independent EP degree, no expert TP beside EP, and no expert data parallelism.

Bad:
    strategy tp 8 ; ep 4 etp 2               # EP 4 × expert TP 2
    strategy tp 4 ; ep 2                     # expert DP 2: each expert on two GPUs, whole
Fixed:
    strategy tp 1 ; ep 8                     # vllm serve … --data-parallel-size 8 --enable-expert-parallel
    strategy tp 8                            # experts tensor-sharded 8 ways
"""

E703 = """
vLLM (0.33) runs `cp C` as `--prefill-context-parallel-size C --decode-context-parallel-size C`
(each prompt and the KV cache split over C ranks), but only on its V2 model runner, while
dual-batch overlap (`--enable-dbo`) runs on its V1 runner only (vllm/config/vllm.py lists "dual batch
overlap with context parallelism" among what the V2 runner does not support, and "prefill context
parallel" among what V1 does not): `cp` and `overlap microbatch` together do not start.

Bad:
    strategy tp 2 cp 4 ; ep 8 with overlap microbatch
Fixed:
    strategy tp 2 cp 4 ; ep 8 with overlap none     # vllm serve … -pcp 4 -dcp 4
    strategy tp 2 ; ep 8 with overlap microbatch    # the 4 extra GPUs become attention data parallelism
"""

E704 = """
vLLM (0.33) numbers its GPUs data-parallel engine by engine: global rank = dp_rank·(P·T)
+ pp_rank·T + tp_rank, so each engine's TP × PP GPUs sit together (a whole pipeline per node
with `--data-parallel-size-local`). dagc puts the GPUs of one stage together instead (rank =
stage·G + local): with attention DP (D > 1), pipeline parallelism (P > 1) and a replica on
several nodes, a stage's EP group spans nodes under vLLM, so its all-to-all crosses the network
where dagc costs it inside a node. dagc does not print figures that vLLM would not run.

Bad:
    cluster { gpus = 32  gpus_per_node = 8 … }
    strategy pp 4 < tp 2 ; ep 8 >            # vLLM: DP 4 engines of TP 2 × PP 4, one per node
Fixed:
    strategy pp 4 < tp 8 ; ep 8 >            # no attention DP: stage s on node s, as dagc
    strategy tp 2 ; ep 32                    # no pipeline: EP 32 over the 4 nodes, as dagc costs it
"""

E708 = """
The model path goes into every command. A path with a control character (a newline, a tab, an
escape, a bidi override such as U+202E, a zero-width space: anything printed as U+FFFD) cannot be
printed as one shell word that runs what it says, so `dagc launch` refuses it, located at the model.
(A path starting with `-`, or with `$`, is written as `./PATH` and quoted, so that neither the
engine's parser nor the shell misreads it.)

Bad:
    model from "weights\tv2/config.json"
Fixed:
    model from "weights-v2/config.json"
"""

E711 = """
SGLang (0.5.23): `--tp-size N` is the number of GPUs of one stage and `--ep-size E` sets the MoE tensor
parallelism to N / E: the routed experts always span all N GPUs. Experts replicated over part
of the stage (dagc's expert data parallelism, ep × etp smaller than the stage group) take
`--moe-dp-size M` (E × M = N), which SGLang accepts only with `--attn-cp-size M`, attention context
parallelism (E712): they cannot be said.

Bad:
    strategy tp 8 ; ep 4                     # ep 4 on 8 GPUs: each expert on two GPUs, whole
Fixed:
    strategy tp 8 ; ep 8                     # --tp-size 8 --ep-size 8
    strategy tp 8 ; ep 4 etp 2               # --tp-size 8 --ep-size 4: MoE TP 2
"""

E712 = """
SGLang (0.5.23) has attention context parallelism (`--attn-cp-size C --enable-prefill-cp`): it
splits each prompt over C ranks, but keeps the whole KV cache on every one of them (it shards it
only on the prefill workers of disaggregated serving, `--enable-kv-cache-sharding`), where dagc's
`cp C` holds 1/C of the KV cache on each rank and costs its memory so. dagc does not print figures
SGLang would not run. A disaggregated prefill pool is refused too, the message saying so: SGLang's sharding there
is not launched by dagc (its conditions, an MLA model with EP over the whole stage on DeepEP, are not mapped).

Bad:
    strategy tp 2 cp 4 ; ep 8
Fixed:
    strategy tp 2 ; ep 8                     # the 4 extra GPUs become attention data parallelism
"""

E713 = """
SGLang (0.5.23) with `--nnodes K --pp-size P` gives each stage K/P whole nodes (K ≥ P) or each
node P/K whole stages (K < P), in dagc's order (stage outer, GPU of the stage inner). A replica
whose stages do not divide its nodes that way (e.g. 3 nodes for 2 stages of 12 GPUs) cannot be
placed by SGLang as dagc places it.

Bad:
    cluster { gpus = 24  gpus_per_node = 8 … }
    strategy pp 2 < tp 4 ; ep 4 etp 3 >      # stages of 12 GPUs over 3 nodes
Fixed:
    strategy pp 3 < tp 8 ; ep 8 >            # one stage per node
"""

E715 = """
SGLang (0.5.23) runs `--enable-two-batch-overlap` (dagc's `overlap microbatch`) only for models
whose forward it splits in two (DeepSeek-V3 and Kimi-K2, GLM-4.5, Qwen3-MoE: their model files run
`model_forward_stages`); Mixtral, gpt-oss and Llama 4 have no such schedule. And it refuses the
option without an expert all-to-all backend unless attention is data-parallel
(arg_groups/validation_hook.py, `check_two_batch_overlap`): dagc writes `--moe-a2a-backend deepep`
when EP spans the whole stage (DeepEP sets `--ep-size` to `--tp-size`).

Bad:
    model preset "mixtral-8x7b"
    strategy tp 8 ; ep 8 with overlap microbatch
Fixed:
    strategy tp 8 ; ep 8 with overlap none
"""

E710 = """
vLLM (0.33) runs `overlap microbatch` as dual-batch overlap (`--enable-dbo`), which splits a step's
batch in two and switches between them at yield points inside the MoE layers' all-to-all kernel, so
that one micro-batch computes while the other's tokens travel. vLLM's design notes (docs/design/dbo.md,
"Dual Batch Overlap") say it "currently only targets DP+EP deployments": attention data-parallel over
`--data-parallel-size` D > 1 engines with `--enable-expert-parallel`. Without attention DP, or without
EP (experts tensor-sharded, a dense model), vLLM's MoE layers run no all-to-all
(`FusedMoEParallelConfig.use_all2all_kernels`) and nothing overlaps: the command would start, run
without the overlap dagc priced, and take more time per step than dagc's figures. SGLang's two-batch
overlap is refused likewise (E715). On an AMD GPU (mi300x) it is refused too: `--enable-dbo` takes only
DeepEP's or NIXL-EP's all-to-all (vllm/config/vllm.py), whose kernels are CUDA's, and dagc's all-to-all
there is AMD's MoRI (`--all2all-backend mori_low_latency`), which vLLM refuses at config validation.

Bad:
    model preset "mixtral-8x7b"
    cluster { … engine = vllm }
    strategy tp 8 with microbatches 2 overlap microbatch      # no EP: no all-to-all
    strategy tp 8 ; ep 8 with overlap microbatch              # EP inside the TP group, no DP
Fixed:
    strategy tp 8 with microbatches 2 overlap none
    strategy tp 1 ; ep 8 with overlap microbatch              # DP 8 × EP 8: --enable-dbo
"""

E721 = """
TensorRT-LLM (1.2): attention is either tensor-parallel over the whole `--tp_size` group
(attention TP = T) or, with `enable_attention_dp: true` in the extra options YAML, data-parallel
over it (attention DP = T, attention TP = 1). A mix such as attention TP 2 × attention DP 4 has
no setting.

Bad:
    strategy tp 2 ; ep 8                     # attention TP 2 × DP 4
Fixed:
    strategy tp 1 ; ep 8                     # --tp_size 8 --ep_size 8 + enable_attention_dp ("DEP8")
    strategy tp 8 ; ep 8                     # --tp_size 8 --ep_size 8, attention TP 8
"""

E722 = """
TensorRT-LLM (1.2) runs `cp C` as Helix context parallelism (`--cp_size C` and `cp_config:
{cp_type: HELIX}` in the YAML), the one kind of context parallelism its `Mapping` allows with MoE
layers: attention TP × CP over the stage, the experts over all of it. Helix has no attention data
parallelism beside it, so `cp` with attention DP (tp × cp smaller than the stage) has no setting.

Bad:
    strategy tp 1 cp 4 ; ep 8                # attention TP 1 × CP 4 × DP 2
Fixed:
    strategy tp 2 cp 4 ; ep 8                # --tp_size 2 --cp_size 4 --ep_size 8, Helix
"""

E727 = """
TensorRT-LLM (1.2) runs `cp C` as Helix context parallelism, and its own page on Helix
(docs/source/features/helix.md) bounds where: "Helix is designed for generation servers in a
disaggregated (prefill/decode split) deployment architecture", and it "currently supports models
using Multi-head Latent Attention (MLA) on Blackwell GPU architecture" (DeepSeek-V3). So dagc
launches `cp` on TensorRT-LLM only in the decode pool of a disaggregated strategy, for an MLA model
(DeepSeek-V3, Kimi-K2), on a Blackwell GPU (b200, b300, gb200, gb300); a strategy of its own, a
prefill pool, a model with other attention, or a Hopper or Ampere GPU preset is refused, and on a plan
that chose TensorRT-LLM the search does not propose it. A custom GPU, whose architecture dagc cannot
tell, is launched with a note saying so.

Bad:
    model preset "llama-4-maverick"
    cluster { gpus = 16  gpu preset "h200"  engine = trtllm }
    strategy tp 4 cp 2 ; ep 8
Fixed:
    strategy tp 8 ; ep 8
    # DeepSeek-V3 on b200: prefill 1 < tp 8 ; ep 8 > decode 1 < tp 4 cp 2 ; ep 8 >
"""

E723 = """
TensorRT-LLM (1.2): `--tp_size T --ep_size E` splits the MoE layers as EP E × MoE TP T/E over
all T GPUs of a stage. Experts replicated over part of the stage (dagc's expert data
parallelism, ep × etp smaller than the stage group) have no setting.

Bad:
    strategy tp 8 ; ep 4                     # expert DP 2
Fixed:
    strategy tp 8 ; ep 4 etp 2               # --tp_size 8 --ep_size 4: MoE TP 2
"""

E725 = """
TensorRT-LLM (1.2) has no option that overlaps the communication of one micro-batch with the
compute of another (dagc's `overlap = microbatch`; vLLM's `--enable-dbo`, SGLang's
`--enable-two-batch-overlap`). The engine would run the strategy without overlap: other figures.

Bad:
    strategy tp 1 ; ep 8 with overlap microbatch
Fixed:
    strategy tp 1 ; ep 8 with overlap none
"""

E726 = """
TensorRT-LLM (1.2) numbers the MoE ranks of a stage EP first: moe_ep_rank = tp_rank mod
ep_size, so an EP group is `--ep_size` consecutive GPUs and MoE TP runs over GPUs ep_size
apart (its `Mapping`: with 8 GPUs, MoE TP 2 × EP 4, the EP groups are [0‥3] and [4‥7]). dagc
numbers etp first (an EP group takes every etp-th GPU). Inside one node that changes nothing
dagc costs; with a stage over several nodes, EP × MoE TP both above 1, the engine's all-to-all
and MoE all-reduce run on other links than the ones dagc costed.

Bad:
    cluster { gpus = 16  gpus_per_node = 8 … }
    strategy tp 1 ; ep 8 etp 2               # TensorRT-LLM: EP inside a node, MoE TP across
Fixed:
    strategy tp 1 ; ep 16                    # --tp_size 16 --ep_size 16: no MoE TP
    strategy dp 2 < tp 1 ; ep 4 etp 2 >      # a stage inside one node: the order costs the same
"""

E705 = """
A disaggregated strategy (`prefill N < A > decode M < B >`) runs as two pools of servers and a
router. `dagc launch` places the instances one after another, the prefill pool first: an
instance of a node or more on whole nodes, a smaller one inside one node (moved to the next node
rather than across). When that needs more GPUs than the cluster has (dagc's own E308 counts the
GPUs alone), or a pool has more servers (instances × dp) than `dagc launch` writes (256), it
refuses rather than print servers on GPUs that do not exist. Each pool's own strategy is checked
against the engine as any strategy (E701–E729, named by its pool).

Bad:
    cluster { gpus = 16  gpus_per_node = 8 … }
    strategy prefill 1 < tp 4 > decode 1 < dp 3 < tp 4 > >   # decode (12 GPUs) starts on node 1: 20 GPUs
Fixed:
    strategy prefill 1 < tp 4 > decode 1 < dp 2 < tp 4 > >   # 4 + 8 GPUs on 2 nodes
    strategy prefill 1 < tp 4 > decode 3 < tp 4 >            # instances of 4 GPUs share nodes
"""

E706 = """
`speculative { method = mtp … }` drafts with the model's own multi-token-prediction (MTP) module,
and every engine loads it from the model's checkpoint: vLLM 0.33's `mtp` method (the draft is
the target checkpoint, vllm/config/speculative.py), SGLang 0.5.23's `NEXTN` (arg_groups/
speculative_hook.py), TensorRT-LLM 1.2's `decoding_type: MTP` (llmapi/llm_args.py). DeepSeek-V3
and GLM-4.5 ship one MTP layer (`num_nextn_predict_layers: 1` in their config.json); Mixtral,
Qwen3, gpt-oss, Llama 4 and Kimi-K2 ship none, so the engine has nothing to draft with.
A `model from "config.json"` is judged by its `num_nextn_predict_layers`. Lacking MTP layers is
a fact of the checkpoint, not of an engine: `check` and `dagc search` refuse it whatever the
engine, on a plan that names none (or `pytorch`) as on one that names vLLM.

Bad:
    model preset "mixtral-8x7b"
    workload { … speculative { method = mtp  tokens = 2  acceptance = 0.7 } }
Fixed:
    workload { … speculative { method = eagle  tokens = 2  acceptance = 0.7 } }   # an EAGLE-3 draft
    workload { … speculative { method = ngram  tokens = 2  acceptance = 0.4 } }   # no draft model
"""

E707 = """
`with redundant R` turns expert-parallel load balancing (EPLB) on, and each engine writes it:
vLLM 0.33 `--enable-eplb --eplb-config '{"num_redundant_experts":R}'`, SGLang 0.5.23
`--enable-eplb --ep-num-redundant-experts R`, TensorRT-LLM 1.2 `moe_config.load_balancer`
(`num_slots: E + R`). The engines move experts between the ranks of an EP group, so none balances
with ep 1 (vLLM refuses EPLB without --enable-expert-parallel, SGLang asserts an EP size above 1,
TensorRT-LLM ignores the setting). And each balances only the models its code implements it for:
vLLM the classes that implement `MixtureOfExperts` (not gpt-oss); SGLang the classes with
`get_model_config_for_expert_location` (not Mixtral, not Llama 4); TensorRT-LLM the architectures
of its `moe_model_arch_list` (DeepSeek-V3 and Kimi-K2, Mixtral, Llama 4, Qwen2/Qwen3 MoE: not GLM-4.5,
not gpt-oss). dagc would otherwise print figures for a placement the engine never makes.

Bad:
    model preset "gpt-oss-120b"
    strategy tp 1 ; ep 8 with redundant 8      # vLLM: GptOssForCausalLM has no EPLB
Fixed:
    strategy tp 1 ; ep 8                       # experts placed contiguously, as the engine runs them
"""

E709 = """
`sp` (sequence-parallel activations: each TP all-reduce a reduce-scatter and an all-gather, the
norms and residuals between them sharded over the TP group) has no setting on any of the three
engines among the flags checked against their parsers: vLLM 0.33 has no parallel flag for it (its
sequence-parallelism compilation pass is a torch.compile fusion applied to the shapes it compiles,
not checked as a setting), SGLang 0.5.23 none (`--attn-dp-size` is attention DP), TensorRT-LLM 1.2
none. A command without it would run the all-reduces dagc did not price, so dagc refuses and names
the nearest strategy the engine runs: the same without `sp`. The search leaves `sp` out on a plan
whose engine is chosen (docs/search.md). `sp` with tp 1 shards nothing and is not refused.

Bad:
    cluster { … engine = sglang }
    strategy tp 8 sp ; ep 8
Fixed:
    strategy tp 8 ; ep 8
"""

E714 = """
SGLang (0.5.23) refuses speculative decoding with pipeline parallelism, except as single-layer
EAGLE on a disaggregated prefill server (NEXTN, a checkpoint's MTP layer, resolves to EAGLE;
EAGLE3 does not, nor MiMoV2's, which SGLang makes multi-layer) or under its experimental
SGLANG_ENABLE_PP_SPEC (EAGLE only, no attention DP, no disaggregation)
(arg_groups/validation_hook.py, `check_pipeline_parallel_compat`), and its NGRAM drafting with
attention DP (arg_groups/speculative_hook.py, `_handle_ngram`). A prefill pool of pipeline
stages drafting with `method = mtp` is accepted.

Bad:
    workload { … speculative { method = mtp  tokens = 1  acceptance = 0.8 } }
    strategy pp 2 < tp 8 ; ep 8 >
Fixed:
    strategy tp 16 ; ep 16                   # no pipeline stages: folded into the stage
    strategy dp 2 < tp 8 ; ep 8 >            # or into replicas, one stage each
"""

_PASSES = (engine_refusal,)

RULES = (
    pass_rule("E701", Severity.ERROR, "launch: a replica does not sit on whole nodes", doc=E701, passes=_PASSES),
    pass_rule("E702", Severity.ERROR, "vLLM: EP is 1 or the whole stage, with no expert TP or DP beside it",
              doc=E702, passes=_PASSES),
    pass_rule("E703", Severity.ERROR, "vLLM: no context parallelism with dual-batch overlap", doc=E703,
              passes=_PASSES),
    pass_rule("E704", Severity.ERROR, "vLLM: each data-parallel engine's TP × PP GPUs sit together, so with pp a "
              "stage spans nodes", doc=E704, passes=_PASSES),
    pass_rule("E705", Severity.ERROR, "launch: a disaggregated strategy's instances do not fit the cluster's nodes",
              doc=E705, passes=_PASSES),
    pass_rule("E706", Severity.ERROR, "launch: `method = mtp` needs the checkpoint's MTP weights", doc=E706,
              passes=_PASSES),
    pass_rule("E707", Severity.ERROR, "launch: the engine's EPLB needs ep above 1 and a model it balances", doc=E707,
              passes=_PASSES),
    pass_rule("E708", Severity.ERROR, "launch: the model path holds a control character", doc=E708, passes=_PASSES),
    pass_rule("E709", Severity.ERROR, "launch: no engine sets `sp` (sequence-parallel activations)", doc=E709,
              passes=_PASSES),
    pass_rule("E710", Severity.ERROR, "vLLM: dual-batch overlap needs DP+EP (an expert all-to-all)", doc=E710,
              passes=_PASSES),
    pass_rule("E711", Severity.ERROR, "SGLang: EP × MoE TP is the whole stage (--tp-size)", doc=E711, passes=_PASSES),
    pass_rule("E712", Severity.ERROR, "SGLang: its attention CP keeps the whole KV cache on each CP rank", doc=E712,
              passes=_PASSES),
    pass_rule("E713", Severity.ERROR, "SGLang: a stage takes whole nodes, or a node whole stages", doc=E713,
              passes=_PASSES),
    pass_rule("E714", Severity.ERROR, "SGLang: no speculative decoding with pipeline stages but MTP on a prefill "
              "server, nor NGRAM with attention DP", doc=E714, passes=_PASSES),
    pass_rule("E715", Severity.ERROR, "SGLang: two-batch overlap needs the model's overlap schedule and an expert "
              "all-to-all or attention DP", doc=E715, passes=_PASSES),
    pass_rule("E721", Severity.ERROR, "TensorRT-LLM: attention is all TP or all DP over the stage", doc=E721,
              passes=_PASSES),
    pass_rule("E722", Severity.ERROR, "TensorRT-LLM: Helix context parallelism, not beside attention DP", doc=E722,
              passes=_PASSES),
    pass_rule("E727", Severity.ERROR, "TensorRT-LLM: Helix runs on a disaggregated decode pool, for MLA models, "
              "on Blackwell", doc=E727, passes=_PASSES),
    pass_rule("E723", Severity.ERROR, "TensorRT-LLM: EP × MoE TP is the whole stage (--tp_size)", doc=E723,
              passes=_PASSES),
    pass_rule("E725", Severity.ERROR, "TensorRT-LLM: no micro-batch overlap", doc=E725, passes=_PASSES),
    pass_rule("E726", Severity.ERROR, "TensorRT-LLM: EP groups are consecutive GPUs, dagc's etp apart", doc=E726,
              passes=_PASSES),
)
