// Drives a PyramidCascade: fills level 0 strip by strip, and hands every tile (with DeepZoom-style
// overlap) of the chosen levels to an encoder as soon as its rows are complete.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "pyramid_cascade.h"

namespace reread {

struct TileJob {
  int depth = 0;  // 0 = full resolution
  std::int64_t col = 0, row = 0;
  int width = 0, height = 0;
  const std::uint8_t* pixels = nullptr;  // top-left pixel of the tile
  std::size_t stride = 0;
  std::size_t index = 0;  // position in the batch
};

struct PyramidStreamSpec {
  Size base;
  int depths = 1;
  int tile_size = 256;
  int overlap = 0;
  std::vector<bool> emit;         // per depth: whether its tiles are wanted (empty = all)
  std::int64_t strip_rows = 512;  // rows produced per call
};

// Wall seconds spent in each phase of a run: where a pyramid's time goes.
struct PyramidStreamTimes {
  double produce = 0;     // reading or rendering level 0
  double downsample = 0;  // 2x2 halving of every coarser level
  double encode = 0;      // encoding (and, for DeepZoom, writing) tiles in parallel
  double store = 0;       // the serial step after each batch
};

class PyramidStreamer {
 public:
  using Produce = std::function<void(std::int64_t y, std::int64_t rows, std::uint8_t* dst, std::size_t stride)>;
  using Encode = std::function<void(const TileJob&)>;               // called in parallel
  using BatchDone = std::function<void(std::span<const TileJob>)>;  // called serially, in tile order
  using BatchStart = std::function<void(std::size_t jobs)>;         // called serially, before encoding

  PyramidStreamer(PyramidStreamSpec spec, WorkPool& pool);
  void run(const Produce& produce, const Encode& encode, const BatchDone& batch_done,
           const BatchStart& batch_start = {});
  const PyramidStreamTimes& times() const { return times_; }

 private:
  void collect_ready(int depth, bool last, std::vector<TileJob>& jobs);

  PyramidStreamSpec spec_;
  WorkPool& pool_;
  PyramidCascade cascade_;
  std::vector<std::int64_t> next_tile_row_;
  PyramidStreamTimes times_;
};

}  // namespace reread
