"""A Hugging Face config.json's mixture of experts as the plan's `moe` block (`dagc.lang.hf`), under each family's
names: Mixtral, Qwen-MoE, DeepSeek, Llama 4, gpt-oss, GLM, ERNIE 4.5 (`moe_num_experts`, `moe_k`,
`moe_num_shared_experts`, `moe_layer_start_index`, `moe_layer_interval`), Hunyuan (`moe_topk`, per-layer lists,
`num_shared_expert` with `use_mixed_mlp_moe`), Jamba (`expert_layer_period`), Kimi Linear (`num_experts_per_token`,
`num_shared_experts`) and Granite 4.0 (`shared_intermediate_size`). Which layers are MoE, as the engines build them
(vLLM's model files): after the first `dense_layers`, one in `every` — Qwen's `decoder_sparse_step`, ERNIE's
`moe_layer_interval`, Jamba's `expert_layer_period` and Llama 4's `interleave_moe_layer_step` alike (their count;
dagc's `every` places them last in each period); a layout that `dense_layers` and `every` cannot state (ERNIE's MoE
layers ending before the last, Qwen's `mlp_only_layers` other than the first ones, DeepSeek-V2's `moe_layer_freq`
other than 1) is E101 at its key, not costed as another model (until 2026-12-03 ERNIE 4.5 was read as a dense model,
Hunyuan's shared expert left out, and these keys unread).
"""

from __future__ import annotations

from .block_fields import ModelFields, MoeFields
from .fields import MOE_FIELDS
from .hf_reader import HfReader, at_least_one

__all__ = ["EXPERT_KEYS", "TOP_K_KEYS", "map_experts"]

EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts")
TOP_K_KEYS = ("num_experts_per_tok", "experts_per_token", "num_experts_per_token", "moe_k", "moe_topk", "moe_top_k")
# one MoE layer in k after the dense ones: Llama 4 (its dense layers' width in `intermediate_size_mlp`), Qwen, ERNIE
_EVERY_KEYS = ("interleave_moe_layer_step", "decoder_sparse_step", "moe_layer_interval", "expert_layer_period",
               "moe_layer_frequency")
_CANNOT_STATE = ("dagc states a model's dense layers as its first ones (`moe { dense_layers }`) and one in every k "
                 "after them (`moe { every }`): write the model out in full with the nearest of those")


def _expert_key(r: HfReader) -> str | None:
    """The key of the config's expert count, None for a dense model; a count written null or 0 beside the keys of
    experts routed to (`num_experts_per_tok`, `moe_intermediate_size`) is said at it (E103, E104) rather than read as
    a dense model (until 2026-12-03)."""
    cfg = r.cfg
    key = next((k for k in EXPERT_KEYS if cfg.get(k)), None)
    if key is None and any(k in cfg for k in ("num_experts_per_tok", "moe_intermediate_size")):
        key = next((k for k in EXPERT_KEYS if k in cfg), None)       # said by the count's `need`: null, or 0
    return key


def _need(r: HfReader, key: str, name: str) -> int:
    """`HfReader.need` of a count of 1 or more (the `moe` field `name`) that may be written once a layer
    (`HfReader.uniform`)."""
    field = at_least_one(MOE_FIELDS[name])
    if r.cfg.get(key) is None or key not in _LISTED:
        return r.need(key, field)
    return r.uniform(key, field, 0) or 0


# the keys a family writes as a list (Hunyuan: one value a layer; ERNIE 4.5's vision-language models: text and
# vision): read when every element is the same (`HfReader.uniform`); any other key's list is E104, as before
_LISTED = ("moe_num_experts", "moe_topk")


def _shared(r: HfReader, ffn: int | None) -> tuple[int, int | None]:
    """The shared experts and their width: DeepSeek's `n_shared_experts` and ERNIE's `moe_num_shared_experts` (each
    a routed one's width; ERNIE's one MLP of their summed width is the same weights and work), Hunyuan's
    `num_shared_expert` when `use_mixed_mlp_moe`, or Qwen2-MoE's one of `shared_expert_intermediate_size`."""
    cfg = r.cfg
    shared = r.integer("n_shared_experts", MOE_FIELDS["shared"], 0) or 0
    shared = shared or r.integer("num_shared_experts", MOE_FIELDS["shared"], 0) or 0           # Kimi Linear
    shared = shared or r.uniform("moe_num_shared_experts", MOE_FIELDS["shared"], 0) or 0
    if cfg.get("use_mixed_mlp_moe") and not shared:
        shared = r.uniform("num_shared_expert", MOE_FIELDS["shared"], 1) or 0
    shared_ffn: int | None = r.integer("shared_expert_intermediate_size", MOE_FIELDS["shared_ffn"], 0) or 0
    shared_ffn = shared_ffn or r.integer("shared_intermediate_size", MOE_FIELDS["shared_ffn"], 0) or 0   # Granite
    if shared_ffn and not shared:
        shared = 1  # Qwen2-MoE style: one shared expert of that size
    if shared and not shared_ffn:
        shared_ffn = ffn  # DeepSeek: shared experts are the size of a routed one
    if cfg.get("model_type") in ("llama4_text", "llama4"):        # one shared expert of a routed one's width
        shared, shared_ffn = 1, ffn
    # a dense MLP beside the experts in every MoE layer, what a shared expert is: Grok's `residual_moe` (its
    # `intermediate_size`), Arctic's residual MLP (`use_residual`, `parallel_attn_mlp_res`: the hidden size's width);
    # until 2026-12-03 read as absent
    if cfg.get("residual_moe") is True and not shared:
        shared, shared_ffn = 1, r.need("intermediate_size", at_least_one(MOE_FIELDS["shared_ffn"]))
    if (cfg.get("use_residual") is True or cfg.get("parallel_attn_mlp_res") is True) and not shared:
        shared, shared_ffn = 1, r.need("hidden_size", at_least_one(MOE_FIELDS["shared_ffn"]))
    return shared, shared_ffn


