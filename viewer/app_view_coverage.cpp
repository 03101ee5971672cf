// Sampling a frame's drawn tiles on a grid of screen points.
#include "app_view_coverage.h"

#include <algorithm>

namespace reread::viewer {

bool ViewCoverage::has_blank() const { return std::find(level.begin(), level.end(), kBlank) != level.end(); }

int ViewCoverage::coarser_than(const ViewCoverage& before, int target_level) const {
  if (before.level.size() != level.size()) return 0;
  int n = 0;
  for (std::size_t i = 0; i < level.size(); ++i) {
    if (before.level[i] >= 0 && level[i] < before.level[i] && level[i] < target_level) ++n;
  }
  return n;
}

ViewCoverage view_coverage(const Camera& camera, const PyramidLayout& layout, const std::vector<TileId>& drawn,
                           int columns, int rows) {
  ViewCoverage c;
  c.columns = columns;
  c.rows = rows;
  c.level.assign(static_cast<std::size_t>(columns) * rows, ViewCoverage::kOffSlide);
  std::vector<Rect> rects;
  rects.reserve(drawn.size());
  for (const TileId& t : drawn) rects.push_back(layout.tile_rect(t));
  for (int r = 0; r < rows; ++r) {
    for (int col = 0; col < columns; ++col) {
      // Sample centres, so that no sample sits on a tile edge shared by two tiles.
      const Vec2 screen{(col + 0.5) * camera.viewport_width / columns, (r + 0.5) * camera.viewport_height / rows};
      const Vec2 p = camera.screen_to_slide(screen);
      if (p.x < 0 || p.y < 0 || p.x >= static_cast<double>(layout.width) || p.y >= static_cast<double>(layout.height)) {
        continue;
      }
      int level = ViewCoverage::kBlank;
      for (std::size_t i = rects.size(); i-- > 0;) {
        const Rect& q = rects[i];
        if (p.x >= q.x0 && p.x < q.x1 && p.y >= q.y0 && p.y < q.y1) {
          level = drawn[i].level;
          break;
        }
      }
      c.level[static_cast<std::size_t>(r) * columns + col] = level;
    }
  }
  return c;
}

}  // namespace reread::viewer
