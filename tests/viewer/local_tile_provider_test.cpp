// Offline viewing: a local slide's tiles rendered by the tiler on worker threads, the same pixels the
// server's renderer makes, and the slide's layout read from the file.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "openslide_source.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"
#include "tile_provider.h"
#include "tile_renderer.h"

namespace reread::viewer {
namespace {

using namespace std::chrono_literals;

TEST(LocalTileProvider, renders_the_wanted_tiles_as_the_tiler_does_and_reports_bad_ones) {
  test::TempDir dir;
  const auto path = (dir.path() / "local.svs").string();
  SyntheticSlideOptions o;
  o.spec = {2000, 1500, 9, 0.5};
  write_synthetic_slide(path, o);

  const SlideLayout s = read_local_layout(path);
  EXPECT_EQ(s.layout.width, 2000);
  EXPECT_EQ(s.layout.height, 1500);
  EXPECT_DOUBLE_EQ(s.mpp().value_or(0), 0.5);
  EXPECT_TRUE(s.objective_power.has_value());

  const int top = s.layout.top_level();
  const std::vector<TileId> wanted{{s.layout.coarsest_useful_level(), 0, 0}, {top, 0, 0}, {top, 7, 5}, {top - 1, 1, 1}};
  auto provider = make_local_provider(path, 2);
  provider->want(wanted);
  std::map<TileId, ArrivedTile> got;
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (got.size() < wanted.size() && std::chrono::steady_clock::now() < until) {
    for (ArrivedTile& a : provider->take_arrived()) got[a.id] = std::move(a);
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(got.size(), wanted.size()) << provider->status().last_error;
  const OpenSlideSource slide(path);
  const TileRenderer renderer(slide, {254, 1, false});
  for (const TileId& t : wanted) {
    const RgbImage want = renderer.render(t.level, t.col, t.row);
    EXPECT_EQ(got[t].image.width, s.layout.image_width(t));
    EXPECT_TRUE(got[t].image.pixels == want.pixels) << "tile " << t.level << "/" << t.col << "_" << t.row;
  }

  provider->want({{top, 99, 99}});
  const auto until_failed = std::chrono::steady_clock::now() + 10s;
  while (provider->status().failed == 0 && std::chrono::steady_clock::now() < until_failed) {
    std::this_thread::sleep_for(5ms);
  }
  const ProviderStatus st = provider->status();
  EXPECT_GE(st.failed, 1u);
  EXPECT_NE(st.last_error.find("local.svs"), std::string::npos) << st.last_error;
}

}  // namespace
}  // namespace reread::viewer
