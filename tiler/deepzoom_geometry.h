// DeepZoom pyramid geometry, identical to openslide-python's DeepZoomGenerator.
// Pure arithmetic over a slide's level sizes and downsamples: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reread {

struct Size {
  std::int64_t width = 0;
  std::int64_t height = 0;
  bool operator==(const Size&) const = default;
};

// The facts about a slide that DeepZoom geometry depends on.
struct SlideGeometry {
  std::vector<Size> level_dimensions;     // per slide level, level 0 first
  std::vector<double> level_downsamples;  // per slide level
  // openslide.bounds-* properties; each may be absent on its own.
  std::optional<std::int64_t> bounds_x, bounds_y, bounds_width, bounds_height;
};

struct DeepZoomOptions {
  int tile_size = 254;
  int overlap = 1;
  bool limit_bounds = false;
};

// What to read from the slide for one DeepZoom tile, and the size it must become.
struct TileSource {
  std::int64_t l0_x = 0;  // top-left in level-0 pixels (bounds offset included)
  std::int64_t l0_y = 0;
  int slide_level = 0;
  Size read_size;    // pixels to read at slide_level
  Size tile_size;    // the DeepZoom tile's nominal size (z_size)
  Size output_size;  // final pixel size after scaling (Pillow thumbnail rules)
};

// OpenSlide's choice of level for a downsample: the last level whose downsample is not larger.
int best_level_for_downsample(const std::vector<double>& level_downsamples, double downsample);

// The size Pillow's Image.thumbnail(box) gives an image of size `source`.
Size thumbnail_size(Size source, Size box);

class DeepZoomGeometry {
 public:
  // Throws std::invalid_argument for tile_size < 1, overlap < 0 or an empty slide.
  DeepZoomGeometry(const SlideGeometry& slide, DeepZoomOptions options);

  int level_count() const { return static_cast<int>(z_dimensions_.size()); }
  Size level_dimensions(int dz_level) const { return z_dimensions_.at(dz_level); }
  Size level_tiles(int dz_level) const { return t_dimensions_.at(dz_level); }
  std::int64_t tile_count() const;
  int slide_level_for(int dz_level) const { return slide_from_dz_level_.at(dz_level); }
  const DeepZoomOptions& options() const { return options_; }
  // Size of the area tiled at the finest level (level 0, or the bounds when limited).
  Size base_dimensions() const { return l_dimensions_.front(); }
  std::int64_t offset_x() const { return l0_offset_x_; }
  std::int64_t offset_y() const { return l0_offset_y_; }

  bool contains(int dz_level, std::int64_t col, std::int64_t row) const;
  // The read for one tile; nullopt when level/col/row is outside the grid.
  std::optional<TileSource> tile(int dz_level, std::int64_t col, std::int64_t row) const;

  // The .dzi descriptor; format is "jpeg" or "png".
  std::string dzi_xml(const std::string& format) const;

 private:
  DeepZoomOptions options_;
  std::int64_t l0_offset_x_ = 0;
  std::int64_t l0_offset_y_ = 0;
  std::vector<Size> l_dimensions_;
  std::vector<double> l0_l_downsamples_;
  std::vector<Size> z_dimensions_;
  std::vector<Size> t_dimensions_;
  std::vector<int> slide_from_dz_level_;
  std::vector<double> l_z_downsamples_;
};

}  // namespace reread
