"""Fidelity of speculative decoding: dagc's MTP speed-up against published DeepSeek-V3/R1 measurements.

Used by bench/fidelity.py (section (f) of docs/fidelity.md); run alone it prints the table:

    python bench/fidelity_speculative.py

Each deployment below copies what its source publishes (engine, GPUs, parallelism, precision,
concurrency, lengths) and its figure without speculative decoding; each case adds one published
MTP run: the drafted tokens per step k and the **accept length** the source measured (tokens a
step emits per request), with its figure. dagc is given that accept length
(`speculative { method = mtp  tokens = k  accept_length = L }`), so the comparison tests what
dagc charges for verifying k + 1 positions and running k draft passes, not the acceptance.

Scored, per case:
- the speed-up, published figure with MTP / without = dagc's TPOT without / with (the batch is
  fixed, so a per-user or per-GPU token rate is 1 / TPOT up to a constant);
- the absolute figure with MTP (and, once per deployment, without), dagc's in the source's unit:
  tokens/s per user = 1 / TPOT at batch 1; output tokens/s per GPU = batch / TPOT / GPUs.

Shown beside: the cost of a speculative step relative to a plain one, published (implied:
accept length × figure without / figure with, since TPOT = step / accept length) and dagc's
(the decode step's time with MTP / without), and the share of dagc's step the draft passes take.
"""

from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import fidelity_corpus  # noqa: E402, I001  (bench/, on the path above)

from dagc.ir.dag import Phase  # noqa: E402
from dagc.lang.load import load_plan_text  # noqa: E402
from dagc.serve.speculative import speculative_figures  # noqa: E402
from dagc.verdict.check import check  # noqa: E402

__all__ = ["CASES", "DEPLOYMENTS", "Deployment", "Prediction", "SpecCase", "markdown_section", "plan_of", "predict",
           "summary"]

TRTLLM = ("TensorRT-LLM tech blog 1 \"Pushing Latency Boundaries: Optimizing DeepSeek-R1 Performance on NVIDIA B200 "
          "GPUs\", § MTP › Autoregressive MTP Layers (https://github.com/NVIDIA/TensorRT-LLM/blob/main/docs/source/"
          "blogs/tech_blog/blog1_Pushing_Latency_Boundaries_Optimizing_DeepSeek-R1_Performance_on_NVIDIA_B200_GPUs.md)")
SGLANG = ("LMSYS blog \"Accelerating SGLang with Multiple Token Prediction\", Jul 2025, § Case Study 1: Small-Scale "
          "Deployment (https://lmsys.org/blog/2025-07-17-mtp/; source https://github.com/lm-sys/lm-sys.github.io/"
          "blob/main/blog/2025-07-17-mtp.md); decode server flags from its reproduction instructions, "
          "https://github.com/sgl-project/sglang/issues/7998 (\"xP + 2D, max_running_requests=32, draft_token_num=3\")")

PER_USER = "tokens/s per user"
PER_GPU = "output tokens/s per GPU"


@dataclass(frozen=True)
class Deployment:
    source: str
    label: str
    model: str               # the plan's model line (dagc's `deepseek-v3` preset: DeepSeek-R1's architecture)
    gpu: str
    gpus: int
    strategy: str
    batch: int               # requests decoding at once, whole deployment
    prompt: int
    generate: int
    figure: str              # PER_USER or PER_GPU: the unit the source publishes
    baseline: float          # the published figure without speculative decoding
    note: str


@dataclass(frozen=True)
class SpecCase:
    deployment: Deployment
    tokens: int              # drafted tokens per step, k (the draft runs the MTP layer k times)
    accept_length: float     # the published mean tokens per step per request
    published: float         # the published figure with MTP
    published_speedup: float | None = None    # the speed-up as the source prints it, where it does


