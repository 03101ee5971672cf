// A level-0 region of a slide read at a chosen output size, from the coarsest level that is still fine
// enough: what IIIF regions, thumbnails and report snapshots need.
#pragma once

#include <cstdint>

#include "rgb_image.h"
#include "slide_source.h"

namespace reread {

// The level to read a region `scale` times smaller from: the coarsest whose whole-grid downsample is
// not above `scale`.
int level_for_scale(const SlideInfo& info, double scale);
// [x, x+w) x [y, y+h) in level-0 pixels, as out_w x out_h (Lanczos from the level read). Throws SlideError.
RgbImage read_scaled_region(const SlideSource& slide, std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h,
                            int out_w, int out_h);

}  // namespace reread
