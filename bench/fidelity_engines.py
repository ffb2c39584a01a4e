"""Fidelity with engine-measured kernel profiles (`dagc kernels import`): dagc against the same package's
own static estimates, and against published serving measurements.

Needs the optional extra (`pip install 'dagc[engines]'`, which installs aiconfigurator-core); run

    python bench/fidelity_engines.py            # prints the tables, writes bench/engine_fidelity.json

bench/fidelity.py renders section (g) of docs/fidelity.md from the JSON this writes, so the document
regenerates on a machine without the extra; re-run this script after a cost-model change or a new
aiconfigurator-core release, then bench/fidelity.py.

(a) Static batch against aiconfigurator's own estimate. Each case is compiled by dagc three ways — the
built-in profile, the engine profile without its `glue` (the unfused reference's glue steps), the engine
profile as imported — and set against the package's `run_static` on the same layout: attention TP and
DP, MoE EP, the same batch (aiconfigurator's batch is per attention-DP rank), its `balanced` expert
distribution (dagc: `routing = uniform`) and a bf16 KV cache.

(b) The in-flight cases of bench/fidelity_inflight.py (published measurements, each source named), with
the profile of the engine and GPU the source ran: TPOT and output tokens/s per GPU scored as there.

(c) Every run of the public corpus (bench/corpus/, as bench/fidelity_corpus.py runs it) whose GPU has
engine tables, with the profile imported for its engine and GPU (`kernels from` in its cluster): how far
the engine's kernel tables alone take dagc, per quantity and half, and how many runs dagc makes faster
than measured (a time below, a rate above).

    python bench/fidelity_engines.py --corpus     # (c) alone, printed (not written)
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "bench"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import fidelity_corpus  # noqa: E402, I001  (bench/, on the path above)
import fidelity_inflight  # noqa: E402, I001  (bench/, on the path above)
from dagc.diagnostics import PlanError  # noqa: E402
from dagc.kernels.engine_import import ENGINES, SYSTEM_GPUS, EngineImportError, import_profile  # noqa: E402
from dagc.lang.load import load_plan_text  # noqa: E402
from dagc.verdict.check import check  # noqa: E402

__all__ = ["RESULTS", "StaticCase", "markdown_section"]

RESULTS = ROOT / "bench" / "engine_fidelity.json"
SYSTEM = "h200_sxm"
# the GPU of a published case → aiconfigurator's system of that GPU
SYSTEMS = {"h200": "h200_sxm", "b200": "b200_sxm", "h100-sxm": "h100_sxm"}
# the engine a published source ran
SOURCE_ENGINES = {fidelity_inflight.INFERENCEX: "sglang", fidelity_inflight.SGL_QWEN: "sglang",
                  fidelity_inflight.SGL_DSR1: "sglang", fidelity_inflight.TRTLLM: "trtllm"}


@dataclass(frozen=True)
class StaticCase:
    model: str              # dagc preset
    hf: str                 # aiconfigurator's model id
    strategy: str           # dagc strategy
    tp: int                 # aiconfigurator: attention TP, attention DP, MoE EP
    dp: int
    ep: int
    batch: int              # the whole batch (dagc's); aiconfigurator takes batch / dp per rank
    prompt: int = 1024
    generate: int = 256


CASES = (StaticCase("qwen3-30b-a3b", "Qwen/Qwen3-30B-A3B", "tp 1 ; ep 8", 1, 8, 8, 64),
         StaticCase("deepseek-v3", "deepseek-ai/DeepSeek-V3", "tp 8 ; ep 8", 8, 1, 8, 64))


def _dagc(model: str, strategy: str, kernels: Path | None, workload: str, gpu: str = "h200",
          gpus: int = 8) -> dict[str, float]:
    clause = f'  kernels from "{kernels.name}"' if kernels else ""
    text = (f'model preset "{model}"\ncluster {{ gpus = {gpus}  gpu preset "{gpu}"{clause} }}\n'
            f"workload {{ {workload} }}\nstrategy {strategy}\n")
    r = check(load_plan_text(text, "fidelity-engines.moe", kernels.parent if kernels else None))[0]
    if r.metrics is None:
        raise RuntimeError(f"dagc computed no metrics for:\n{text}")
    m = r.metrics
    return {"ttft_ms": m.ttft_s * 1e3, "tpot_ms": m.tpot_s * 1e3,
            "output_per_gpu": m.decode_tokens_per_s_per_gpu}


def _aiconfigurator(c: StaticCase, engine: str) -> dict[str, float]:
    import aiconfigurator_core.sdk.engine as aic  # type: ignore[import-not-found]

    build = aic.build_model_config

    def balanced(*a: Any, **k: Any) -> Any:
        config = build(*a, **k)
        config.workload_distribution = "balanced"      # even routing, as dagc's `routing = uniform`
        return config
    aic.build_model_config = balanced
    try:
        handle = aic.EngineHandle.compile(c.hf, SYSTEM, engine, tp_size=c.tp, attention_dp_size=c.dp, moe_tp_size=1,
                                          moe_ep_size=c.ep, kvcache_quant_mode="bfloat16",
                                          fmha_quant_mode="bfloat16")
        ctx, gen, _ = handle.run_static(batch_size=c.batch // c.dp, isl=c.prompt, osl=c.generate)
    finally:
        aic.build_model_config = build
    return {"ttft_ms": ctx, "tpot_ms": gen / (c.generate - 1)}


def _profiles(folder: Path, system: str) -> dict[str, tuple[Path, Path]]:
    """engine → (the imported profile, the same without its glue), written into `folder`."""
    out = {}
    for engine in ENGINES:
        doc = import_profile(system, engine)
        full, bare = folder / f"{system}-{engine}.json", folder / f"{system}-{engine}-noglue.json"
        full.write_text(json.dumps(doc, separators=(",", ":")))         # as `dagc kernels import` writes it
        bare.write_text(json.dumps({k: v for k, v in doc.items() if k != "glue"}, separators=(",", ":")))
        out[engine] = (full, bare)
    return out


def measure() -> dict:
    version = metadata.version("aiconfigurator-core")
    static, published = [], []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        profiles = {SYSTEM: _profiles(folder, SYSTEM)}
        for c in CASES:
            workload = f"batch = {c.batch}  prompt = {c.prompt}  generate = {c.generate}  routing = uniform"
            builtin = _dagc(c.model, c.strategy, None, workload)
            for engine in ENGINES:
                full, bare = profiles[SYSTEM][engine]
                static.append({"model": c.model, "strategy": c.strategy, "engine": engine,
                               "release": json.loads(full.read_text())["provenance"]["source"].rsplit(" ", 1)[1],
                               "builtin": builtin, "no_glue": _dagc(c.model, c.strategy, bare, workload),
                               "engine_profile": _dagc(c.model, c.strategy, full, workload),
                               "aiconfigurator": _aiconfigurator(c, engine)})
        for p in fidelity_inflight.CASES:
            engine, system = SOURCE_ENGINES[p.source], SYSTEMS[p.gpu]
            if system not in profiles:
                profiles[system] = _profiles(folder, system)
            workload = (f"batch = {p.concurrency} prompt = {p.prompt} generate = {p.generate} serving = inflight "
                        f"chunk = {p.chunk}")
            published.append({"case": asdict(p), "engine": engine, "system": system,
                              "builtin": _dagc(p.model, p.strategy, None, workload, p.gpu, p.gpus),
                              "engine_profile": _dagc(p.model, p.strategy, profiles[system][engine][0], workload,
                                                      p.gpu, p.gpus)})
        corpus = measure_corpus(folder, profiles)
    return {"aiconfigurator_core": version, "static": static, "published": published, "corpus": corpus}


def measure_corpus(folder: Path, profiles: dict[str, dict[str, tuple[Path, Path]]] | None = None) -> list[dict]:
    """(c): every corpus run on a GPU with engine tables, its plan with `kernels from` the imported profile of
    its engine and GPU (written into `folder`, or taken from `profiles`): its errors, as fidelity_corpus
    scores them, and its half."""
    profiles = {} if profiles is None else profiles
    system_of = {gpu: system for system, gpu in SYSTEM_GPUS.items()}
    half = fidelity_corpus.halves()
    rows = []
    for f in fidelity_corpus.load_corpus():
        for run in f.runs:
            system = system_of.get(run.gpu)
            if system is None:
                continue
            if system not in profiles:
                profiles[system] = _profiles(folder, system)
            path = profiles[system][run.engine][0]
            text = fidelity_corpus.with_engine(run.plan, run.engine)
            at = text.index("cluster {") + len("cluster {")
            text = f'{text[:at]} kernels from "{path.name}" {text[at:]}'
            row = {"source": f.source.id, "run": run.id, "engine": run.engine, "system": system,
                   "half": half.get(f.source.id, "unsplit"), "errors": {}, "why": None}
            try:
                figs, row["why"] = fidelity_corpus.dagc_figures(load_plan_text(text, f"{run.id}.moe", folder),
                                                                 run.client)
            except PlanError as e:
                figs, row["why"] = {}, f"the plan does not lower: {e}"
            row["errors"] = fidelity_corpus.errors(run.measured, figs)
            rows.append(row)
    return rows


def faster(key: str, error: float) -> bool:
    """Whether dagc's figure of `key` is faster than the measured one: a time below it, a rate above."""
    return (error > 0) == (fidelity_corpus.quantity(key) == "throughput")