def _figure(run_id: str, unit: str) -> float:
    """A corpus run's measured figure in this section's unit: tokens/s per user = 1000 / TPOT ms at one request,
    output tokens/s per GPU = the deployment's / its GPUs."""
    run = fidelity_corpus.published(run_id)[1]
    return 1000 / run.measured["tpot_ms"] if unit == PER_USER else run.measured["output_tokens_per_s"] / run.gpus


def _case(d: Deployment, run_id: str) -> SpecCase:
    """A corpus run with MTP as a case of deployment `d`: its drafted tokens and accept length from its plan."""
    run = fidelity_corpus.published(run_id)[1]
    spec = load_plan_text(run.plan, f"{run_id}.moe").workload.speculative
    assert spec is not None and spec.accept_length is not None, run_id
    return SpecCase(d, spec.tokens, spec.accept_length, _figure(run_id, d.figure))


# 8×B200, DeepSeek-R1 in TensorRT-LLM, one request at a time, ISL 1k / OSL 2k (§ Workload Profile). The MTP
# table does not state its parallelism: its MTP 3 figure, 253, is the Key Optimizations row "Introduce EP4TP2 for
# better workload balance" (`--tp 8 --ep 4`): attention TP8, sparse experts EP4 × TP2. Precision (§ Precision
# Strategy): nvfp4 MoE and dense FFN, bf16 attention, MTP layers and router GEMM.
TRT_B200 = Deployment(
    TRTLLM, "TensorRT-LLM, 8×B200, batch 1", 'model preset "deepseek-v3" { weights = bf16  moe { weights = nvfp4 } }',
    "b200", 8, "tp 8 ; ep 4 etp 2", 1, 1024, 2048, PER_USER, _figure("dsr1-b200-tp8-ep4-batch1", PER_USER),
    "DeepSeek-R1, min-latency (one request), ISL 1k / OSL 2k; the table's column \"Acceptance Rate\" is the "
    "accept length (1.00 without MTP); its parallelism is not stated: its MTP 3 figure, 253 TPS/user, is the "
    "Key Optimizations row \"Introduce EP4TP2\" (`--tp 8 --ep 4`): attention TP8, experts EP4 × TP2; precision "
    "per § Precision Strategy: nvfp4 experts (dagc: `moe { weights = nvfp4 }`), bf16 attention (dagc: "
    "`weights = bf16`, which also makes the 3 dense FFN layers bf16 where they are nvfp4, and gives the MTP "
    "draft layer nvfp4 experts where it is bf16); strict acceptance (the relaxed rows change the acceptance)")

# 2 decode nodes of 8×H200, DeepSeek-V3-0324 (fp8), PD-disaggregated decode with DP attention 16 and DeepEP EP16
# (`--tp-size 16 --dp-size 16 --enable-dp-attention --enable-deepep-moe --deepep-mode low_latency
# --max-running-requests 32 --ep-num-redundant-experts 32 --cuda-graph-max-bs 2`); 2 requests per rank,
# ISL 65,536, OSL 4,096. Baseline: no MTP and no overlap scheduling (MTP does not support overlap scheduling yet).
SGL_H200 = Deployment(
    SGLANG, "SGLang, 16×H200 decode, 2 per GPU", 'model preset "deepseek-v3"', "h200", 16, "tp 1 ; ep 16",
    32, 65536, 4096, PER_GPU, _figure("dsv3-h200-decode-dp16-ep16-baseline", PER_GPU),
    "DeepSeek-V3-0324 (fp8), the decode pool of a PD-disaggregated deployment: 2 nodes of 8×H200, DP attention "
    "16 and DeepEP EP16, 2 requests per GPU (32 in all), ISL 65,536 / OSL 4,096 (dagc: a static plan of the "
    "decode, which attends to prompt + generate / 2); the figure is output tokens/s per rank (GPU); baseline "
    "without MTP and without overlap scheduling, which MTP does not support yet; \"3-token\" and \"4-token\" "
    "MTP windows with topk 1: `--speculative-num-steps 2 --speculative-num-draft-tokens 3` (issue #7998), "
    "so k = 2 drafted tokens, and k = 3 for 4 tokens (num-steps + 1 = draft tokens with topk 1); their 32 "
    "redundant expert slots (18 per GPU) are written as dagc's `ep 16` (16 per GPU)")

