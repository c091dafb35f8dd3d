"""The ISP parameter that made each distorted image travels with it: sample JSON, manifest row, card."""

from __future__ import annotations

import dataclasses
import json
import tarfile

import pandas as pd

from pipeline.presets import load_presets
from pipeline.shards import finalize


def test_parameter_in_sample_json_manifest_and_card(tmp_path, group_factory, build_chunks):
    presets = load_presets()
    group = group_factory("ref-p", 5)
    variants = [
        dataclasses.replace(v, isp=presets.distortions[v.dist_type].describe(v.level)) for v in group.variants
    ]
    out = tmp_path / "shards"
    build_chunks(out, [[dataclasses.replace(group, variants=variants)]])
    finalize(out)

    expected = {(v.dist_type, v.level): v.isp for v in variants}
    with tarfile.open(next(out.glob("*.tar"))) as tar:
        records = [json.load(tar.extractfile(m)) for m in tar.getmembers() if m.name.endswith(".json")]
    distorted = [r for r in records if r["dist_type"] != "reference"]
    assert len(distorted) == len(variants)
    for record in distorted:
        isp = record["isp"]
        assert isp == expected[record["dist_type"], record["level"]]
        assert set(isp) == {"module", "name", "value", "unit", "direction", "params"}
        assert isp["value"] == isp["params"][isp["name"]]
    assert "isp" not in next(r for r in records if r["dist_type"] == "reference")

    frame = pd.read_parquet(out / "manifest.parquet")
    for row in frame.itertuples():
        isp = expected[row.dist_type, row.level]
        assert (row.isp_parameter, row.isp_value, row.isp_unit) == (isp["name"], isp["value"], isp["unit"])
        assert json.loads(row.isp_params) == isp["params"]
        if row.dist_type == "exposure":  # two-way: the direction is named
            assert row.isp_direction == ("under" if row.isp_value < 0 else "over")
        else:
            assert pd.isna(row.isp_direction)

    card = (out / "README.md").read_text()
    section = card[card.index("## ISP parameters") :]
    assert "`ev`, EV" in section and "`shot`" in section and "`radius`" in section
    exposure_1 = presets.distortions["exposure"].describe(1)
    assert f"| 1 | {exposure_1['value']:g} {exposure_1['direction']} |" in section
    assert " nan" not in section
