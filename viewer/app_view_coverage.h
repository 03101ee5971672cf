// What a frame showed where: at a grid of points over the view, the pyramid level visible there.
// From it, the two failures a pathologist notices: a blank region (a point of the slide nothing covers)
// and a flicker (a point showing a coarser level than the frame before, the camera not having moved).
// Pure, so the streaming behaviour is testable without a display.
#pragma once

#include <vector>

#include "camera.h"
#include "tile_scheduler.h"

namespace reread::viewer {

struct ViewCoverage {
  static constexpr int kOffSlide = -2, kBlank = -1;
  int columns = 0, rows = 0;
  std::vector<int> level;  // per sample, row-major: the level visible there (the last tile drawn over it)

  bool has_blank() const;
  // Samples now coarser than both `before` (same camera assumed) and `target_level`: a finer stand-in
  // giving way to the target level's own tile is no loss.
  int coarser_than(const ViewCoverage& before, int target_level) const;
};

// `drawn` in drawing order (later over earlier), as level-0 rectangles with their level.
ViewCoverage view_coverage(const Camera& camera, const PyramidLayout& layout, const std::vector<TileId>& drawn,
                           int columns = 24, int rows = 16);

}  // namespace reread::viewer
