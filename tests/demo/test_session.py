"""Prompts -> ROI mask, and the messages a visitor gets for the mistakes they will make."""

from __future__ import annotations

import numpy as np
import pytest

from seagull.demo import session as sess
from seagull.demo.session import DemoError, SharedSegmenter, create_shared_segmenter


class StubSegmenter:
    """Candidate masks known in advance: a point gets the 10 px square around it, a box its own area."""

    provenance = None

    def set_image(self, image: np.ndarray) -> None:
        self.shape = image.shape[:2]

    def segment_points(self, points: np.ndarray):
        from pipeline.masks import Candidates

        ((x, y),) = points.astype(int)
        mask = np.zeros(self.shape, bool)
        mask[max(y - 5, 0) : y + 5, max(x - 5, 0) : x + 5] = True
        return Candidates.from_masks(mask[None], np.ones(1), np.ones(1))

    def segment_boxes(self, boxes: np.ndarray):
        from pipeline.masks import Candidates

        x0, y0, x1, y1 = boxes[0].astype(int)
        mask = np.zeros(self.shape, bool)
        mask[y0:y1, x0:x1] = True
        return Candidates.from_masks(mask[None], np.ones(1), np.ones(1))


@pytest.fixture
def stub() -> SharedSegmenter:
    return SharedSegmenter(StubSegmenter(), "stub")


@pytest.fixture
def image() -> np.ndarray:
    return np.full((60, 80, 3), 128, np.uint8)


def test_positive_negative_and_box_prompts_compose(stub, image):
    session = sess.click(sess.start(image), 20, 20, sess.POSITIVE, stub)
    assert session.mask.sum() == 100 and session.mask[20, 20]
    session = sess.click(session, 50, 20, sess.POSITIVE, stub)
    assert session.mask.sum() == 200 and session.mask[20, 50]
    session = sess.click(session, 50, 20, sess.NEGATIVE, stub)
    assert session.mask.sum() == 100 and not session.mask[20, 50]
    session = sess.click(session, 10, 40, sess.BOX, stub)
    assert session.corner == (10, 40) and session.mask.sum() == 100  # a first corner changes nothing
    session = sess.click(session, 29, 49, sess.BOX, stub)
    assert session.boxes == ((10, 40, 30, 50),) and session.corner is None
    assert session.mask.sum() == 100 + 200
    assert session.positive == ((20, 20), (50, 20)) and session.negative == ((50, 20),)


@pytest.mark.parametrize("x, y", [(-1, 10), (80, 10), (10, 60), (1000, 1000)])
def test_click_outside_the_image_says_so(stub, image, x, y):
    with pytest.raises(DemoError, match=r"outside the image \(80x60 px\)"):
        sess.click(sess.start(image), x, y, sess.POSITIVE, stub)


def test_mistakes_get_sentences(stub, image):
    with pytest.raises(DemoError, match="Upload an image"):
        sess.start(None)
    with pytest.raises(DemoError, match=r"100x10 pixels; this demo takes at most 64 px per side"):
        sess.start(np.zeros((10, 100, 3), np.uint8), max_side=64)
    with pytest.raises(DemoError, match="before clicking"):
        sess.click(None, 1, 1, sess.POSITIVE, stub)
    with pytest.raises(DemoError, match="click a positive point first"):
        sess.click(sess.start(image), 1, 1, sess.NEGATIVE, stub)
    with pytest.raises(DemoError, match="no ROI yet"):
        sess.require_mask(sess.start(image))
    with pytest.raises(DemoError, match="mask is 10x10 px but the image is 80x60"):
        sess.use_mask(sess.start(image), np.ones((10, 10), np.uint8))
    with pytest.raises(DemoError, match="mask is empty"):
        sess.use_mask(sess.start(image), np.zeros((60, 80), np.uint8))


def test_uploaded_mask_replaces_the_clicks(stub, image):
    session = sess.click(sess.start(image), 20, 20, sess.POSITIVE, stub)
    uploaded = np.zeros((60, 80), np.uint8)
    uploaded[0:3, 0:4] = 255
    session = sess.use_mask(session, uploaded)
    assert session.mask.sum() == 12 and session.positive == () and session.source == "uploaded mask"


def test_overlay_tints_the_roi_only(stub, image):
    session = sess.click(sess.start(image), 20, 20, sess.POSITIVE, stub)
    drawn = sess.overlay(session)
    assert drawn.shape == image.shape and drawn.dtype == np.uint8
    assert (drawn[40:, 60:] == image[40:, 60:]).all()  # far from the ROI and the marker: untouched
    assert (drawn[17, 23] != image[17, 23]).any()  # inside the ROI: tinted
    assert (session.pixels == 128).all()  # the session's image is never drawn on


def test_weight_free_default_segments_a_click_on_a_real_photo():
    from skimage import data as skdata

    photo = skdata.astronaut()[::4, ::4].copy()  # 128 x 128
    shared = create_shared_segmenter("felzenszwalb_rag")
    session = sess.click(sess.start(photo), 64, 40, sess.POSITIVE, shared)
    assert session.mask[40, 64] and 0 < session.mask.sum() < photo.shape[0] * photo.shape[1]
    assert shared.name == "felzenszwalb_rag (weight-free)"


def test_a_drag_adds_its_box_clipped_to_the_image(stub, image):
    session = sess.drag(sess.start(image), (70.0, 50.0), (500.0, 500.0), stub)
    assert session.boxes == ((70, 50, 80, 60),) and session.mask.sum() == 100
    with pytest.raises(DemoError, match="no area inside the image"):
        sess.drag(sess.start(image), (-5.0, 10.0), (-1.0, 20.0), stub)
