// Draws one slide's view with OpenGL: uploads the tiles the streaming engine hands over each frame into
// its texture cache, and draws the plan's items as quads in slide coordinates, each from its tile's
// overlap-free part, so neighbours meet without seams at any zoom and any quarter turn.
#pragma once

#include <cstddef>
#include <vector>

#include "gl_texture_cache.h"
#include "gl_tile_program.h"
#include "streaming_engine.h"

namespace reread::viewer {

class GlSlideRenderer {
 public:
  // `program` must outlive the renderer.
  GlSlideRenderer(GlTileProgram& program, PyramidLayout layout, std::size_t texture_bytes);

  bool on_gpu(const TileId& id) const { return textures_.contains(id); }

  // Uploads the frame's tiles, first marking the frame's draw items as used so that room is never made
  // by dropping a tile about to be drawn; tells the engine which textures were evicted.
  void upload(const StreamingEngine::Frame& frame, StreamingEngine& engine);

  // Draws the items held on the GPU (coarsest first, as the plan orders them) into `viewport` through
  // `camera`. Returns the tiles drawn.
  std::vector<TileId> draw(const std::vector<DrawItem>& items, const Camera& camera, const GlViewport& viewport,
                           const DisplayAdjustments& adjustments);

  // The whole slide from its coarsest resident level (the overview), without touching the engine.
  void draw_overview(const Camera& camera, const GlViewport& viewport, const DisplayAdjustments& adjustments);

  const GlTextureCache& textures() const { return textures_; }
  const PyramidLayout& layout() const { return layout_; }

 private:
  TileQuad quad(const TileId& id, const Rect& dest, const TileTexture& t) const;

  GlTileProgram& program_;
  PyramidLayout layout_;
  GlTextureCache textures_;
  std::vector<TileQuad> quads_;  // reused between frames
};

}  // namespace reread::viewer
