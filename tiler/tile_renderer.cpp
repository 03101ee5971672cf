#include "tile_renderer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "resample.h"

namespace reread {

TileRenderer::TileRenderer(const SlideSource& slide, DeepZoomOptions options)
    : slide_(slide), geometry_(slide.info().geometry(), options) {}

// DeepZoomGenerator works through each level's reported downsample. On a level whose rounded size
// reports 4.000075 for a 4x level, that costs twice: a 4x tile passes the level over for one twice as
// fine (four times the pixels to decode, then a resize), and origins computed in floating point land a
// pixel short of the grid (48751 for 8 x 6094), which only OpenSlide's interpolating reader can serve.
// Such a level still lies on the whole 4x grid (SlideInfo::grid_downsample): the tile is read from it
// there, at the origin the DeepZoom grid meant. Slides whose downsamples are whole keep the reference read.
TileSource TileRenderer::on_whole_grid(int dz_level, const TileSource& reference) const {
  const SlideInfo& info = slide_.info();
  const double dz_ds = std::ldexp(1.0, geometry_.level_count() - 1 - dz_level);
  const auto snap = [dz_ds](std::int64_t l0, std::int64_t offset) {
    const auto meant = offset + static_cast<std::int64_t>(std::round(static_cast<double>(l0 - offset) / dz_ds) * dz_ds);
    return std::abs(meant - l0) <= 1 ? meant : l0;
  };
  const std::int64_t x = snap(reference.l0_x, geometry_.offset_x());
  const std::int64_t y = snap(reference.l0_y, geometry_.offset_y());
  const double tile_ds =
      info.level_downsamples[reference.slide_level] *
      std::min(static_cast<double>(reference.read_size.width) / static_cast<double>(reference.output_size.width),
               static_cast<double>(reference.read_size.height) / static_cast<double>(reference.output_size.height));
  int chosen = -1;
  for (int l = reference.slide_level; l < info.level_count(); ++l) {
    const double k = info.grid_downsample(l);
    const auto whole = static_cast<std::int64_t>(k);
    if (l > reference.slide_level && k > tile_ds * (1.0 + 1e-9)) break;
    if (static_cast<double>(whole) != k || x % whole != 0 || y % whole != 0) break;
    chosen = l;
  }
  if (chosen < 0 ||
      (chosen == reference.slide_level && info.grid_downsample(chosen) == info.level_downsamples[chosen])) {
    return reference;
  }
  const double k = info.grid_downsample(chosen);
  const Size level = info.level_dimensions[chosen];
  // The tile keeps the reference's output size. Where the reference reads that size as is but the whole
  // grid gives one pixel more or less (the rounded last column or row at the right and bottom edges),
  // the read takes the reference's size rather than stretch the tile by a pixel.
  const auto extent = [&](std::int64_t z_size, std::int64_t origin, std::int64_t level_size, std::int64_t ref_read,
                          std::int64_t out) {
    auto n = static_cast<std::int64_t>(std::ceil(static_cast<double>(z_size) * dz_ds / k - 1e-6));
    n = std::max<std::int64_t>(1, std::min(n, level_size - origin / static_cast<std::int64_t>(k)));
    return ref_read == out && std::abs(n - out) <= 1 ? out : n;
  };
  TileSource src = reference;
  src.l0_x = x;
  src.l0_y = y;
  src.slide_level = chosen;
  src.read_size = {
      extent(reference.tile_size.width, x, level.width, reference.read_size.width, reference.output_size.width),
      extent(reference.tile_size.height, y, level.height, reference.read_size.height, reference.output_size.height)};
  return src;
}

RgbImage TileRenderer::render(int dz_level, std::int64_t col, std::int64_t row) const {
  const auto reference = geometry_.tile(dz_level, col, row);
  if (!reference) {
    throw std::out_of_range("tile " + std::to_string(dz_level) + "/" + std::to_string(col) + "_" + std::to_string(row) +
                            " is outside the DeepZoom grid");
  }
  const TileSource source = on_whole_grid(dz_level, *reference);
  const TileSource* src = &source;
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