DEPLOYMENTS: tuple[Deployment, ...] = (TRT_B200, SGL_H200)

# The published runs are the corpus's (bench/corpus/trtllm-blog-b200-min-latency.json: MTP 1 to 5 with their
# "Acceptance Rate", the accept length; bench/corpus/lmsys-blog-sglang-mtp.json: the 3- and 4-token windows).
CASES: tuple[SpecCase, ...] = (
    *(_case(TRT_B200, f"dsr1-b200-tp8-ep4-batch1-mtp{k}") for k in range(1, 6)),
    _case(SGL_H200, "dsv3-h200-decode-dp16-ep16-mtp3"),
    _case(SGL_H200, "dsv3-h200-decode-dp16-ep16-mtp4"),
)


def plan_of(d: Deployment, tokens: int | None = None, accept_length: float | None = None) -> str:
    """The plan of a deployment, without speculative decoding (tokens None) or with MTP drafting `tokens`."""
    spec = ("" if tokens is None else
            f"  speculative {{ method = mtp  tokens = {tokens}  accept_length = {accept_length} }}")
    return (f"{d.model}\ncluster {{ gpus = {d.gpus}  gpu preset \"{d.gpu}\" }}\n"
            f"workload {{ batch = {d.batch}  prompt = {d.prompt}  generate = {d.generate}{spec} }}\n"
            f"strategy {d.strategy}\n")


@dataclass(frozen=True)
class Run:
    """dagc's figures for one plan."""

    tpot_s: float
    figure: float            # in the deployment's unit
    step_s: float            # the decode step's time (TPOT × tokens per step)
    draft_share: float       # share of the step the draft passes take (0 without speculative decoding)
    path: dict[str, float]   # seconds of the decode critical path by op kind (`OpKind` value)


def _run(d: Deployment, text: str) -> Run:
    r = check(load_plan_text(text, "fidelity-speculative.moe"))[0]
    if r.metrics is None or r.compiled is None:
        codes = ", ".join(x.code for x in r.diagnostics if x.is_error)
        raise RuntimeError(f"dagc computed no metrics for the plan ({codes}):\n{text}")
    m, c = r.metrics, r.compiled
    figure = 1 / m.tpot_s if d.figure == PER_USER else m.decode_tokens_per_s_per_gpu
    spec = speculative_figures(c.dag, c.costs.node_s, c.plan.model, c.plan.workload, m.tpot_s)
    step = spec["step_s"] if spec else m.tpot_s
    path: dict[str, float] = {}
    for t in c.nodes():
        if t.on_critical_path and t.node.phase is Phase.DECODE:
            path[t.node.kind.value] = path.get(t.node.kind.value, 0.0) + t.finish_s - t.start_s
    return Run(m.tpot_s, figure, step, spec["draft_share"] if spec else 0.0, path)


@dataclass(frozen=True)
class Prediction:
    case: SpecCase
    base: Run                # dagc without speculative decoding
    spec: Run                # dagc with the case's MTP and accept length

    @property
    def speedup(self) -> float:
        return self.base.tpot_s / self.spec.tpot_s

    @property
    def published_speedup(self) -> float:
        return self.case.published / self.case.deployment.baseline

    @property
    def step_ratio(self) -> float:
        """dagc's speculative decode step over its plain one."""
        return self.spec.step_s / self.base.step_s

    def growth(self, kind: str) -> float:
        """How much longer the op kind's share of dagc's decode critical path is with MTP than without."""
        return self.spec.path.get(kind, 0.0) / self.base.path[kind] - 1

    def share(self, kind: str) -> float:
        """The op kind's share of dagc's decode critical path without MTP."""
        return self.base.path[kind] / sum(self.base.path.values())

    @property
    def published_step_ratio(self) -> float:
        """The published speculative step over the plain one, implied: accept length / speed-up."""
        return self.case.accept_length / self.published_speedup

    def errors(self) -> dict[str, float]:
        """Relative errors (dagc − published) / published of the speed-up and of the figure with MTP."""
        c = self.case
        return {"speedup": self.speedup / self.published_speedup - 1, "figure": self.spec.figure / c.published - 1}

    def baseline_error(self) -> float:
        return self.base.figure / self.case.deployment.baseline - 1


