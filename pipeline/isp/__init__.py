"""ISP stages, one small pure module each, in the order a camera applies them.

mosaic noise (`noise`) -> demosaic (`demosaic`) -> white balance (`white_balance`) -> colour matrix
(`color_matrix`) -> exposure gain + highlight clip (`exposure`) -> defocus blur (`blur`) -> tone curve
and contrast (`tone`) -> colorfulness (`colorfulness`) -> sRGB gamma / 8 bit (`tone`) -> JPEG (`compression`).

Every stage takes and returns numpy arrays; none reads presets files or global state.
"""
