// Regions read at an output size: level choice on the whole grid, then a Lanczos reduction.
#include "scaled_region.h"

#include <algorithm>
#include <cmath>

#include "resample.h"

namespace reread {

int level_for_scale(const SlideInfo& info, double scale) {
  int best = 0;
  for (int l = 1; l < info.level_count(); ++l) {
    if (info.grid_downsample(l) <= scale) best = l;
  }
  return best;
}

RgbImage read_scaled_region(const SlideSource& slide, std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h,
                            int out_w, int out_h) {
  const SlideInfo& info = slide.info();
  const double scale = std::min(static_cast<double>(w) / out_w, static_cast<double>(h) / out_h);
  const int level = level_for_scale(info, scale);
  const double ds = info.level_downsamples[level];
  const auto lw = static_cast<int>(std::max<double>(1.0, std::ceil(static_cast<double>(w) / ds)));
  const auto lh = static_cast<int>(std::max<double>(1.0, std::ceil(static_cast<double>(h) / ds)));
  RgbImage img = slide.read_region(x, y, level, lw, lh);
  if (img.width != out_w || img.height != out_h) img = resize_lanczos(img, out_w, out_h);
  return img;
}

}  // namespace reread
