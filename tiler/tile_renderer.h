// Renders one DeepZoom tile the way DeepZoomGenerator does: pick the slide level, read, scale.
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
  const SlideSource& slide_;
  DeepZoomGeometry geometry_;
};

}  // namespace reread
