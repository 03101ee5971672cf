// The streaming engine against a simulated network: fixed latency, N connections and a clock the test
// advances, so every run is the same. Tiles arrive in priority order, requests that leave the view before
// they are sent are dropped, the decoded cache keeps its bound, uploads keep their budget, nothing is
// blank once the coarsest tile is drawn, and tiles fetched but never drawn are counted.
#include "streaming_engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>

namespace reread::viewer {
namespace {

class SimulatedNetwork final : public TileProvider {
 public:
  SimulatedNetwork(PyramidLayout layout, std::size_t connections, int latency_ms)
      : layout_(layout), connections_(connections), latency_ms_(latency_ms) {}

  void want(const std::vector<TileId>& wanted) override {
    const std::set<TileId> next(wanted.begin(), wanted.end());
    for (const TileId& t : queue_) cancelled_ += next.count(t) == 0 ? 1 : 0;
    queue_.clear();
    for (const TileId& t : wanted) {
      if (!busy(t) && std::find(queue_.begin(), queue_.end(), t) == queue_.end()) queue_.push_back(t);
    }
    dispatch();
  }
  std::vector<ArrivedTile> take_arrived() override {
    std::vector<ArrivedTile> out;
    out.swap(ready_);
    return out;
  }
  ProviderStatus status() const override {
    ProviderStatus s;
    s.queued = queue_.size();
    s.in_flight = in_flight_.size();
    s.requested = sent_.size();
    s.arrived = delivered_.size();
    s.cancelled = cancelled_;
    return s;
  }

  // Moves the clock on, a millisecond at a time: responses arrive, freed connections send the next request.
  void advance(int ms) {
    for (int i = 0; i < ms; ++i) {
      ++now_;
      for (auto it = in_flight_.begin(); it != in_flight_.end();) {
        if (it->second <= now_) {
          ready_.push_back(make_tile(it->first));
          delivered_.push_back(it->first);
          it = in_flight_.erase(it);
        } else {
          ++it;
        }
      }
      dispatch();
    }
  }
  const std::vector<TileId>& sent() const { return sent_; }
  const std::vector<TileId>& delivered() const { return delivered_; }
  bool idle() const { return queue_.empty() && in_flight_.empty(); }
  long now_ms() const { return now_; }

 private:
  bool busy(const TileId& t) const {
    return std::any_of(in_flight_.begin(), in_flight_.end(), [&](const auto& f) { return f.first == t; }) ||
           std::any_of(ready_.begin(), ready_.end(), [&](const ArrivedTile& a) { return a.id == t; });
  }
  void dispatch() {
    while (in_flight_.size() < connections_ && !queue_.empty()) {
      in_flight_.emplace_back(queue_.front(), now_ + latency_ms_);
      sent_.push_back(queue_.front());
      queue_.erase(queue_.begin());
    }
  }
  ArrivedTile make_tile(const TileId& t) const {
    ArrivedTile a;
    a.id = t;
    a.image = RgbImage(static_cast<int>(layout_.image_width(t)), static_cast<int>(layout_.image_height(t)));
    std::fill(a.image.pixels.begin(), a.image.pixels.end(), static_cast<std::uint8_t>(t.level * 10));
    a.encoded_bytes = 10000;
    return a;
  }

  PyramidLayout layout_;
  std::size_t connections_;
  int latency_ms_;
  long now_ = 0;
  std::vector<TileId> queue_;
  std::vector<std::pair<TileId, long>> in_flight_;  // tile, when its response arrives
  std::vector<ArrivedTile> ready_;
  std::vector<TileId> sent_, delivered_;
  std::uint64_t cancelled_ = 0;
};

// The renderer's side: textures it holds, what it drew.
struct FakeGpu {
  std::set<TileId> textures;
  std::set<TileId> ever_drawn;
  std::function<bool(const TileId&)> on_gpu() {
    return [this](const TileId& t) { return textures.count(t) != 0; };
  }
};

const PyramidLayout kLayout{10000, 6000, 254, 1};
const TileId kCoarsest{8, 0, 0};
constexpr std::size_t kTileBytes = 256 * 256 * 3;

Camera camera_at(Vec2 center, double scale) {
  Camera c;
  c.center = center;
  c.scale = scale;
  c.viewport_width = 1280;
  c.viewport_height = 800;
  return c;
}

struct Rig {
  SimulatedNetwork* net = nullptr;
  std::unique_ptr<StreamingEngine> engine;
  FakeGpu gpu;