def predict(c: SpecCase) -> Prediction:
    d = c.deployment
    return Prediction(c, _run(d, plan_of(d)), _run(d, plan_of(d, c.tokens, c.accept_length)))


def _scored(preds: list[Prediction]) -> tuple[list[float], list[float]]:
    """|errors| of the speed-ups, and of the absolute figures (each case's with MTP, each deployment's without)."""
    speed = [abs(p.errors()["speedup"]) for p in preds]
    absolute = [abs(p.errors()["figure"]) for p in preds]
    firsts = {p.case.deployment: p for p in reversed(preds)}
    absolute += [abs(p.baseline_error()) for p in firsts.values()]
    return speed, absolute


def summary(preds: list[Prediction]) -> dict[str, tuple[int, float, float]]:
    """(scored figures, median |error|, worst |error|) of the speed-ups and of the absolute figures."""
    speed, absolute = _scored(preds)
    return {k: (len(v), statistics.median(v), max(v)) for k, v in (("speedup", speed), ("absolute", absolute))}


def _n(x: float) -> str:
    return f"{x:.1f}" if x < 1000 else f"{x:,.0f}"


def _pct(x: float) -> str:
    return f"{x * 100:+.1f} %"


def _more(x: float) -> str:
    return f"{x * 100:.0f} %"


