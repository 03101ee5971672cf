// Tiles of a local slide for offline use: the tiler's TileRenderer on worker threads, fed by the same
// wish list as the HTTP provider. Same pixels as reread-server serves, without the JPEG round trip.
#include <thread>

#include "slide_source.h"
#include "tile_provider.h"
#include "tile_renderer.h"

namespace reread::viewer {

namespace {

class LocalTileProvider final : public TileProvider {
 public:
  LocalTileProvider(const std::string& path, int threads)
      : path_(path),
        slide_(open_slide(path)),
        renderer_(*slide_, DeepZoomOptions{254, 1, false}),
        queue_(std::chrono::milliseconds(250), std::chrono::milliseconds(8000)) {
    for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { run(); });
  }
  ~LocalTileProvider() override {
    queue_.stop();
    for (auto& t : threads_) t.join();
  }

  void want(const std::vector<TileId>& wanted) override { queue_.want(wanted); }
  std::vector<ArrivedTile> take_arrived() override { return queue_.take_arrived(); }
  ProviderStatus status() const override { return queue_.status(); }

 private:
  void run() {
    while (const auto id = queue_.next()) {
      const auto t0 = std::chrono::steady_clock::now();
      try {
        RgbImage image = renderer_.render(id->level, id->col, id->row);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        queue_.deliver({*id, std::move(image), 0, ms, 0});
      } catch (const std::exception& e) {
        queue_.fail(*id,
                    "tile " + std::to_string(id->level) + "/" + std::to_string(id->col) + "_" +
                        std::to_string(id->row) + " of " + path_ + ": " + e.what(),
                    true);
      }
    }
  }

  const std::string path_;
  std::unique_ptr<SlideSource> slide_;
  TileRenderer renderer_;
  TileRequestQueue queue_;
  std::vector<std::thread> threads_;
};

}  // namespace

std::unique_ptr<TileProvider> make_local_provider(const std::string& slide_path, int threads) {
  return std::make_unique<LocalTileProvider>(slide_path, threads);
}

SlideLayout read_local_layout(const std::string& slide_path) {
  const auto slide = open_slide(slide_path);
  const SlideInfo& info = slide->info();
  SlideLayout s;
  s.layout.width = info.level_dimensions.front().width;
  s.layout.height = info.level_dimensions.front().height;
  s.mpp_x = info.mpp_x;
  s.mpp_y = info.mpp_y;
  s.objective_power = info.objective_power;
  return s;
}

}  // namespace reread::viewer
