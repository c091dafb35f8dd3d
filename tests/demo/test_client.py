"""The demo through the Gradio client API: an image and a point in, the three answers out."""

from __future__ import annotations

import pytest

from pipeline.levels import IMPORTANCE_WORDS, QUALITY_WORDS, SEVERITY_WORDS
from pipeline.taxonomy import DISTORTION_TYPES


@pytest.fixture(scope="module")
def client(served):
    from gradio_client import Client

    return Client(served, verbose=False, download_files=False)


@pytest.mark.slow
def test_point_gives_three_answers_from_the_closed_sets(client, example_png):
    from gradio_client import handle_file

    result = client.predict(handle_file(str(example_png)), 192, 90, api_name="/assess_point")
    for task, words in (("quality", QUALITY_WORDS), ("importance", IMPORTANCE_WORDS)):
        answer = result[task]
        assert answer["word"] in words
        assert list(answer["probabilities"]) == list(words)
        assert sum(answer["probabilities"].values()) == pytest.approx(1, abs=1e-4)
        assert 1 <= answer["score"] <= 5
    distortion = result["distortion"]
    assert isinstance(distortion["answer"], str)
    assert all(d["type"] in DISTORTION_TYPES for d in distortion["present"])
    assert list(distortion["severity_probabilities"]) == list(SEVERITY_WORDS)
    assert list(distortion["type_probabilities"]) == list(DISTORTION_TYPES)
    assert 0 < result["roi_area"] < 384 * 288
    assert result["segmenter"] == "felzenszwalb_rag (weight-free)"
    assert result["meaningful"] is False and "random base weights" in result["model"]


@pytest.mark.slow
def test_click_outside_the_image_is_a_sentence_not_a_traceback(client, example_png):
    from gradio_client import handle_file

    with pytest.raises(Exception, match=r"outside the image \(384x288 px\)") as caught:
        client.predict(handle_file(str(example_png)), 500, 30, api_name="/assess_point")
    assert "Traceback" not in str(caught.value)