def markdown_section(preds: list[Prediction]) -> list[str]:
    s = summary(preds)
    (ns, meds, worsts), (na, meda, worsta) = s["speedup"], s["absolute"]
    lines = ["## (f) Speculative decoding: published MTP speed-ups", "",
             "Plans of published DeepSeek-V3/R1 runs with and without MTP speculative decoding "
             "(bench/fidelity_speculative.py names each source, its settings and figures). dagc is given the "
             "**accept length the source measured** (`speculative { method = mtp  tokens = k  accept_length = L }`), "
             "so what is tested is the cost dagc charges for verifying k + 1 positions per request and running k "
             "draft passes, not the acceptance. Speed-up = the published figure with MTP / without, against dagc's "
             "TPOT without / with. *Step with / without* is the cost of a speculative decode step relative to a "
             "plain one: published, implied by accept length / speed-up; dagc's, its decode step's time with MTP "
             "/ without. Error = (dagc − published) / published.", "",
             f"Speed-up, over {ns} cases: median |error| **{meds * 100:.1f} %**, worst {worsts * 100:.1f} %. "
             f"Absolute figures (each case with MTP, each deployment without), over {na}: median |error| "
             f"**{meda * 100:.1f} %**, worst {worsta * 100:.1f} %.", "",
             "| deployment | `strategy` | k | accept length | speed-up published / dagc | error | figure | "
             "without MTP published / dagc | with MTP published / dagc | error | step with / without published / "
             "dagc | draft share of dagc's step |",
             "|---|---|---:|---:|---|---:|---|---|---|---:|---|---:|"]
    for p in preds:
        c, d, e = p.case, p.case.deployment, p.errors()
        lines.append(f"| {d.label} | `{d.strategy}` | {c.tokens} | {c.accept_length:.2f} | "
                     f"{p.published_speedup:.2f} / {p.speedup:.2f} | {_pct(e['speedup'])} | {d.figure} | "
                     f"{_n(d.baseline)} / {_n(p.base.figure)} | {_n(c.published)} / {_n(p.spec.figure)} | "
                     f"{_pct(e['figure'])} | {p.published_step_ratio:.2f} / {p.step_ratio:.2f} | "
                     f"{p.spec.draft_share * 100:.1f} % |")
    lines += ["", "Deployments:", ""]
    for d in DEPLOYMENTS:
        pred = next(p for p in preds if p.case.deployment is d)
        lines += [f"- **{d.label}**: {d.note}. dagc without MTP: {_pct(pred.baseline_error())} on the published "
                  f"{_n(d.baseline)} {d.figure}. Plan (`speculative` added per case):", "",
                  "  ```", *("  " + x for x in plan_of(d).rstrip("\n").split("\n")), "  ```", ""]
    lines += ["Sources:", ""] + [f"- {d.source}" for d in DEPLOYMENTS]
    trt = [p for p in preds if p.case.deployment is TRT_B200]
    sgl = [p for p in preds if p.case.deployment is SGL_H200]
    t3 = next(p for p in trt if p.case.tokens == 3)      # the blog's chosen MTP 3
    s2 = sgl[0]
    lines += [
        "", "What the errors say about dagc's speculative step. At one request on B200s (TensorRT-LLM) a "
        f"speculative step costs dagc {min(p.step_ratio for p in trt):.2f} to {max(p.step_ratio for p in trt):.2f} "
        f"plain steps, where TensorRT-LLM's costs {min(p.published_step_ratio for p in trt):.2f} to "
        f"{max(p.published_step_ratio for p in trt):.2f}: dagc prices an op at one request from the calibration "
        "kernels' small-shape timings (sections (b), (d); its rate without MTP is "
        f"{_pct(trt[0].baseline_error())} off TensorRT-LLM's), and those grow little with the tokens: with "
        f"k = {t3.case.tokens} ({t3.case.tokens + 1} positions) its attention takes {_more(t3.growth('attention'))} "
        f"and its routed experts {_more(t3.growth('expert_ffn'))} more time. So "
        "verifying is nearly free in dagc and the speed-up is over-predicted, the more so the more tokens are "
        "drafted; the absolute rates are low by the plain step's error. With 2 requests per GPU at a "
        "67K-token context (SGLang) it is the other way: a speculative step costs dagc "
        f"{min(p.step_ratio for p in sgl):.2f} to {max(p.step_ratio for p in sgl):.2f} plain steps where SGLang's "
        f"costs {min(p.published_step_ratio for p in sgl):.2f} to {max(p.published_step_ratio for p in sgl):.2f}, "
        "and dagc predicts almost no speed-up. dagc costs the verify's attention as k + 1 times the query heads "
        "of its MLA decode, and that MLA decode is the upper bound of Known limits (absorbed MLA written as two "
        f"batched GEMMs over the latent cache): attention is {s2.share('attention') * 100:.0f} % of dagc's plain "
        f"decode path there and takes {_more(s2.growth('attention'))} more time with k = {s2.case.tokens}, where a "
        "fused MLA kernel reads each request's latent cache once for all its k + 1 queries. The draft passes are "
        "a small share of dagc's step in both (last column). The acceptance is given, not predicted: dagc's "
        "`acceptance` form (1 + a + … + aᵏ) is not tested here.", ""]
    return lines


def main() -> int:
    preds = [predict(c) for c in CASES]
    for p in preds:
        c, d = p.case, p.case.deployment
        errs = ", ".join(f"{k} {v * 100:+.1f} %" for k, v in p.errors().items())
        print(f"{d.label:36} k={c.tokens} L={c.accept_length:.2f}  speed-up {p.published_speedup:.2f} / "
              f"{p.speedup:.2f}  {d.figure}: without {_n(d.baseline)} / {_n(p.base.figure)}, with "
              f"{_n(c.published)} / {_n(p.spec.figure)}  step ratio {p.published_step_ratio:.2f} / "
              f"{p.step_ratio:.2f}  draft {p.spec.draft_share * 100:.1f} %  [{errs}]")
    for k, (n, med, worst) in summary(preds).items():
        print(f"speculative {k}: {n} scored figures, median |error| {med * 100:.1f} %, worst {worst * 100:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
