// SlideSource: the one interface through which the tiler, server and viewer read a slide.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deepzoom_geometry.h"
#include "rgb_image.h"

namespace reread {

struct AssociatedImageInfo {
  std::string name;
  std::int64_t width = 0;
  std::int64_t height = 0;
};

struct SlideInfo {
  std::string path;
  std::string vendor;
  std::string quickhash;
  std::vector<Size> level_dimensions;
  std::vector<double> level_downsamples;
  std::optional<double> mpp_x, mpp_y, objective_power;
  std::optional<std::int64_t> bounds_x, bounds_y, bounds_width, bounds_height;
  std::array<std::uint8_t, 3> background{255, 255, 255};
  std::map<std::string, std::string> properties;
  std::vector<AssociatedImageInfo> associated_images;

  int level_count() const { return static_cast<int>(level_dimensions.size()); }
  // The whole factor a level was made by, where its size says so. Scanners and pyramid writers round
  // level sizes, so a level made by halving twice reports a downsample such as 4.000075 (OpenSlide
  // averages the width and height ratios), though its pixel i still covers level-0 pixels [4i, 4i+4).
  // A level whose size is the level-0 size divided by a whole k, rounded either way, is k down; any
  // other level keeps its reported downsample.
  double grid_downsample(int level) const {
    const double ds = level_downsamples[level];
    const double k = std::round(ds);
    if (k < 1.0) return ds;
    const auto fits = [k](std::int64_t full, std::int64_t size) {
      const double exact = static_cast<double>(full) / k;
      return static_cast<double>(size) == std::floor(exact) || static_cast<double>(size) == std::ceil(exact);
    };
    const Size& l0 = level_dimensions.front();
    const Size& lv = level_dimensions[level];
    return fits(l0.width, lv.width) && fits(l0.height, lv.height) ? k : ds;
  }
  SlideGeometry geometry() const {
    return {level_dimensions, level_downsamples, bounds_x, bounds_y, bounds_width, bounds_height};
  }
};

class SlideSource {
 public:
  virtual ~SlideSource() = default;
  virtual const SlideInfo& info() const = 0;
  // Reads a region whose top-left is in level-0 pixels and whose size is in `level` pixels,
  // as RGB composited on the slide's background colour. Safe to call from many threads.
  // Throws SlideError.
  virtual RgbImage read_region(std::int64_t x0, std::int64_t y0, int level, int width, int height) const = 0;
  // The same, into a caller-owned buffer of `height` rows `stride` bytes apart.
  virtual void read_region_into(std::int64_t x0, std::int64_t y0, int level, int width, int height, std::uint8_t* rgb,
                                std::size_t stride) const = 0;
  // The same region `scale` (2, 4 or 8) times smaller, reduced by the JPEG decoder's DCT scaling
  // instead of decoded in full and resampled; width/height are in the smaller grid. Returns false,
  // having written nothing, when this level cannot be read that way. Throws SlideError.
  virtual bool read_region_dct_scaled(std::int64_t /*x0*/, std::int64_t /*y0*/, int /*level*/, int /*scale*/,
                                      int /*width*/, int /*height*/, std::uint8_t* /*rgb*/,
                                      std::size_t /*stride*/) const {
    return false;
  }
  // An associated image ("label", "macro", "thumbnail", ...) as RGB. Throws SlideError.
  virtual RgbImage associated_image(const std::string& name) const = 0;
};

// Opens any slide OpenSlide reads. Throws SlideError naming the file and the cause.
std::unique_ptr<SlideSource> open_slide(const std::string& path);

}  // namespace reread