def corpus_summary(rows: list[dict]) -> dict[str, Any]:
    """Per half and quantity: runs, median |error|, worst, signed median; and the runs dagc makes faster (most
    of their figures faster than measured) out of those scored."""
    out: dict[str, Any] = {"halves": fidelity_corpus.summarise(rows)}
    scored = [r for r in rows if r["errors"]]
    out["faster"] = sum(sum(faster(k, e) for k, e in r["errors"].items()) * 2 > len(r["errors"]) for r in scored)
    out["scored"], out["refused"] = len(scored), len(rows) - len(scored)
    return out


# ---------------------------------------------------------------- the section of docs/fidelity.md

def _err(x: float, ref: float) -> float:
    return (x - ref) / ref


def _scored(row: dict, which: str) -> list[float]:
    c, got = row["case"], row[which]
    out = []
    if c["tpot_ms"] is not None:
        out.append(_err(got["tpot_ms"], c["tpot_ms"]))
    if c["output_per_gpu"] is not None:
        out.append(_err(got["output_per_gpu"], c["output_per_gpu"]))
    return out


def summary(results: dict) -> dict[str, float]:
    """Median and worst |error| of decode TPOT and TTFT against aiconfigurator (engine profile, and
    built-in), and of the published figures (engine profile, built-in)."""
    s = results["static"]
    tpot = [abs(_err(r["engine_profile"]["tpot_ms"], r["aiconfigurator"]["tpot_ms"])) for r in s]
    ttft = [abs(_err(r["engine_profile"]["ttft_ms"], r["aiconfigurator"]["ttft_ms"])) for r in s]
    tpot_b = [abs(_err(r["builtin"]["tpot_ms"], r["aiconfigurator"]["tpot_ms"])) for r in s]
    pub = [abs(e) for r in results["published"] for e in _scored(r, "engine_profile")]
    pub_b = [abs(e) for r in results["published"] for e in _scored(r, "builtin")]
    return {"tpot_worst": max(tpot), "ttft_worst": max(ttft), "tpot_builtin_worst": max(tpot_b),
            "tpot_builtin_best": min(tpot_b), "published_median": statistics.median(pub),
            "published_worst": max(pub), "published_builtin_median": statistics.median(pub_b)}