def _dense_layers(r: HfReader, layers: int) -> int:
    """The dense layers before the first MoE one: `first_k_dense_replace` (DeepSeek, GLM), `moe_layer_start_index`
    (ERNIE), or Qwen's `mlp_only_layers` when they are the first ones; E101 at a layout of dense layers elsewhere."""
    cfg = r.cfg
    dense = r.integer("first_k_dense_replace", MOE_FIELDS["dense_layers"], 0) or 0
    dense = dense or r.uniform("moe_layer_start_index", MOE_FIELDS["dense_layers"], 0) or 0
    only = cfg.get("mlp_only_layers")
    if isinstance(only, list) and only:
        if only != list(range(len(only))) or dense not in (0, len(only)):
            r.error("E101", "`mlp_only_layers` makes layers dense other than the first ones", "mlp_only_layers",
                    _CANNOT_STATE)
        dense = len(only)
    end = cfg.get("moe_layer_end_index")
    end = end[0] if isinstance(end, list) and end and all(e == end[0] for e in end) else end
    if isinstance(end, int) and not isinstance(end, bool) and 0 <= end < layers - 1:
        r.error("E101", "`moe_layer_end_index` ends the MoE layers before the last layer", "moe_layer_end_index",
                _CANNOT_STATE)
    listed = cfg.get("moe_layers_enum")         # Step-3: the MoE layers, "4,5,…,59"
    if isinstance(listed, str):
        moe = [int(x) for x in listed.split(",") if x.strip().isdigit()]
        if moe and moe == list(range(moe[0], layers)):
            dense = dense or moe[0]
        else:
            r.error("E101", "`moe_layers_enum` makes layers dense other than the first ones", "moe_layers_enum",
                    _CANNOT_STATE)
    freq = cfg.get("moe_layer_freq")
    if freq is not None and freq != 1:
        r.error("E101", "`moe_layer_freq` other than 1 makes layers dense among the MoE ones in a way dagc does not "
                "state", "moe_layer_freq", _CANNOT_STATE)
    return dense


def map_experts(r: HfReader, out: ModelFields, mxfp4_experts: bool) -> None:
    """The moe block: a dense model's ffn, or the routed and shared experts (their weights mxfp4 as
    `mxfp4_experts` says), which layers are MoE, and the activation."""
    cfg = r.cfg
    expert_key = _expert_key(r)
    if expert_key is None:
        out["moe"] = MoeFields(experts=0, dense_layers=out["layers"],
                               dense_ffn=r.need("intermediate_size", at_least_one(MOE_FIELDS["dense_ffn"])))
        return
    experts = _need(r, expert_key, "experts")          # stated, 1 or more (`_expert_key`)
    top_k = _need(r, next((k for k in TOP_K_KEYS if k in cfg), TOP_K_KEYS[0]), "top_k")
    if "moe_intermediate_size" in cfg:      # null: unstated (`MoeFields.ffn`)
        ffn = r.uniform("moe_intermediate_size", at_least_one(MOE_FIELDS["ffn"]))
    else:  # Mixtral: intermediate_size is the expert's
        ffn = r.need("intermediate_size", at_least_one(MOE_FIELDS["ffn"]))
    shared, shared_ffn = _shared(r, ffn)
    dense_layers = _dense_layers(r, out["layers"])
    every_key = next((k for k in _EVERY_KEYS if cfg.get(k) is not None), None)
    every = (r.integer(every_key, MOE_FIELDS["every"], 1) or 1) if every_key else 1
    dense_ffn = r.integer("intermediate_size", MOE_FIELDS["dense_ffn"], 0) if dense_layers or every > 1 else 0
    if every > 1 and every_key == "interleave_moe_layer_step":     # Llama 4: its dense layers are wider
        dense_ffn = r.need("intermediate_size_mlp", MOE_FIELDS["dense_ffn"])
    out["moe"] = moe = MoeFields(experts=experts, top_k=top_k, ffn=ffn, shared=shared, shared_ffn=shared_ffn,
                                 dense_layers=dense_layers, dense_ffn=dense_ffn or 0, gated=True)
    if every > 1:
        moe["every"] = every
    groups = r.integer("n_group", MOE_FIELDS["groups"], 1) or 1          # DeepSeek's group-limited routing
    if groups > 1:
        moe["groups"] = groups
    if mxfp4_experts:
        moe["weights"] = "mxfp4"
    act = cfg.get("mlp_hidden_act", cfg.get("hidden_act", "silu"))       # Nemotron's MLPs: `mlp_hidden_act`
    if act not in ("silu", "swiglu", "gelu", "gelu_new", "relu", "relu2", "gelu_pytorch_tanh"):
        r.error("E101", "`hidden_act` names an activation dagc cannot map", "mlp_hidden_act" if "mlp_hidden_act" in cfg
                else "hidden_act",
                "dagc models SwiGLU (silu) or a plain MLP")
    moe["gated"] = act in ("silu", "swiglu")
