// What to draw and what to fetch, from the camera and what is already in memory. Pure: no GL, no
// network, unit-tested alone. The DeepZoom pyramid is the server's (.dzi): level L is 2^(top-L) times
// smaller than level 0, tiles of `tile_size` with `overlap` pixels shared with each neighbour.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "camera.h"

namespace reread::viewer {

struct TileId {
  int level = 0;
  std::int64_t col = 0, row = 0;
  friend bool operator==(const TileId&, const TileId&) = default;
  friend auto operator<=>(const TileId&, const TileId&) = default;
};

struct TileIdHash {
  std::size_t operator()(const TileId& t) const {
    return std::hash<std::int64_t>()((static_cast<std::int64_t>(t.level) << 56) ^ (t.col << 28) ^ t.row);
  }
};

struct PyramidLayout {
  std::int64_t width = 0, height = 0;  // level 0
  int tile_size = 254, overlap = 1;
  int level_count() const;  // levels 0 (1x1 px) .. top (full size)
  int top_level() const { return level_count() - 1; }
  std::int64_t level_width(int level) const;
  std::int64_t level_height(int level) const;
  double downsample(int level) const;  // level-0 pixels per level pixel
  std::int64_t cols(int level) const;
  std::int64_t rows(int level) const;
  // The part of the slide a tile stands for, without its overlap, in level-0 pixels.
  Rect tile_rect(const TileId& t) const;
  // The tile's image size including overlap, and where its own (overlap-free) part starts in it.
  std::int64_t image_width(const TileId& t) const;
  std::int64_t image_height(const TileId& t) const;
  int overlap_left(const TileId& t) const { return t.col > 0 ? overlap : 0; }
  int overlap_top(const TileId& t) const { return t.row > 0 ? overlap : 0; }
  // The coarsest level whose whole image fits one tile.
  int coarsest_useful_level() const;
  // The level whose pixels are just at or finer than the screen's at `scale` (screen px per level-0 px).
  int level_for_scale(double scale) const;
  TileId parent(const TileId& t) const;  // the tile one level coarser that contains t
};

struct DrawItem {
  TileId tile;
  Rect dest;  // level-0 pixels the tile's own part covers
};

struct Plan {
  int target_level = 0;
  std::vector<TileId> visible_target;  // target-level tiles in view
  // Resident tiles to draw, coarsest first: finer ones are drawn over coarser stand-ins, so no region
  // is blank once the coarsest level is in memory.
  std::vector<DrawItem> draw;
  // Tiles to fetch, most wanted first: the coarsest level (a handful of tiles: never a blank screen),
  // then the visible target tiles nearest the centre, then coarser gaps (parents of missing target
  // tiles), then the ring tiles ahead of the motion, then prefetch (the rest of the ring around the view
  // at the target level, then the middle of the view one level finer).
  std::vector<TileId> fetch;
  bool complete = false;  // every visible target tile is resident
};

struct SchedulerOptions {
  // The full prefetch: the ring around the view at the target level, then the middle of the view one level
  // finer (what a zoom in about the centre shows). The engine turns it on once the view is complete and
  // the camera has rested a moment, so tiles a quick succession of moves never shows are not fetched.
  bool prefetch = true;
  std::size_t max_fetch = 256;  // the fetch list is cut here
  // The direction (level-0 pixels) the view last moved in, zero after a zoom: the ring tiles on that side,
  // the next ones the motion uncovers, are fetched right after the view, with or without `prefetch`.
  Vec2 heading;
  // Parents of missing target tiles (stand-ins one level coarser). The engine asks for them only when a
  // view stays incomplete a while after a move: fetched with the target tiles, they arrive after them
  // and are never shown (the resident coarser levels already cover the gap).
  bool coarser_gaps = true;
};

// `resident`: decoded (or on the GPU) and drawable now. Tiles neither resident nor wanted any more are
// the fetcher's to cancel.
Plan plan_view(const Camera& camera, const PyramidLayout& layout, const std::function<bool(const TileId&)>& resident,
               const SchedulerOptions& options = {});

}  // namespace reread::viewer
