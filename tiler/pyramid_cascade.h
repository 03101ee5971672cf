// Streams a raster top to bottom through a cascade of 2x box reductions, keeping only a window
// of rows per level, so pyramids of any size are built in bounded memory.
#pragma once

#include <cstdint>
#include <vector>

#include "deepzoom_geometry.h"
#include "work_pool.h"

namespace reread {

// A window of consecutive RGB rows [first_row, end_row) of one level.
class RowWindow {
 public:
  RowWindow(std::int64_t width, std::int64_t height) : width_(width), height_(height) {}
  std::int64_t width() const { return width_; }
  std::int64_t height() const { return height_; }
  std::int64_t first_row() const { return first_; }
  std::int64_t end_row() const { return first_ + count_; }
  std::size_t stride() const { return static_cast<std::size_t>(width_) * 3; }
  const std::uint8_t* row(std::int64_t y) const {
    return data_.data() + stride() * static_cast<std::size_t>(y - first_);
  }
  std::uint8_t* row(std::int64_t y) { return data_.data() + stride() * static_cast<std::size_t>(y - first_); }
  // Makes room for n more rows at the end and returns the first of them.
  std::uint8_t* append(std::int64_t n);
  void drop_before(std::int64_t y);

 private:
  std::int64_t width_, height_;
  std::int64_t first_ = 0, count_ = 0;
  std::vector<std::uint8_t> data_;
};

class PyramidCascade {
 public:
  // Depth 0 has `base` size; each deeper level is ceil(half) of the one above, `depths` levels in all.
  PyramidCascade(Size base, int depths);

  int depths() const { return static_cast<int>(levels_.size()); }
  RowWindow& level(int depth) { return levels_[depth]; }
  // Halves every complete row pair into the next level, level by level; `pool` splits the rows.
  void propagate(WorkPool& pool);
  // Rows of `depth` at or after this are still needed to build the next level.
  std::int64_t needed_from(int depth) const;

 private:
  std::vector<RowWindow> levels_;
};

// Sizes of a 2x pyramid from `base` down to `stop` (inclusive of the first level within it).
std::vector<Size> halving_sizes(Size base, std::int64_t stop_width, std::int64_t stop_height);

}  // namespace reread
