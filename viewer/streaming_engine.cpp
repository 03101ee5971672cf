// The streaming engine's frame step: take what arrived into the decoded-tile LRU, plan the view, tell the
// provider what is wanted now, pick this frame's uploads within budget, and count tiles never drawn.
#include "streaming_engine.h"

#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "lru_budget.h"

namespace reread::viewer {

struct StreamingEngine::Impl {
  using Decoded = std::shared_ptr<const ArrivedTile>;

  Impl(std::unique_ptr<TileProvider> p, EngineOptions o)
      : provider(std::move(p)), options(o), decoded(o.decoded_cache_bytes) {}

  std::unique_ptr<TileProvider> provider;
  EngineOptions options;
  LruBudget<TileId, Decoded, TileIdHash> decoded;
  // This frame's uploads: held here so they outlive an eviction until the next update, as promised.
  std::vector<Decoded> uploads;
  // Arrived tiles not drawn yet, with how many times each arrived.
  std::unordered_map<TileId, std::uint64_t, TileIdHash> undrawn;
  std::uint64_t arrived = 0, drawn_ever = 0, textures_evicted = 0;
  std::vector<std::uint64_t> arrived_by_level, drawn_by_level;
  std::size_t pending = 0, upload_bytes = 0;
  int target_level = 0;
  bool complete = false;
  // Motion, for the prefetch: the last camera, when it last moved, and which way.
  std::optional<Camera> last_camera;
  std::chrono::steady_clock::time_point last_move{};
  Vec2 heading;
  bool prefetching = false;
};

StreamingEngine::StreamingEngine(PyramidLayout layout, std::unique_ptr<TileProvider> provider, EngineOptions options)
    : layout_(layout), impl_(std::make_shared<Impl>(std::move(provider), options)) {
  const auto levels = static_cast<std::size_t>(layout_.level_count());
  impl_->arrived_by_level.assign(levels, 0);
  impl_->drawn_by_level.assign(levels, 0);
}

StreamingEngine::Frame StreamingEngine::update(const Camera& camera, const std::function<bool(const TileId&)>& on_gpu) {
  Impl& m = *impl_;
  m.uploads.clear();
  m.upload_bytes = 0;

  std::vector<std::pair<TileId, Impl::Decoded>> evicted;
  for (ArrivedTile& tile : m.provider->take_arrived()) {
    ++m.arrived;
    ++m.arrived_by_level.at(static_cast<std::size_t>(tile.id.level));
    ++m.undrawn[tile.id];
    const TileId id = tile.id;
    const std::size_t bytes = tile.image.pixels.size();
    m.decoded.put(id, std::make_shared<const ArrivedTile>(std::move(tile)), bytes, &evicted);
  }
  // A tile that left memory undrawn and is not a texture either was fetched for nothing: it stays counted
  // (arrived, never drawn) but need not be remembered.
  for (const auto& [id, tile] : evicted) {
    if (!m.decoded.contains(id) && !on_gpu(id)) m.undrawn.erase(id);
  }

  // Which way the view goes, and whether it rests: a pan sets the heading, a zoom or a turn clears it.
  const auto now = m.options.clock();
  if (!m.last_camera) {
    m.last_move = now;
  } else if (const Camera& last = *m.last_camera; last.center.x != camera.center.x ||
                                                  last.center.y != camera.center.y || last.scale != camera.scale ||
                                                  last.quarter_turns != camera.quarter_turns ||
                                                  last.viewport_width != camera.viewport_width ||
                                                  last.viewport_height != camera.viewport_height) {
    m.last_move = now;
    const bool panned = last.scale == camera.scale && last.quarter_turns == camera.quarter_turns;
    m.heading = panned ? Vec2{camera.center.x - last.center.x, camera.center.y - last.center.y} : Vec2{};
  }
  m.last_camera = camera;
  SchedulerOptions scheduler = m.options.scheduler;
  scheduler.heading = m.heading;
  m.prefetching = scheduler.prefetch && m.complete && now - m.last_move >= m.options.prefetch_after_rest;
  scheduler.prefetch = m.prefetching;
  scheduler.coarser_gaps = scheduler.coarser_gaps && now - m.last_move >= m.options.coarser_gaps_after;

  // What to fetch: everything not in memory in either form.
  const Plan wanted = plan_view(
      camera, layout_, [&](const TileId& t) { return on_gpu(t) || m.decoded.contains(t); }, scheduler);
  m.provider->want(wanted.fetch);

  // What to upload, within this frame's budget: the coarsest tile first of all (when every target tile is
  // in memory the plan no longer names it, yet it must stand in for those not uploaded yet), then the
  // tiles the plan draws that the renderer lacks, in draw order: coarser stand-ins before detail, nearest
  // the centre first within a level. The first upload is always allowed, so a tile larger than the byte
  // budget is not starved.
  std::vector<TileId> candidates{TileId{layout_.coarsest_useful_level(), 0, 0}};
  for (const DrawItem& item : wanted.draw) candidates.push_back(item.tile);
  std::unordered_set<TileId, TileIdHash> uploading;
  bool budget_spent = false;
  for (const TileId& id : candidates) {
    Impl::Decoded* d = m.decoded.find(id);  // touching keeps the view's tiles recent in the LRU
    if (budget_spent || d == nullptr || on_gpu(id) || uploading.count(id) != 0) continue;
    const std::size_t bytes = (*d)->image.pixels.size();
    budget_spent = m.uploads.size() >= m.options.uploads_per_frame ||
                   (!m.uploads.empty() && m.upload_bytes + bytes > m.options.upload_bytes_per_frame);
    if (budget_spent) continue;
    m.uploads.push_back(*d);
    uploading.insert(id);
    m.upload_bytes += bytes;
  }

  // What to draw: only what the renderer holds or is handed now; coarser stand-ins cover the rest.
  // Its fetch list is the one above (max_fetch 0 skips building another).
  Frame frame;
  frame.plan = plan_view(
      camera, layout_, [&](const TileId& t) { return on_gpu(t) || uploading.count(t) != 0; },
      SchedulerOptions{false, 0, {}, false});
  frame.plan.fetch = wanted.fetch;
  for (const Impl::Decoded& d : m.uploads) frame.uploads.push_back(d.get());
  m.pending = wanted.fetch.size();
  m.target_level = frame.plan.target_level;
  m.complete = frame.plan.complete;
  return frame;
}

void StreamingEngine::texture_evicted(const TileId& /*id*/) {
  // Nothing to forget: on_gpu() says what the renderer holds, and a tile still in memory is uploaded again
  // from there when the plan draws it.
  ++impl_->textures_evicted;
}

void StreamingEngine::drawn(const std::vector<TileId>& ids) {
  for (const TileId& id : ids) {
    const auto it = impl_->undrawn.find(id);
    if (it == impl_->undrawn.end()) continue;
    impl_->drawn_ever += it->second;
    impl_->drawn_by_level.at(static_cast<std::size_t>(id.level)) += it->second;
    impl_->undrawn.erase(it);
  }
}

EngineStats StreamingEngine::stats() const {
  const Impl& m = *impl_;
  EngineStats s;
  s.decoded_bytes = m.decoded.bytes();
  s.decoded_tiles = m.decoded.size();
  s.decoded_capacity = m.decoded.capacity();
  s.tiles_arrived = m.arrived;
  s.tiles_drawn_ever = m.drawn_ever;
  s.tiles_never_drawn = m.arrived - m.drawn_ever;
  s.arrived_by_level = m.arrived_by_level;
  s.drawn_by_level = m.drawn_by_level;
  s.pending = m.pending;
  s.target_level = m.target_level;
  s.complete = m.complete;
  s.provider = m.provider->status();
  s.uploads_last_frame = m.uploads.size();
  s.upload_bytes_last_frame = m.upload_bytes;
  s.textures_evicted = m.textures_evicted;
  s.prefetching = m.prefetching;
  return s;
}

}  // namespace reread::viewer
