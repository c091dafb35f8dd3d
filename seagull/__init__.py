"""The `seagull` command-line tool: one front for the SEAGULL-100w build and the model."""

__version__ = "0.1.0"