def markdown_section(results: dict) -> list[str]:
    s = summary(results)
    pct = lambda x: f"{x * 100:.1f} %"      # noqa: E731
    lines = ["## (g) Engine-measured kernel profiles", "",
             f"Profiles converted by `dagc kernels import` from aiconfigurator-core {results['aiconfigurator_core']} "
             "(docs/kernels.md); figures from `python bench/fidelity_engines.py`, which needs the extra "
             "`dagc[engines]` and records them in bench/engine_fidelity.json. Error = (dagc − reference) / "
             "reference.", "",
             "**Against aiconfigurator's own static estimate** (H200, 8 GPUs, batch 64, 1,024 in / 256 out, even "
             "routing, bf16 KV cache; aiconfigurator's `run_static` on the same layout). With the engine profile "
             f"decode TPOT is within {pct(s['tpot_worst'])} and TTFT within {pct(s['ttft_worst'])} of it in "
             f"every case; with the built-in profile TPOT was {pct(s['tpot_builtin_best'])} to "
             f"{pct(s['tpot_builtin_worst'])} off.", "",
             "| model, strategy | engine | TPOT ms: built-in / engine without glue / engine / aiconfigurator | "
             "TPOT error | TTFT ms: built-in / engine / aiconfigurator | TTFT error |",
             "|---|---|---|---:|---|---:|"]
    for r in results["static"]:
        b, n, e, a = r["builtin"], r["no_glue"], r["engine_profile"], r["aiconfigurator"]
        lines.append(f"| {r['model']}, `{r['strategy']}` | {r['engine']} {r['release']} | {b['tpot_ms']:.1f} / "
                     f"{n['tpot_ms']:.1f} / {e['tpot_ms']:.1f} / {a['tpot_ms']:.1f} | "
                     f"{_err(e['tpot_ms'], a['tpot_ms']) * 100:+.1f} % | {b['ttft_ms']:.0f} / {e['ttft_ms']:.0f} / "
                     f"{a['ttft_ms']:.0f} | {_err(e['ttft_ms'], a['ttft_ms']) * 100:+.1f} % |")
    lines += ["", "**Against published serving measurements**: the in-flight cases of section (d), each with the "
              "profile of the engine and GPU its source ran. Over the scored figures (TPOT, output tokens/s per "
              f"GPU): median |error| **{pct(s['published_median'])}** with the engine profiles "
              f"(worst {pct(s['published_worst'])}), {pct(s['published_builtin_median'])} with the built-in ones.",
              "",
              "| source | model, GPUs, strategy | in flight | profile | TPOT ms measured / built-in / engine | "
              "output tok/s/GPU measured / built-in / engine |",
              "|---|---|---:|---|---|---|"]
    for r in results["published"]:
        c, b, e = r["case"], r["builtin"], r["engine_profile"]
        tpot = "—" if c["tpot_ms"] is None else f"{c['tpot_ms']:.1f}"
        out = "—" if c["output_per_gpu"] is None else f"{c['output_per_gpu']:.0f}"
        lines.append(f"| {c['source'].split(' (')[0]} | {c['model']}, {c['gpus']}×{c['gpu']}, `{c['strategy']}` | "
                     f"{c['concurrency']} | {r['engine']} {r['system']} | {tpot} / {b['tpot_ms']:.1f} / "
                     f"{e['tpot_ms']:.1f} | {out} / {b['output_per_gpu']:.0f} / {e['output_per_gpu']:.0f} |")
    lines += ["", "Sources: as section (d).", ""]
    if results.get("corpus"):
        lines += corpus_lines(results["corpus"])
    return lines


