// Reads full-width strips of a slide's level 0 in parallel column chunks aligned to the stored
// tile grid, so each stored tile is decoded once.
#pragma once

#include <cstdint>

#include "slide_source.h"
#include "work_pool.h"

namespace reread {

struct StoredTileSize {
  std::int64_t width = 256;
  std::int64_t height = 256;
};

// From openslide.level[0].tile-width/height; 256 when the slide does not say.
StoredTileSize stored_tile_size(const SlideInfo& info);

// Rows of each strip: a multiple of the stored tile height, at least `min_rows`.
std::int64_t aligned_strip_rows(const SlideInfo& info, std::int64_t min_rows);

// Fills rows [y, y + rows) x [0, width) of the area whose top-left is (origin_x, origin_y) at level 0.
void read_strip(const SlideSource& slide, std::int64_t origin_x, std::int64_t origin_y, std::int64_t width,
                std::int64_t y, std::int64_t rows, std::uint8_t* dst, std::size_t stride, WorkPool& pool);

}  // namespace reread
