#include "tile_renderer.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "resample.h"

namespace reread {

TileRenderer::TileRenderer(const SlideSource& slide, DeepZoomOptions options)
    : slide_(slide), geometry_(slide.info().geometry(), options) {}

RgbImage TileRenderer::render(int dz_level, std::int64_t col, std::int64_t row) const {
  const auto src = geometry_.tile(dz_level, col, row);
  if (!src) {
    throw std::out_of_range("tile " + std::to_string(dz_level) + "/" + std::to_string(col) + "_" + std::to_string(row) +
                            " is outside the DeepZoom grid");
  }
  RgbImage img = slide_.read_region(src->l0_x, src->l0_y, src->slide_level, static_cast<int>(src->read_size.width),
                                    static_cast<int>(src->read_size.height));
  if (src->output_size != src->read_size) {
    img = resize_lanczos(img, static_cast<int>(src->output_size.width), static_cast<int>(src->output_size.height));
  }
  return img;
}

std::vector<std::uint8_t> TileRenderer::render_encoded(int dz_level, std::int64_t col, std::int64_t row,
                                                       TileFormat format, int quality) const {
  return encode_tile(render(dz_level, col, row), format, quality);
}

}  // namespace reread
