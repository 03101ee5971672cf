// The tiles held on the GPU: one GL_SRGB8 texture per tile, bounded in bytes (least recently used
// go first). Evictions are returned so the streaming engine can upload those tiles again later.
#pragma once

#include <cstddef>
#include <vector>

#include "gl_objects.h"
#include "lru_budget.h"
#include "rgb_image.h"
#include "tile_scheduler.h"

namespace reread::viewer {

struct TileTexture {
  GlTexture texture;
  int width = 0, height = 0;  // texels, the tile's overlap included
};

class GlTextureCache {
 public:
  explicit GlTextureCache(std::size_t capacity_bytes);

  // Uploads `image` as tile `id` (replacing any texture it had); returns the tiles evicted for room.
  std::vector<TileId> upload(const TileId& id, const RgbImage& image);
  // The tile's texture, marked as just used; nullptr when not held.
  const TileTexture* use(const TileId& id);
  bool contains(const TileId& id) const { return lru_.contains(id); }

  std::size_t bytes() const { return lru_.bytes(); }
  std::size_t capacity() const { return lru_.capacity(); }
  std::size_t size() const { return lru_.size(); }
  // Drivers keep RGB textures as RGBA: what a width x height tile costs.
  static std::size_t texture_bytes(int width, int height) { return static_cast<std::size_t>(width) * height * 4; }

 private:
  LruBudget<TileId, TileTexture, TileIdHash> lru_;
};

}  // namespace reread::viewer
