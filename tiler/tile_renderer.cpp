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
  if (src->output_size != src->read_size) {
    // Reducing by 2x or more: let the JPEG decoder shrink by the largest power of two the reduction
    // allows (libjpeg-turbo's DCT scaling); it decodes a quarter of the pixels or fewer, and the
    // Lanczos step only does what is left.
    const double ratio =
        std::min(static_cast<double>(src->read_size.width) / static_cast<double>(src->output_size.width),
                 static_cast<double>(src->read_size.height) / static_cast<double>(src->output_size.height));
    int scale = 1;
    while (scale < 8 && scale * 2 <= ratio) scale *= 2;
    if (scale > 1) {
      RgbImage small(static_cast<int>((src->read_size.width + scale - 1) / scale),
                     static_cast<int>((src->read_size.height + scale - 1) / scale));
      if (slide_.read_region_dct_scaled(src->l0_x, src->l0_y, src->slide_level, scale, small.width, small.height,
                                        small.pixels.data(), small.stride())) {
        return resize_lanczos(small, static_cast<int>(src->output_size.width),
                              static_cast<int>(src->output_size.height));
      }
    }
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
