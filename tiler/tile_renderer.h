// Renders one DeepZoom tile the way DeepZoomGenerator does: pick the slide level, read, scale.
// (Levels whose rounded sizes make their downsample a hair off a whole factor are read on their
// whole grid, which DeepZoomGenerator passes over; see on_whole_grid.)
#pragma once

#include <cstdint>
#include <vector>

#include "deepzoom_geometry.h"
#include "image_codec.h"
#include "slide_source.h"

namespace reread {

class TileRenderer {
 public:
  TileRenderer(const SlideSource& slide, DeepZoomOptions options);
  const DeepZoomGeometry& geometry() const { return geometry_; }
  // Throws std::out_of_range outside the grid, SlideError when the slide cannot be read.
  RgbImage render(int dz_level, std::int64_t col, std::int64_t row) const;
  std::vector<std::uint8_t> render_encoded(int dz_level, std::int64_t col, std::int64_t row, TileFormat format,
                                           int quality) const;

 private:
  TileSource on_whole_grid(int dz_level, const TileSource& reference) const;
  const SlideSource& slide_;
  DeepZoomGeometry geometry_;
};

}  // namespace reread
