// What a frame showed where: blank regions and regions turning coarser are found from the drawn tiles.
#include "app_view_coverage.h"

#include <gtest/gtest.h>

namespace reread::viewer {
namespace {

struct Fixture {
  PyramidLayout layout{4000, 3000, 254, 1};
  Camera camera = Camera::fit(4000, 3000, 800, 600);
};

TEST(ViewCoverage, the_coarsest_tile_alone_covers_the_whole_slide) {
  Fixture f;
  const int coarsest = f.layout.coarsest_useful_level();
  const ViewCoverage c = view_coverage(f.camera, f.layout, {{coarsest, 0, 0}});
  EXPECT_FALSE(c.has_blank());
  int on_slide = 0;
  for (int l : c.level) on_slide += l == coarsest ? 1 : 0;
  EXPECT_GT(on_slide, 0);
  EXPECT_TRUE(view_coverage(f.camera, f.layout, {}).has_blank()) << "nothing drawn: the slide in view is blank";
}

TEST(ViewCoverage, finer_tiles_drawn_over_coarser_show_and_dropping_them_below_target_counts) {
  Fixture f;
  f.camera.scale = 1.0;  // level 0 pixels 1:1: the top level is the target
  f.camera.center = {127, 127};
  const int top = f.layout.top_level(), coarsest = f.layout.coarsest_useful_level();
  std::vector<TileId> drawn = {{coarsest, 0, 0}};
  for (std::int64_t col = 0; col < 4; ++col) {
    for (std::int64_t row = 0; row < 4; ++row) drawn.push_back({top, col, row});
  }
  const ViewCoverage sharp = view_coverage(f.camera, f.layout, drawn);
  EXPECT_FALSE(sharp.has_blank());
  for (int l : sharp.level) EXPECT_TRUE(l == top || l == ViewCoverage::kOffSlide);

  drawn.erase(drawn.begin() + 1);  // target tile 0,0 gone: its region falls back to the coarse stand-in
  const ViewCoverage after = view_coverage(f.camera, f.layout, drawn);
  EXPECT_FALSE(after.has_blank());
  EXPECT_GT(after.coarser_than(sharp, top), 0);
  EXPECT_EQ(sharp.coarser_than(after, top), 0) << "sharpening is no loss";
  EXPECT_EQ(after.coarser_than(sharp, coarsest), 0) << "nothing fell below a coarse target";
}

}  // namespace
}  // namespace reread::viewer