  Rig(std::size_t connections, int latency_ms, EngineOptions options = {}) {
    auto provider = std::make_unique<SimulatedNetwork>(kLayout, connections, latency_ms);
    net = provider.get();
    // The engine's clock is the simulated network's.
    options.clock = [n = net] { return std::chrono::steady_clock::time_point(std::chrono::milliseconds(n->now_ms())); };
    engine = std::make_unique<StreamingEngine>(kLayout, std::move(provider), options);
  }
  // One frame: update, upload, check the draw list only names textures, draw, then let `ms` pass.
  StreamingEngine::Frame frame(const Camera& cam, int ms) {
    StreamingEngine::Frame f = engine->update(cam, gpu.on_gpu());
    for (const ArrivedTile* a : f.uploads) gpu.textures.insert(a->id);
    std::vector<TileId> drawn;
    for (const DrawItem& d : f.plan.draw) {
      EXPECT_TRUE(gpu.textures.count(d.tile)) << "the draw list names a tile the renderer does not hold";
      drawn.push_back(d.tile);
      gpu.ever_drawn.insert(d.tile);
    }
    engine->drawn(drawn);
    net->advance(ms);
    return f;
  }
};

// Whether every sampled point of the view (on the slide) is under some draw item.
bool covers_view(const Camera& cam, const Plan& plan) {
  const Rect v = cam.visible_rect();
  for (double fy = 0.01; fy < 1; fy += 0.07) {
    for (double fx = 0.01; fx < 1; fx += 0.05) {
      const double x = v.x0 + fx * v.width(), y = v.y0 + fy * v.height();
      if (x < 0 || y < 0 || x >= static_cast<double>(kLayout.width) || y >= static_cast<double>(kLayout.height))
        continue;
      const bool covered = std::any_of(plan.draw.begin(), plan.draw.end(), [&](const DrawItem& d) {
        return x >= d.dest.x0 && x < d.dest.x1 && y >= d.dest.y0 && y < d.dest.y1;
      });
      if (!covered) return false;
    }
  }
  return true;
}

TEST(StreamingEngine, tiles_are_requested_and_arrive_in_priority_order) {
  const Camera cam = camera_at({5000, 3000}, 1.0);
  // The view's own tiles (the full prefetch, which starts once they are all in, is the scheduler test's).
  EngineOptions no_prefetch;
  no_prefetch.scheduler.prefetch = false;
  Rig one(1, 10, no_prefetch);
  const std::vector<TileId> wish = one.frame(cam, 10).plan.fetch;
  for (int i = 0; i < 30; ++i) one.frame(cam, 10);
  const auto& sent = one.net->sent();
  ASSERT_GE(sent.size(), 25u);
  EXPECT_EQ(sent.front(), kCoarsest) << "the single-tile level is fetched first of all";
  // Over one connection, requests follow the first wish list (tiles drop out of it as they arrive).
  auto pos = wish.begin();
  for (const TileId& t : sent) {
    pos = std::find(pos, wish.end(), t);
    ASSERT_NE(pos, wish.end()) << "tile " << t.level << "/" << t.col << "_" << t.row << " was sent out of order";
  }
  EXPECT_EQ(one.net->delivered(), std::vector<TileId>(sent.begin(), sent.begin() + one.net->delivered().size()))
      << "with one connection and a fixed latency, tiles arrive in the order they were asked for";

  Rig six(6, 50);
  const std::vector<TileId> wish6 = six.frame(cam, 1).plan.fetch;
  ASSERT_GE(six.net->sent().size(), 6u);
  EXPECT_TRUE(std::equal(six.net->sent().begin(), six.net->sent().begin() + 6, wish6.begin()))
      << "six connections take the six most wanted tiles";
}

TEST(StreamingEngine, queued_requests_for_tiles_that_left_the_view_are_cancelled_not_sent) {
  Rig rig(2, 50);
  const Camera a = camera_at({2000, 2000}, 1.0);
  const Camera b = camera_at({8000, 4000}, 1.0);
  const std::vector<TileId> wish_a = rig.frame(a, 5).plan.fetch;
  const std::size_t sent_before = rig.net->sent().size();
  EXPECT_EQ(sent_before, 2u) << "two connections, two requests in flight";
  EXPECT_EQ(rig.engine->stats().provider.queued, wish_a.size() - 2);

  const std::vector<TileId> wish_b = rig.frame(b, 5).plan.fetch;
  const std::set<TileId> b_set(wish_b.begin(), wish_b.end());
  const auto dropped = static_cast<std::uint64_t>(
      std::count_if(wish_a.begin() + 2, wish_a.end(), [&](const TileId& t) { return b_set.count(t) == 0; }));
  EXPECT_EQ(rig.engine->stats().provider.cancelled, dropped) << "every queued tile of the old view was dropped";
  EXPECT_GT(dropped, 20u);

  for (int i = 0; i < 300 && !rig.net->idle(); ++i) rig.frame(b, 10);
  const Rect a_view = a.visible_rect();
  for (std::size_t i = sent_before; i < rig.net->sent().size(); ++i) {
    const TileId& t = rig.net->sent()[i];
    EXPECT_TRUE(t == kCoarsest || !kLayout.tile_rect(t).intersects(a_view))
        << "tile " << t.level << "/" << t.col << "_" << t.row << " of the old view was sent after the move";
  }
  EXPECT_TRUE(rig.engine->stats().complete);
}

TEST(StreamingEngine, decoded_cache_never_exceeds_its_bound_and_the_view_is_never_blank_while_panning) {
  EngineOptions options;
  options.decoded_cache_bytes = 12 * kTileBytes;
  Rig rig(8, 20, options);
  Camera cam = camera_at({1500, 1500}, 0.8);
  bool coarsest_drawn = false;
  std::size_t max_bytes = 0;
  for (int i = 0; i < 150; ++i) {
    cam.center.x += 50;
    if (i % 40 == 39) cam.zoom_about({640, 400}, 1.5);
    const auto f = rig.frame(cam, 16);
    const EngineStats s = rig.engine->stats();
    ASSERT_LE(s.decoded_bytes, options.decoded_cache_bytes) << "frame " << i;
    EXPECT_EQ(s.decoded_capacity, options.decoded_cache_bytes);
    max_bytes = std::max(max_bytes, s.decoded_bytes);
    if (coarsest_drawn) {
      EXPECT_TRUE(covers_view(cam, f.plan)) << "a blank region at frame " << i;
    }
    coarsest_drawn = coarsest_drawn || rig.gpu.textures.count(kCoarsest) != 0;
  }
  EXPECT_TRUE(coarsest_drawn);
  EXPECT_GT(max_bytes, options.decoded_cache_bytes / 2) << "the cache was actually used";
}

TEST(StreamingEngine, uploads_keep_the_per_frame_budget_coarsest_first) {
  for (const auto& [count, bytes] :
       std::vector<std::pair<std::size_t, std::size_t>>{{3, 64u << 20}, {100, 2 * kTileBytes}}) {
    EngineOptions options;
    options.uploads_per_frame = count;
    options.upload_bytes_per_frame = bytes;
    Rig rig(64, 5, options);
    const Camera cam = camera_at({5000, 3000}, 1.0);
    rig.frame(cam, 10);  // everything asked for arrives before the next frame
    bool first = true;
    int frames = 0;
    for (; frames < 100 && !rig.engine->stats().complete; ++frames) {
      const auto f = rig.frame(cam, 10);
      std::size_t total = 0;
      for (const ArrivedTile* a : f.uploads) total += a->image.pixels.size();
      EXPECT_LE(f.uploads.size(), count);
      EXPECT_LE(total, bytes);
      if (first && !f.uploads.empty()) {
        EXPECT_EQ(f.uploads.front()->id, kCoarsest) << "the stand-in for everything is uploaded first";
        first = false;
      }
      const EngineStats s = rig.engine->stats();
      EXPECT_EQ(s.uploads_last_frame, f.uploads.size());
    }
    EXPECT_TRUE(rig.engine->stats().complete) << "all visible tiles uploaded in the end";
    EXPECT_GE(frames, 24 / static_cast<int>(std::min<std::size_t>(count, bytes / kTileBytes)))
        << "24 visible tiles could not all go up in fewer frames";
  }
}

TEST(StreamingEngine, counts_tiles_that_arrived_but_were_never_drawn) {
  EngineOptions options;
  options.scheduler.prefetch = false;
  Rig rig(3, 100, options);
  const Camera a = camera_at({2000, 2000}, 1.0);
  const Camera b = camera_at({8000, 4000}, 1.0);
  rig.frame(a, 1);
  const std::vector<TileId> in_flight_for_a(rig.net->sent().begin() + 1, rig.net->sent().end());
  ASSERT_EQ(in_flight_for_a.size(), 2u);
  int frames = 0;
  for (; frames < 500 && !(rig.engine->stats().complete && rig.net->idle()); ++frames) rig.frame(b, 10);
  rig.frame(b, 10);
  const EngineStats s = rig.engine->stats();
  EXPECT_EQ(s.tiles_arrived, rig.net->delivered().size());
  EXPECT_EQ(s.tiles_arrived, s.tiles_drawn_ever + s.tiles_never_drawn);
  std::uint64_t never = 0;
  for (const TileId& t : rig.net->delivered()) never += rig.gpu.ever_drawn.count(t) == 0 ? 1 : 0;
  EXPECT_EQ(s.tiles_never_drawn, never);
  for (const TileId& t : in_flight_for_a) {
    EXPECT_EQ(rig.gpu.ever_drawn.count(t), 0u) << "a tile that arrived after the view left it is never drawn";
  }
  EXPECT_GE(s.tiles_never_drawn, 2u) << "the two tiles in flight for the old view were wasted";
  EXPECT_GT(s.tiles_drawn_ever, 20u);
}

TEST(StreamingEngine, a_moving_view_fetches_only_what_is_ahead_and_a_resting_one_prefetches_around) {
  // At scale 0.5 the target level is 13; 14 is the finer one.
  const auto ring_and_finer = [](const Camera& cam, const TileId& t) {
    return t.level == 14 || (t.level == 13 && !kLayout.tile_rect(t).intersects(cam.visible_rect()));
  };
  EngineOptions options;
  options.prefetch_after_rest = std::chrono::milliseconds(200);
  Rig rig(6, 10, options);
  Camera cam = camera_at({3000, 3000}, 0.5);
  // Panning right, a frame every 16 ms: the only tiles asked beyond the view are the column ahead.
  for (int i = 0; i < 40; ++i) {
    cam.center.x += 40;
    const auto f = rig.frame(cam, 16);
    EXPECT_FALSE(rig.engine->stats().prefetching) << "frame " << i;
    const Rect v = cam.visible_rect();
    for (const TileId& t : f.plan.fetch) {
      if (!ring_and_finer(cam, t)) continue;
      const Rect r = kLayout.tile_rect(t);
      EXPECT_EQ(t.level, 13) << "no finer level while moving";
      EXPECT_GE(r.x0, v.x1) << "a ring tile not ahead of the motion, frame " << i;
      const double span = kLayout.tile_size * kLayout.downsample(13);
      EXPECT_TRUE(r.y0 < v.y1 + span && r.y1 > v.y0 - span) << "one column ahead: the view's rows and the corners";
      EXPECT_LT(r.x0, v.x1 + span) << "one column deep";
    }
  }
  // Resting: once the view is complete and still for 200 ms, the ring all round and the finer level come.
  bool prefetched_behind = false, prefetched_finer = false;
  int rested_ms = 0, first_prefetch_ms = -1;
  for (int i = 0; i < 100; ++i) {
    const auto f = rig.frame(cam, 10);
    rested_ms += 10;
    if (rig.engine->stats().prefetching && first_prefetch_ms < 0) first_prefetch_ms = rested_ms;
    for (const TileId& t : f.plan.fetch) {
      if (t.level == 14) prefetched_finer = true;
      if (t.level == 13 && kLayout.tile_rect(t).x1 <= cam.visible_rect().x0) prefetched_behind = true;
    }
  }
  EXPECT_GE(first_prefetch_ms, 200) << "not before the view rested";
  EXPECT_LE(first_prefetch_ms, 400);
  EXPECT_TRUE(prefetched_behind);
  EXPECT_TRUE(prefetched_finer);
}

TEST(StreamingEngine, coarser_stand_ins_are_fetched_only_for_a_view_still_incomplete_a_while_after_a_move) {
  EngineOptions options;
  options.coarser_gaps_after = std::chrono::milliseconds(400);
  Rig slow(2, 3000, options);  // a server that takes 3 s a tile: the view stays incomplete
  const Camera cam = camera_at({5000, 3000}, 0.5);  // target level 13
  const auto parents_wanted = [](const StreamingEngine::Frame& f) {
    return std::count_if(f.plan.fetch.begin(), f.plan.fetch.end(), [&](const TileId& t) { return t.level == 12; });
  };
  int waited = 0;
  for (; waited < 390; waited += 10) {
    EXPECT_EQ(parents_wanted(slow.frame(cam, 10)), 0) << "no stand-ins " << waited << " ms after the move";
  }
  for (; waited < 500; waited += 10) slow.frame(cam, 10);
  EXPECT_GT(parents_wanted(slow.frame(cam, 10)), 0) << "still incomplete 500 ms after the move: stand-ins come";

  Rig fast(8, 20, options);  // tiles in 20 ms: the view completes before stand-ins are asked for
  for (int i = 0; i < 60; ++i) fast.frame(cam, 10);
  EXPECT_TRUE(fast.engine->stats().complete);
  for (const TileId& t : fast.net->sent()) EXPECT_NE(t.level, 12) << "a stand-in fetched although the view came quickly";
}

}  // namespace
}  // namespace reread::viewer
