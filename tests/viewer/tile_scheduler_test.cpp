// Tile scheduling as the viewer meets it: which level to show, which tiles are in view, a draw list that
// never leaves a region blank, and fetches in the order that fills the screen soonest.
#include "tile_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "deepzoom_geometry.h"

namespace reread::viewer {
namespace {

// 10000 x 6000: levels 0..14; level 8 (157 x 94) is the finest that fits one tile.
PyramidLayout layout_10k() { return {10000, 6000, 254, 1}; }

Camera camera_at(Vec2 center, double scale, int turns = 0) {
  Camera c;
  c.center = center;
  c.scale = scale;
  c.quarter_turns = turns;
  c.viewport_width = 1280;
  c.viewport_height = 800;
  return c;
}

bool contains(const Rect& r, Vec2 p) { return p.x >= r.x0 && p.x < r.x1 && p.y >= r.y0 && p.y < r.y1; }

TEST(PyramidLayout, levels_and_tiles_agree_with_the_tilers_deepzoom_geometry) {
  for (const auto& [w, h] : std::vector<std::pair<std::int64_t, std::int64_t>>{
           {10000, 6000}, {1001, 701}, {6050, 4030}, {254, 254}, {255, 1}, {1, 1}}) {
    const PyramidLayout layout{w, h, 254, 1};
    SlideGeometry slide;
    slide.level_dimensions = {{w, h}};
    slide.level_downsamples = {1.0};
    const DeepZoomGeometry dz(slide, {254, 1, false});
    ASSERT_EQ(layout.level_count(), dz.level_count()) << w << "x" << h;
    for (int level = 0; level < layout.level_count(); ++level) {
      EXPECT_EQ(layout.level_width(level), dz.level_dimensions(level).width) << w << "x" << h << " level " << level;
      EXPECT_EQ(layout.level_height(level), dz.level_dimensions(level).height) << w << "x" << h << " level " << level;
      ASSERT_EQ(layout.cols(level), dz.level_tiles(level).width);
      ASSERT_EQ(layout.rows(level), dz.level_tiles(level).height);
      for (std::int64_t row = 0; row < layout.rows(level); ++row) {
        for (std::int64_t col = 0; col < layout.cols(level); ++col) {
          const auto src = dz.tile(level, col, row);
          const TileId t{level, col, row};
          EXPECT_EQ(layout.image_width(t), src->tile_size.width) << "tile " << level << "/" << col << "_" << row;
          EXPECT_EQ(layout.image_height(t), src->tile_size.height) << "tile " << level << "/" << col << "_" << row;
        }
      }
    }
  }
}

TEST(PyramidLayout, edge_tiles_are_partial_and_end_at_the_slide_edge) {
  const PyramidLayout layout{1001, 701, 254, 1};
  const int top = layout.top_level();
  EXPECT_EQ(layout.cols(top), 4);
  EXPECT_EQ(layout.rows(top), 3);
  const TileId last{top, 3, 2};
  EXPECT_EQ(layout.image_width(last), 1001 - 762 + 1) << "its own 239 px plus the left overlap only";
  EXPECT_EQ(layout.image_height(last), 701 - 508 + 1);
  EXPECT_EQ(layout.overlap_left(last), 1);
  EXPECT_EQ(layout.overlap_left({top, 0, 0}), 0);
  EXPECT_EQ(layout.image_width({top, 1, 0}), 256) << "inner tiles have overlap on both sides";
  const Rect r = layout.tile_rect(last);
  EXPECT_DOUBLE_EQ(r.x0, 762);
  EXPECT_DOUBLE_EQ(r.x1, 1001);
  EXPECT_DOUBLE_EQ(r.y1, 701);
  // One level coarser, 501 x 351 px stand for 1001 x 701: the last pixel stands for one level-0 pixel, not two.
  EXPECT_EQ(layout.level_width(top - 1), 501);
  const Rect coarse = layout.tile_rect({top - 1, 1, 1});
  EXPECT_DOUBLE_EQ(coarse.x0, 508);
  EXPECT_DOUBLE_EQ(coarse.x1, 1001);
  EXPECT_DOUBLE_EQ(coarse.y1, 701);
}

TEST(PyramidLayout, picks_the_coarsest_level_at_least_as_fine_as_the_screen) {
  const PyramidLayout layout = layout_10k();
  EXPECT_EQ(layout.top_level(), 14);
  EXPECT_EQ(layout.coarsest_useful_level(), 8);
  EXPECT_EQ(layout.level_for_scale(4.0), 14) << "past full resolution the top level is magnified";
  EXPECT_EQ(layout.level_for_scale(1.0), 14);
  EXPECT_EQ(layout.level_for_scale(0.5), 13);
  EXPECT_EQ(layout.level_for_scale(0.3), 13) << "a level pixel may be smaller than a screen pixel, never larger";
  EXPECT_EQ(layout.level_for_scale(0.26), 13);
  EXPECT_EQ(layout.level_for_scale(0.25), 12);
  EXPECT_EQ(layout.level_for_scale(1e-9), 0);
  EXPECT_EQ(layout.parent({14, 17, 9}), (TileId{13, 8, 4}));
}

TEST(TileScheduler, visible_target_tiles_are_those_the_view_touches) {
  const PyramidLayout layout = layout_10k();
  for (int turns = 0; turns < 2; ++turns) {
    const Camera cam = camera_at({5000, 3000}, 1.0, turns);
    const Plan plan = plan_view(cam, layout, [](const TileId&) { return false; });
    EXPECT_EQ(plan.target_level, 14);
    std::set<TileId> want;
    for (std::int64_t row = 0; row < layout.rows(14); ++row) {
      for (std::int64_t col = 0; col < layout.cols(14); ++col) {
        if (layout.tile_rect({14, col, row}).intersects(cam.visible_rect())) want.insert({14, col, row});
      }
    }
    const std::set<TileId> got(plan.visible_target.begin(), plan.visible_target.end());
    EXPECT_EQ(got, want) << "turns " << turns;
    EXPECT_EQ(got.size(), 24u) << "6 x 4 tiles, or 4 x 6 turned";
    EXPECT_FALSE(plan.complete);
  }
}

TEST(TileScheduler, only_the_coarsest_level_resident_still_covers_the_whole_view) {
  const PyramidLayout layout = layout_10k();
  const TileId coarsest{8, 0, 0};
  for (const Camera& cam : {camera_at({5000, 3000}, 1.0), camera_at({9900, 5900}, 2.0, 1),
                            camera_at({100, 3000}, 0.05, 2), camera_at({5000, 3000}, 0.3, 3)}) {
    const Plan plan = plan_view(cam, layout, [&](const TileId& t) { return t == coarsest; });
    ASSERT_EQ(plan.draw.size(), 1u);
    EXPECT_EQ(plan.draw[0].tile, coarsest);
    const Rect v = cam.visible_rect();
    const Rect d = plan.draw[0].dest;
    EXPECT_LE(d.x0, std::max(0.0, v.x0));
    EXPECT_LE(d.y0, std::max(0.0, v.y0));
    EXPECT_GE(d.x1, std::min(10000.0, v.x1));
    EXPECT_GE(d.y1, std::min(6000.0, v.y1));
  }
}

// For any mix of resident tiles (the coarsest always among them), every point of the view is covered,
// and what is drawn last there is the finest resident tile: coarser ones are drawn first.
TEST(TileScheduler, draw_list_shows_the_finest_resident_tile_everywhere_coarsest_first) {
  const PyramidLayout layout = layout_10k();
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    const Camera cam = camera_at({2000.0 + trial * 150, 1500.0 + trial * 70}, 0.3 + 0.05 * (trial % 10), trial % 4);
    const double keep = std::uniform_real_distribution<double>(0.1, 0.9)(rng);
    std::set<TileId> resident{{8, 0, 0}};
    for (int level = 9; level <= 14; ++level) {
      for (std::int64_t row = 0; row < layout.rows(level); ++row) {
        for (std::int64_t col = 0; col < layout.cols(level); ++col) {
          if (std::uniform_real_distribution<double>(0, 1)(rng) < keep) resident.insert({level, col, row});
        }
      }
    }
    const auto is_resident = [&](const TileId& t) { return resident.count(t) != 0; };
    const Plan plan = plan_view(cam, layout, is_resident);
    for (std::size_t i = 1; i < plan.draw.size(); ++i) {
      ASSERT_LE(plan.draw[i - 1].tile.level, plan.draw[i].tile.level) << "coarser tiles are drawn first";
    }
    for (const DrawItem& d : plan.draw) ASSERT_TRUE(is_resident(d.tile)) << "only resident tiles are drawn";
    const Rect v = cam.visible_rect();
    for (double fy = 0.013; fy < 1; fy += 0.0917) {
      for (double fx = 0.011; fx < 1; fx += 0.0771) {
        const Vec2 p{v.x0 + fx * v.width(), v.y0 + fy * v.height()};
        if (p.x < 0 || p.y < 0 || p.x >= 10000 || p.y >= 6000) continue;
        const DrawItem* top_item = nullptr;
        for (const DrawItem& d : plan.draw) {
          if (contains(d.dest, p)) top_item = &d;
        }
        ASSERT_NE(top_item, nullptr) << "blank at " << p.x << "," << p.y << " trial " << trial;
        // The finest resident tile over p, at or below the target level (one finer stands in for a
        // missing target tile).
        const auto tile_at = [&](int level) {
          const double span = 254 * layout.downsample(level);
          return TileId{level, static_cast<std::int64_t>(p.x / span), static_cast<std::int64_t>(p.y / span)};
        };
        int want = 8;
        for (int level = plan.target_level; level > 8; --level) {
          if (is_resident(tile_at(level))) {
            want = level;
            break;
          }
        }
        if (plan.target_level < 14 && !is_resident(tile_at(plan.target_level)) &&
            is_resident(tile_at(plan.target_level + 1))) {
          want = plan.target_level + 1;
        }
        EXPECT_EQ(top_item->tile.level, want) << "at " << p.x << "," << p.y << " trial " << trial;
      }
    }
  }
}

TEST(TileScheduler, fetches_coarsest_then_visible_nearest_centre_then_parents_then_ring_then_finer) {
  const PyramidLayout layout = layout_10k();
  const Camera cam = camera_at({5000, 3000}, 0.5);
  SchedulerOptions options;
  options.max_fetch = 100000;
  const Plan plan = plan_view(
      cam, layout, [](const TileId&) { return false; }, options);
  ASSERT_EQ(plan.target_level, 13);
  ASSERT_FALSE(plan.fetch.empty());
  EXPECT_EQ(plan.fetch.front(), (TileId{8, 0, 0})) << "the single-tile level comes first of all";

  const std::set<TileId> visible(plan.visible_target.begin(), plan.visible_target.end());
  std::int64_t c0 = 1 << 30, c1 = -1, r0 = 1 << 30, r1 = -1;
  for (const TileId& t : visible) {
    c0 = std::min(c0, t.col), c1 = std::max(c1, t.col), r0 = std::min(r0, t.row), r1 = std::max(r1, t.row);
  }
  const auto kind = [&](const TileId& t) {
    if (t.level == 8) return 0;
    if (t.level == 13 && visible.count(t)) return 1;
    if (t.level == 12) return 2;
    if (t.level == 13) return 3;
    if (t.level == 14) return 4;
    return 99;
  };
  const auto distance = [&](const TileId& t) {
    const Rect r = layout.tile_rect(t);
    return std::hypot((r.x0 + r.x1) / 2 - 5000, (r.y0 + r.y1) / 2 - 3000);
  };
  std::map<int, std::size_t> count;
  for (std::size_t i = 0; i < plan.fetch.size(); ++i) {
    const TileId& t = plan.fetch[i];
    ++count[kind(t)];
    ASSERT_NE(kind(t), 99) << "unexpected level " << t.level;
    if (i == 0) continue;
    const TileId& prev = plan.fetch[i - 1];
    ASSERT_LE(kind(prev), kind(t)) << "fetch " << i << " breaks the priority order";
    if (kind(prev) == kind(t)) {
      ASSERT_LE(distance(prev), distance(t) + 1e-9) << "nearest the centre first, fetch " << i;
    }
    if (kind(t) == 2) {
      EXPECT_TRUE(visible.count({13, t.col * 2, t.row * 2}) || visible.count({13, t.col * 2 + 1, t.row * 2}) ||
                  visible.count({13, t.col * 2, t.row * 2 + 1}) || visible.count({13, t.col * 2 + 1, t.row * 2 + 1}))
          << "a coarser fetch is the parent of a visible tile";
    }
    if (kind(t) == 3) {
      EXPECT_TRUE(t.col >= c0 - 1 && t.col <= c1 + 1 && t.row >= r0 - 1 && t.row <= r1 + 1) << "one ring only";
    }
  }
  EXPECT_EQ(count[1], visible.size());
  EXPECT_EQ(count[3], static_cast<std::size_t>((c1 - c0 + 3) * (r1 - r0 + 3)) - visible.size());
  EXPECT_GT(count[2], 0u);
  EXPECT_GT(count[4], 0u);

  options.max_fetch = 10;
  const Plan cut = plan_view(
      cam, layout, [](const TileId&) { return false; }, options);
  ASSERT_EQ(cut.fetch.size(), 10u);
  EXPECT_TRUE(std::equal(cut.fetch.begin(), cut.fetch.end(), plan.fetch.begin())) << "the cut keeps the most wanted";

  const Plan no_prefetch = plan_view(
      cam, layout, [](const TileId&) { return false; }, SchedulerOptions{false, 1000, {}, true});
  EXPECT_EQ(no_prefetch.fetch.size(), 1 + count[1] + count[2]);
}

TEST(TileScheduler, the_ring_ahead_of_the_motion_comes_before_the_rest_and_alone_without_prefetch) {
  const PyramidLayout layout = layout_10k();
  const Camera cam = camera_at({5000, 3000}, 0.5);
  SchedulerOptions options;
  options.max_fetch = 100000;
  options.heading = {-30, 5};  // moving left (slightly down: not enough to lead downwards)
  const auto none = [](const TileId&) { return false; };
  const Plan plan = plan_view(cam, layout, none, options);
  const std::set<TileId> visible(plan.visible_target.begin(), plan.visible_target.end());
  std::int64_t c0 = 1 << 30, c1 = -1, r0 = 1 << 30, r1 = -1;
  for (const TileId& t : visible) {
    c0 = std::min(c0, t.col), c1 = std::max(c1, t.col), r0 = std::min(r0, t.row), r1 = std::max(r1, t.row);
  }
  const auto ring = [&](const TileId& t) { return t.level == plan.target_level && !visible.count(t); };
  const auto ahead = [&](const TileId& t) { return ring(t) && t.col == c0 - 1; };
  std::size_t first_other_ring = plan.fetch.size(), last_ahead = 0, aheads = 0;
  for (std::size_t i = 0; i < plan.fetch.size(); ++i) {
    if (ahead(plan.fetch[i])) last_ahead = i, ++aheads;
    if (ring(plan.fetch[i]) && !ahead(plan.fetch[i])) first_other_ring = std::min(first_other_ring, i);
  }
  EXPECT_EQ(aheads, static_cast<std::size_t>(r1 - r0 + 3)) << "the whole column to the left, corners included";
  EXPECT_LT(last_ahead, first_other_ring) << "ahead of the motion first";

  options.prefetch = false;
  const Plan moving = plan_view(cam, layout, none, options);
  std::size_t ring_tiles = 0;
  for (const TileId& t : moving.fetch) {
    EXPECT_NE(t.level, plan.target_level + 1) << "no finer level without prefetch";
    if (ring(t)) {
      ++ring_tiles;
      EXPECT_TRUE(ahead(t)) << "only the column ahead without prefetch";
    }
  }
  EXPECT_EQ(ring_tiles, aheads);
}

TEST(TileScheduler, resident_tiles_are_not_fetched_and_a_full_view_is_complete) {
  const PyramidLayout layout = layout_10k();
  const Camera cam = camera_at({5000, 3000}, 1.0);
  const Plan first = plan_view(cam, layout, [](const TileId&) { return false; });
  std::set<TileId> resident(first.visible_target.begin(), first.visible_target.end());
  resident.insert({8, 0, 0});
  const Plan plan = plan_view(cam, layout, [&](const TileId& t) { return resident.count(t) != 0; });
  EXPECT_TRUE(plan.complete);
  EXPECT_EQ(plan.draw.size(), plan.visible_target.size()) << "no stand-ins when every target tile is there";
  for (const TileId& t : plan.fetch) {
    EXPECT_EQ(resident.count(t), 0u);
    EXPECT_NE(t.level, 13) << "no parents to fetch when nothing is missing";
  }
  EXPECT_FALSE(plan.fetch.empty()) << "the ring is still prefetched";
}

TEST(TileScheduler, a_view_off_the_slide_fetches_only_the_coarsest_tile) {
  const Plan plan = plan_view(camera_at({-50000, -50000}, 1.0), layout_10k(), [](const TileId&) { return false; });
  EXPECT_TRUE(plan.visible_target.empty());
  EXPECT_TRUE(plan.draw.empty());
  ASSERT_EQ(plan.fetch.size(), 1u);
  EXPECT_EQ(plan.fetch[0], (TileId{8, 0, 0}));
}

TEST(TileScheduler, zooming_out_uses_finer_resident_tiles_as_stand_ins) {
  const PyramidLayout layout = layout_10k();
  const Camera cam = camera_at({5000, 3000}, 0.5);  // target 13
  const Plan plan0 = plan_view(cam, layout, [](const TileId&) { return false; });
  const TileId missing = plan0.visible_target.front();
  std::set<TileId> resident{{8, 0, 0}};
  for (std::int64_t dy = 0; dy < 2; ++dy) {
    for (std::int64_t dx = 0; dx < 2; ++dx) resident.insert({14, missing.col * 2 + dx, missing.row * 2 + dy});
  }
  const Plan plan = plan_view(cam, layout, [&](const TileId& t) { return resident.count(t) != 0; });
  ASSERT_EQ(plan.draw.size(), 5u);
  EXPECT_EQ(plan.draw[0].tile.level, 8);
  for (std::size_t i = 1; i < 5; ++i) EXPECT_EQ(plan.draw[i].tile.level, 14);
}

}  // namespace
}  // namespace reread::viewer
