"""SEAGULL: ConvNeXt encoder, Mask-based Feature Extractor and an LLM with LoRA."""
