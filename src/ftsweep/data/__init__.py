"""Training data before money is spent: file checks (`rows`, `fields`, `check`), offline token
counts (`tokens`, `counts`) over a streaming, parallel scan of a JSONL file (`scan`), and cost
estimates and budgets (`cost`, `prices`, `sizes`, `planned`).

Importing this package loads no tokenizer: tiktoken and the fast counter load on first use, so
`ftsweep --help` and `validate` stay fast.
"""
