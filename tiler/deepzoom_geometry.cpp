// DeepZoom geometry. Every expression mirrors DeepZoomGenerator's arithmetic, in the same
// order and with the same float/int conversions, so results agree to the pixel.
#include "deepzoom_geometry.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace reread {

namespace {

std::int64_t ceil_to_int(double v) { return static_cast<std::int64_t>(std::ceil(v)); }

// Pillow's round_aspect: floor or ceil of `n`, whichever has the smaller key (floor on ties), at least 1.
template <typename Key>
std::int64_t round_aspect(double n, Key key) {
  const auto lo = static_cast<std::int64_t>(std::floor(n));
  const auto hi = static_cast<std::int64_t>(std::ceil(n));
  const std::int64_t best = key(static_cast<double>(hi)) < key(static_cast<double>(lo)) ? hi : lo;
  return std::max<std::int64_t>(best, 1);
}

}  // namespace

int best_level_for_downsample(const std::vector<double>& level_downsamples, double downsample) {
  if (level_downsamples.empty() || downsample < level_downsamples.front()) return 0;
  for (std::size_t i = 1; i < level_downsamples.size(); ++i) {
    if (downsample < level_downsamples[i]) return static_cast<int>(i - 1);
  }
  return static_cast<int>(level_downsamples.size() - 1);
}

Size thumbnail_size(Size source, Size box) {
  std::int64_t x = box.width;
  std::int64_t y = box.height;
  if (x >= source.width && y >= source.height) return source;
  const double aspect = static_cast<double>(source.width) / static_cast<double>(source.height);
  const double xd = static_cast<double>(x);
  const double yd = static_cast<double>(y);
  if (xd / yd >= aspect) {
    x = round_aspect(yd * aspect, [&](double n) { return std::abs(aspect - n / yd); });
  } else {
    y = round_aspect(xd / aspect, [&](double n) { return n == 0 ? 0.0 : std::abs(aspect - xd / n); });
  }
  return {x, y};
}

DeepZoomGeometry::DeepZoomGeometry(const SlideGeometry& slide, DeepZoomOptions options) : options_(options) {
  if (options.tile_size < 1) throw std::invalid_argument("tile size must be at least 1");
  if (options.overlap < 0) throw std::invalid_argument("overlap must not be negative");
  if (slide.level_dimensions.empty() || slide.level_dimensions.size() != slide.level_downsamples.size()) {
    throw std::invalid_argument("slide has no levels");
  }
  const Size l0 = slide.level_dimensions.front();
  if (l0.width < 1 || l0.height < 1) throw std::invalid_argument("slide level 0 is empty");

  if (options.limit_bounds) {
    l0_offset_x_ = slide.bounds_x.value_or(0);
    l0_offset_y_ = slide.bounds_y.value_or(0);
    const double scale_x = static_cast<double>(slide.bounds_width.value_or(l0.width)) / static_cast<double>(l0.width);
    const double scale_y =
        static_cast<double>(slide.bounds_height.value_or(l0.height)) / static_cast<double>(l0.height);
    for (const Size& l : slide.level_dimensions) {
      l_dimensions_.push_back(
          {ceil_to_int(static_cast<double>(l.width) * scale_x), ceil_to_int(static_cast<double>(l.height) * scale_y)});
    }
  } else {
    l_dimensions_ = slide.level_dimensions;
  }
  l0_l_downsamples_ = slide.level_downsamples;

  Size z = l_dimensions_.front();
  std::vector<Size> z_dims{z};
  while (z.width > 1 || z.height > 1) {
    z = {std::max<std::int64_t>(1, (z.width + 1) / 2), std::max<std::int64_t>(1, (z.height + 1) / 2)};
    z_dims.push_back(z);
  }
  z_dimensions_.assign(z_dims.rbegin(), z_dims.rend());

  const std::int64_t ts = options.tile_size;
  for (const Size& zd : z_dimensions_) {
    t_dimensions_.push_back({(zd.width + ts - 1) / ts, (zd.height + ts - 1) / ts});
  }

  const int levels = level_count();
  for (int dz = 0; dz < levels; ++dz) {
    const double l0_z_downsample = std::ldexp(1.0, levels - dz - 1);
    const int slide_level = best_level_for_downsample(l0_l_downsamples_, l0_z_downsample);
    slide_from_dz_level_.push_back(slide_level);
    l_z_downsamples_.push_back(l0_z_downsample / l0_l_downsamples_[slide_level]);
  }
}

std::int64_t DeepZoomGeometry::tile_count() const {
  std::int64_t n = 0;
  for (const Size& t : t_dimensions_) n += t.width * t.height;
  return n;
}

bool DeepZoomGeometry::contains(int dz_level, std::int64_t col, std::int64_t row) const {
  if (dz_level < 0 || dz_level >= level_count()) return false;
  const Size t = t_dimensions_[dz_level];
  return col >= 0 && row >= 0 && col < t.width && row < t.height;
}

std::optional<TileSource> DeepZoomGeometry::tile(int dz_level, std::int64_t col, std::int64_t row) const {
  if (!contains(dz_level, col, row)) return std::nullopt;
  const int slide_level = slide_from_dz_level_[dz_level];
  const std::int64_t ts = options_.tile_size;
  const std::int64_t ov = options_.overlap;
  const Size tiles = t_dimensions_[dz_level];
  const Size zdim = z_dimensions_[dz_level];
  const Size ldim = l_dimensions_[slide_level];
  const double l_z = l_z_downsamples_[dz_level];
  const double l0_l = l0_l_downsamples_[slide_level];

  struct Axis {
    std::int64_t l0, read, z_size;
  };
  auto axis = [&](std::int64_t t, std::int64_t t_lim, std::int64_t z_lim, std::int64_t l_lim, std::int64_t l0_off) {
    const std::int64_t tl = t != 0 ? ov : 0;
    const std::int64_t br = t != t_lim - 1 ? ov : 0;
    const std::int64_t z_size = std::min(ts, z_lim - ts * t) + tl + br;
    const double l = l_z * static_cast<double>(ts * t - tl);
    const auto l0 = static_cast<std::int64_t>(l0_l * l + static_cast<double>(l0_off));
    const std::int64_t read = std::min(ceil_to_int(l_z * static_cast<double>(z_size)), l_lim - ceil_to_int(l));
    return Axis{l0, read, z_size};
  };
  const Axis ax = axis(col, tiles.width, zdim.width, ldim.width, l0_offset_x_);
  const Axis ay = axis(row, tiles.height, zdim.height, ldim.height, l0_offset_y_);

  TileSource src;
  src.l0_x = ax.l0;
  src.l0_y = ay.l0;
  src.slide_level = slide_level;
  src.read_size = {ax.read, ay.read};
  src.tile_size = {ax.z_size, ay.z_size};
  src.output_size = src.read_size == src.tile_size ? src.tile_size : thumbnail_size(src.read_size, src.tile_size);
  return src;
}

std::string DeepZoomGeometry::dzi_xml(const std::string& format) const {
  const Size base = base_dimensions();
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<Image TileSize=\"" +
         std::to_string(options_.tile_size) + "\" Overlap=\"" + std::to_string(options_.overlap) + "\" Format=\"" +
         format + "\" xmlns=\"http://schemas.microsoft.com/deepzoom/2008\"><Size Width=\"" +
         std::to_string(base.width) + "\" Height=\"" + std::to_string(base.height) + "\"/></Image>\n";
}

}  // namespace reread
