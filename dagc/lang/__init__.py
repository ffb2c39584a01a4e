"""The plan language: `.moe` text → syntax tree (Lark) → `Plan`; a strategy's text → `Strategy`."""
