"""The click-to-assess web demo (`seagull demo`): Gradio page, per-visitor sessions, model slot.

`session` (prompts -> ROI mask, no Gradio), `assessor` (model loading and answers, no Gradio),
`examples` (example images from shards) and `app` (the page; imports gradio).
"""
