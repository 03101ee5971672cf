#include "strip_reader.h"

#include <algorithm>
#include <string>

namespace reread {

namespace {

std::int64_t positive_property(const SlideInfo& info, const std::string& key, std::int64_t fallback) {
  const auto it = info.properties.find(key);
  if (it == info.properties.end()) return fallback;
  try {
    const long long v = std::stoll(it->second);
    return v > 0 && v <= 8192 ? v : fallback;
  } catch (const std::exception&) {
    return fallback;
  }
}

}  // namespace

StoredTileSize stored_tile_size(const SlideInfo& info) {
  return {positive_property(info, "openslide.level[0].tile-width", 256),
          positive_property(info, "openslide.level[0].tile-height", 256)};
}

std::int64_t aligned_strip_rows(const SlideInfo& info, std::int64_t min_rows) {
  const std::int64_t th = stored_tile_size(info).height;
  return std::max<std::int64_t>(1, (min_rows + th - 1) / th) * th;
}

void read_strip(const SlideSource& slide, std::int64_t origin_x, std::int64_t origin_y, std::int64_t width,
                std::int64_t y, std::int64_t rows, std::uint8_t* dst, std::size_t stride, WorkPool& pool) {
  const StoredTileSize stored = stored_tile_size(slide.info());
  // Chunks of whole stored tiles, starting on the stored grid even when the origin is not on it.
  const std::int64_t chunk = stored.width * std::max<std::int64_t>(1, 1024 / stored.width);
  const std::int64_t lead = origin_x % chunk;
  const std::int64_t chunks = (lead + width + chunk - 1) / chunk;
  pool.parallel_for(static_cast<std::size_t>(chunks), [&](std::size_t i) {
    const std::int64_t x0 = std::max<std::int64_t>(0, static_cast<std::int64_t>(i) * chunk - lead);
    const std::int64_t x1 = std::min<std::int64_t>(width, static_cast<std::int64_t>(i + 1) * chunk - lead);
    if (x1 <= x0) return;
    slide.read_region_into(origin_x + x0, origin_y + y, 0, static_cast<int>(x1 - x0), static_cast<int>(rows),
                           dst + static_cast<std::size_t>(x0) * 3, stride);
  });
}

}  // namespace reread
