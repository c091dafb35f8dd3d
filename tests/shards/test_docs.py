"""The plain-webdataset example of docs/shards.md runs as written on real shards."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).parents[2] / "docs" / "shards.md"


def test_plain_webdataset_example_runs(built):
    text = DOCS.read_text()
    section = text[text.index("### The same shards with plain webdataset") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    code = code.replace('"shards/', f'"{built}/')
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 - the documentation's own example
    record = namespace["record"]  # the last distorted sample of shard 1: ref-c, blur level 2
    assert record["key"] == "ref-c_blur_02" and namespace["reference"].shape == (40, 56, 3)
    assert len(namespace["masks"]) == 1 and namespace["masks"][0].shape == (40, 56)
    assert namespace["quality"] == [roi["quality"] for roi in record["rois"]]