def corpus_lines(rows: list[dict]) -> list[str]:
    """(c) as Markdown: per half and quantity, the runs, median and worst |error| and the signed median."""
    s = corpus_summary(rows)
    lines = ["**The public corpus with the engine profiles alone**: every run of section (h) on a GPU with engine "
             "tables, its plan given the profile imported for its engine and GPU (`kernels from`). dagc is faster "
             f"than measured in {s['faster']} of {s['scored']} runs scored ({s['refused']} without figures).", "",
             "| half | quantity | runs | median |error| | worst | signed median |", "|---|---|---:|---:|---:|---:|"]
    for half, qs in sorted(s["halves"].items()):
        for q, v in sorted(qs.items()):
            lines.append(f"| {half} | {q} | {v['count']} | {v['median'] * 100:.1f} % | {v['worst'] * 100:.1f} % | "
                         f"{v['bias'] * 100:+.1f} % |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--corpus"]:
        with tempfile.TemporaryDirectory() as tmp:
            rows = measure_corpus(Path(tmp))
        print(json.dumps({"summary": corpus_summary(rows), "rows": rows}, indent=1, sort_keys=True))
        return 0
    try:
        results = measure()
    except EngineImportError as e:
        print(f"fidelity_engines: {e}", file=sys.stderr)
        return 2
    RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print("\n".join(markdown_section(results)))
    print(f"written: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
