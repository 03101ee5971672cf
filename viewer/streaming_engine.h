// The streaming engine: camera in, draw list out. It plans the view (tile_scheduler), tells the
// provider what to fetch, keeps decoded tiles in a memory-bounded LRU, and hands the renderer a
// bounded number of uploads per frame. No OpenGL here: the renderer reports which tiles it holds as
// textures and which it evicted.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "tile_provider.h"
#include "tile_scheduler.h"

namespace reread::viewer {

struct EngineOptions {
  std::size_t decoded_cache_bytes = 256u << 20;
  // Textures created per frame at most, so a frame never stalls: 24 tiles (~4.7 MB of RGB) take a few ms
  // even on a software renderer, and a 1920 x 1080 view's ~50 tiles go up in two or three frames.
  std::size_t uploads_per_frame = 24;
  std::size_t upload_bytes_per_frame = 6u << 20;
  // scheduler.prefetch allows the full prefetch (ring and finer level); it starts once the view is complete
  // and the camera has stood still this long. While it moves, only the tiles ahead of the motion come.
  std::chrono::milliseconds prefetch_after_rest{250};
  // Coarser stand-ins (the parents of missing target tiles) are fetched for a view still incomplete this
  // long after the camera last moved: the target tiles are slow (a distant or busy server), so the picture
  // sharpens in steps; when they come quickly, the stand-ins would arrive after them, never shown.
  std::chrono::milliseconds coarser_gaps_after{400};
  SchedulerOptions scheduler;
  // The engine's clock (tests drive it with simulated time).
  std::function<std::chrono::steady_clock::time_point()> clock = [] { return std::chrono::steady_clock::now(); };
};

struct EngineStats {
  std::size_t decoded_bytes = 0, decoded_tiles = 0, decoded_capacity = 0;
  // Wasted fetches: tiles_arrived = tiles_drawn_ever + tiles_never_drawn, the latter being tiles not drawn
  // since they arrived (prefetch not used yet, tiles that left the view while in flight).
  std::uint64_t tiles_arrived = 0, tiles_drawn_ever = 0, tiles_never_drawn = 0;
  // The same by pyramid level (index = DeepZoom level), to see which requests were wasted.
  std::vector<std::uint64_t> arrived_by_level, drawn_by_level;
  std::size_t pending = 0;  // wanted but not resident
  int target_level = 0;
  bool complete = false;
  ProviderStatus provider;
  std::size_t uploads_last_frame = 0, upload_bytes_last_frame = 0;
  std::uint64_t textures_evicted = 0;  // as the renderer reported them
  bool prefetching = false;            // the full prefetch is on (the view rests, complete)
};

class StreamingEngine {
 public:
  StreamingEngine(PyramidLayout layout, std::unique_ptr<TileProvider> provider, EngineOptions options = {});
  const PyramidLayout& layout() const { return layout_; }

  struct Frame {
    Plan plan;                                // draw items refer to tiles the renderer holds or is given now
    std::vector<const ArrivedTile*> uploads;  // upload these this frame (valid until the next update)
  };
  // Once per frame. `on_gpu(id)` says whether the renderer holds the tile as a texture.
  Frame update(const Camera& camera, const std::function<bool(const TileId&)>& on_gpu);
  // The renderer dropped a texture (its own LRU): the tile may be uploaded again from memory.
  void texture_evicted(const TileId& id);
  // The renderer drew these this frame (for the wasted-fetch count).
  void drawn(const std::vector<TileId>& ids);
  EngineStats stats() const;

 private:
  struct Impl;
  PyramidLayout layout_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace reread::viewer
