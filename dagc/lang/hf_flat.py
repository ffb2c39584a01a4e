"""Config.json formats whose keys are named or nested otherwise, read as the flat Hugging Face keys `dagc.lang.hf` maps:
DBRX's (`d_model`, `n_layers`, `n_heads`, `attn_config { kv_n_heads }`, `ffn_config { ffn_hidden_size,
moe_num_experts, moe_top_k }`, `max_seq_len`) and Step-3's KV heads (`num_attention_groups`). A key the config
states flat is kept as it is. Until 2026-12-03 DBRX was refused (E103 asking for the flat keys), and once they were
added its nested blocks went unread: a dense 15 B model for a 132 B MoE one.
"""

from __future__ import annotations

__all__ = ["flat_config"]

# (flat key, the nested block it is in or None, the key there)
_DBRX = (("hidden_size", None, "d_model"), ("num_hidden_layers", None, "n_layers"),
         ("num_attention_heads", None, "n_heads"), ("max_position_embeddings", None, "max_seq_len"),
         ("num_key_value_heads", "attn_config", "kv_n_heads"), ("intermediate_size", "ffn_config", "ffn_hidden_size"),
         ("num_local_experts", "ffn_config", "moe_num_experts"), ("num_experts_per_tok", "ffn_config", "moe_top_k"))


def flat_config(cfg: dict[str, object]) -> dict[str, object]:
    """`cfg` with the flat keys its DBRX or Step-3 names stand for (none: `cfg` itself).

    Example:
        >>> flat_config({"d_model": 6144, "n_layers": 40, "ffn_config": {"moe_num_experts": 16, "moe_top_k": 4}})[
        ...     "num_local_experts"]
        16
    """
    out = dict(cfg)
    if isinstance(cfg.get("ffn_config"), dict) or "d_model" in cfg:
        for flat, block, key in _DBRX:
            nested = cfg.get(block) if block is not None else cfg
            if isinstance(nested, dict) and key in nested and flat not in out:
                out[flat] = nested[key]
        ffn = cfg.get("ffn_config")
        act = ffn.get("ffn_act_fn") if isinstance(ffn, dict) else None
        if isinstance(act, dict) and isinstance(act.get("name"), str) and "hidden_act" not in out:
            out["hidden_act"] = act["name"]
    if "num_attention_groups" in cfg and "num_key_value_heads" not in out:         # Step-3: its KV heads
        out["num_key_value_heads"] = cfg["num_attention_groups"]
    return out if out != cfg else cfg
