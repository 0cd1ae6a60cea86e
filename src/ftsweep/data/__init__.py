"""Training data before money is spent: file checks, offline token counts, cost estimates.

Nothing heavy is imported here: the tokenizer loads when a count is first asked for.
"""
