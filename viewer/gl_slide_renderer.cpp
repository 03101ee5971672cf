// Tile uploads and quad drawing for one slide.
#include "gl_slide_renderer.h"

#include <utility>

namespace reread::viewer {

GlSlideRenderer::GlSlideRenderer(GlTileProgram& program, PyramidLayout layout, std::size_t texture_bytes)
    : program_(program), layout_(std::move(layout)), textures_(texture_bytes) {}

void GlSlideRenderer::upload(const StreamingEngine::Frame& frame, StreamingEngine& engine) {
  for (const DrawItem& item : frame.plan.draw) textures_.use(item.tile);
  for (const ArrivedTile* tile : frame.uploads) {
    if (tile == nullptr) continue;
    for (const TileId& evicted : textures_.upload(tile->id, tile->image)) engine.texture_evicted(evicted);
  }
}

TileQuad GlSlideRenderer::quad(const TileId& id, const Rect& dest, const TileTexture& t) const {
  // The texels that stand for `dest`: the tile's own part, after the overlap it shares with its left and
  // top neighbours, as many texels as `dest` spans at this level's downsample.
  const double ds = layout_.downsample(id.level);
  const Rect own = layout_.tile_rect(id);
  const double left = layout_.overlap_left(id) + (dest.x0 - own.x0) / ds;
  const double top = layout_.overlap_top(id) + (dest.y0 - own.y0) / ds;
  const double w = t.width, h = t.height;
  return {t.texture.get(),
          dest,
          static_cast<float>(left / w),
          static_cast<float>(top / h),
          static_cast<float>((left + dest.width() / ds) / w),
          static_cast<float>((top + dest.height() / ds) / h)};
}

std::vector<TileId> GlSlideRenderer::draw(const std::vector<DrawItem>& items, const Camera& camera,
                                          const GlViewport& viewport, const DisplayAdjustments& adjustments) {
  std::vector<TileId> drawn;
  drawn.reserve(items.size());
  quads_.clear();
  for (const DrawItem& item : items) {
    const TileTexture* t = textures_.use(item.tile);
    if (t == nullptr) continue;  // evicted before it could be drawn: the coarser stand-in under it shows
    quads_.push_back(quad(item.tile, item.dest, *t));
    drawn.push_back(item.tile);
  }
  program_.draw(quads_, camera, viewport, adjustments);
  return drawn;
}

void GlSlideRenderer::draw_overview(const Camera& camera, const GlViewport& viewport,
                                    const DisplayAdjustments& adjustments) {
  // The coarsest useful level is one tile, fetched first of all for every view.
  const int level = layout_.coarsest_useful_level();
  quads_.clear();
  for (std::int64_t row = 0; row < layout_.rows(level); ++row) {
    for (std::int64_t col = 0; col < layout_.cols(level); ++col) {
      const TileId id{level, col, row};
      if (const TileTexture* t = textures_.use(id)) quads_.push_back(quad(id, layout_.tile_rect(id), *t));
    }
  }
  program_.draw(quads_, camera, viewport, adjustments);
}

}  // namespace reread::viewer
