// Image resampling: the Lanczos reduction DeepZoom tiles use, and the 2x2 box halving of pyramids.
#pragma once

#include <cstdint>

#include "rgb_image.h"

namespace reread {

// Resizes to (width, height) the way Pillow's thumbnail does for DeepZoomGenerator: an integer
// box reduction while the image is at least twice the target, then separable Lanczos-3.
RgbImage resize_lanczos(const RgbImage& src, int width, int height);

// Halves `rows` (1 or 2) source rows of `src_width` pixels into one row of ceil(src_width/2)
// pixels, averaging each 2x2 (or edge 2x1/1x2/1x1) block with rounding.
void halve_row(const std::uint8_t* row0, const std::uint8_t* row1, int src_width, std::uint8_t* dst);

}  // namespace reread
