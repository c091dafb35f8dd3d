"""The stages of the SEAGULL-100w build, as pure functions: decode, render, masks, labels, shards.

Nothing in this package reads environment variables or global state; `flows/` and the
`seagull` CLI wire the stages together.
"""
