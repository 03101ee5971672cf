// DeepZoom geometry alone: pure arithmetic, no slide, no reference process.
#include "deepzoom_geometry.h"

#include <gtest/gtest.h>

namespace reread {
namespace {

SlideGeometry one_level(std::int64_t w, std::int64_t h) {
  SlideGeometry s;
  s.level_dimensions = {{w, h}};
  s.level_downsamples = {1.0};
  return s;
}

TEST(DeepZoomGeometry, levels_halve_with_ceiling_down_to_one_pixel) {
  const DeepZoomGeometry g(one_level(2220, 2967), {254, 1, false});
  ASSERT_EQ(g.level_count(), 13);
  EXPECT_EQ(g.level_dimensions(12), (Size{2220, 2967}));
  EXPECT_EQ(g.level_dimensions(11), (Size{1110, 1484}));
  EXPECT_EQ(g.level_dimensions(0), (Size{1, 1}));
  EXPECT_EQ(g.level_tiles(12), (Size{9, 12}));
}

TEST(DeepZoomGeometry, interior_tiles_carry_overlap_on_both_sides) {
  const DeepZoomGeometry g(one_level(1000, 1000), {254, 1, false});
  const auto first = g.tile(g.level_count() - 1, 0, 0);
  const auto middle = g.tile(g.level_count() - 1, 1, 1);
  const auto last = g.tile(g.level_count() - 1, 3, 3);
  ASSERT_TRUE(first && middle && last);
  EXPECT_EQ(first->tile_size, (Size{255, 255}));
  EXPECT_EQ(middle->tile_size, (Size{256, 256}));
  EXPECT_EQ(middle->l0_x, 253);
  EXPECT_EQ(last->tile_size, (Size{1000 - 3 * 254 + 1, 1000 - 3 * 254 + 1}));
}

TEST(DeepZoomGeometry, rejects_tile_outside_grid) {
  const DeepZoomGeometry g(one_level(1000, 600), {256, 0, false});
  const int top = g.level_count() - 1;
  EXPECT_FALSE(g.tile(top, 4, 0));
  EXPECT_FALSE(g.tile(top, 0, 3));
  EXPECT_FALSE(g.tile(top, -1, 0));
  EXPECT_FALSE(g.tile(top + 1, 0, 0));
  EXPECT_FALSE(g.tile(-1, 0, 0));
  EXPECT_TRUE(g.tile(top, 3, 2));
}

TEST(DeepZoomGeometry, chooses_the_coarsest_level_not_exceeding_the_downsample) {
  const std::vector<double> ds{1.0, 4.0, 16.0};
  EXPECT_EQ(best_level_for_downsample(ds, 0.5), 0);
  EXPECT_EQ(best_level_for_downsample(ds, 1.0), 0);
  EXPECT_EQ(best_level_for_downsample(ds, 3.99), 0);
  EXPECT_EQ(best_level_for_downsample(ds, 4.0), 1);
  EXPECT_EQ(best_level_for_downsample(ds, 64.0), 2);
}

TEST(DeepZoomGeometry, thumbnail_keeps_aspect_like_pillow) {
  EXPECT_EQ(thumbnail_size({100, 50}, {200, 200}), (Size{100, 50}));  // never enlarges
  EXPECT_EQ(thumbnail_size({1000, 500}, {100, 100}), (Size{100, 50}));
  EXPECT_EQ(thumbnail_size({1001, 1000}, {500, 500}), (Size{500, 500}));
  EXPECT_EQ(thumbnail_size({300, 7}, {150, 3}), (Size{129, 3}));
}

TEST(DeepZoomGeometry, limit_bounds_tiles_only_the_bounds) {
  SlideGeometry s{{{10000, 8000}, {2500, 2000}}, {1.0, 4.0}, 1000, 2000, 5000, 3000};
  const DeepZoomGeometry g(s, {254, 1, true});
  EXPECT_EQ(g.base_dimensions(), (Size{5000, 3000}));
  const auto t = g.tile(g.level_count() - 1, 0, 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->l0_x, 1000);
  EXPECT_EQ(t->l0_y, 2000);
}

TEST(DeepZoomGeometry, rejects_nonsense_options) {
  EXPECT_THROW(DeepZoomGeometry(one_level(10, 10), {0, 1, false}), std::invalid_argument);
  EXPECT_THROW(DeepZoomGeometry(one_level(10, 10), {254, -1, false}), std::invalid_argument);
  EXPECT_THROW(DeepZoomGeometry(one_level(0, 10), {254, 1, false}), std::invalid_argument);
}

TEST(DeepZoomGeometry, dzi_names_tile_size_overlap_format_and_size) {
  const DeepZoomGeometry g(one_level(2220, 2967), {254, 1, false});
  const std::string xml = g.dzi_xml("jpeg");
  EXPECT_NE(xml.find("TileSize=\"254\""), std::string::npos);
  EXPECT_NE(xml.find("Overlap=\"1\""), std::string::npos);
  EXPECT_NE(xml.find("Format=\"jpeg\""), std::string::npos);
  EXPECT_NE(xml.find("<Size Width=\"2220\" Height=\"2967\"/>"), std::string::npos);
}

}  // namespace
}  // namespace reread
