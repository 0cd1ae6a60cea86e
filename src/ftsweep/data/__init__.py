"""Local training data: offline token counts (`tokens`, `counts`) over a streaming, parallel
scan of a JSONL file (`scan`). Importing this package loads no tokenizer: tiktoken and the fast
counter load on first use, so `ftsweep --help` and `validate` stay fast."""
