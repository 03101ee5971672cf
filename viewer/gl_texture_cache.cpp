// Uploading decoded tiles as sRGB textures and keeping the GPU's share bounded.
#include "gl_texture_cache.h"

#include <string>
#include <utility>

namespace reread::viewer {

GlTextureCache::GlTextureCache(std::size_t capacity_bytes) : lru_(capacity_bytes) {}

std::vector<TileId> GlTextureCache::upload(const TileId& id, const RgbImage& image) {
  if (image.empty()) return {};
  TileTexture t{make_gl_texture(), image.width, image.height};
  glBindTexture(GL_TEXTURE_2D, t.texture.get());
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  // GL_SRGB8: the sampler decodes to linear light, where the shader's adjustments and filtering belong.
  glTexImage2D(GL_TEXTURE_2D, 0, GL_SRGB8, image.width, image.height, 0, GL_RGB, GL_UNSIGNED_BYTE, image.pixels.data());
  // Linear filtering reads the overlap texels at a tile's own edges, which are the neighbour's pixels:
  // that, and clamping at the slide's edges, is what keeps tiles seamless.
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, 0);
  glBindTexture(GL_TEXTURE_2D, 0);
  const GLenum error = glGetError();
  if (error != GL_NO_ERROR) {
    throw GlError("uploading tile " + std::to_string(id.level) + "/" + std::to_string(id.col) + "_" +
                  std::to_string(id.row) + " (" + std::to_string(image.width) + "x" + std::to_string(image.height) +
                  "): GL error " + std::to_string(error));
  }
  const std::size_t cost = texture_bytes(image.width, image.height);
  std::vector<std::pair<TileId, TileTexture>> evicted;
  lru_.put(id, std::move(t), cost, &evicted);
  std::vector<TileId> ids;
  ids.reserve(evicted.size());
  for (const auto& [evicted_id, texture] : evicted) {
    if (!(evicted_id == id) || !lru_.contains(id)) ids.push_back(evicted_id);  // a replaced texture is still held
  }
  return ids;  // `evicted` deletes the textures here
}

const TileTexture* GlTextureCache::use(const TileId& id) { return lru_.find(id); }

}  // namespace reread::viewer
