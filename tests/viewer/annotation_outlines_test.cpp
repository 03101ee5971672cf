// Annotation outlines for the GPU: simplification stays within its tolerance, each zoom gets a level finer
// than half a screen pixel, only what is in view and shown is drawn, and small shapes never vanish.
#include "annotation_outlines.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace reread::viewer {
namespace {

using reread::annotation::Geometry;
using reread::annotation::LineString;
using reread::annotation::Polygon;
using reread::annotation::Position;

std::vector<Position> circle(Position c, double r, int n) {
  std::vector<Position> ring;
  for (int i = 0; i < n; ++i) {
    const double a = 2 * std::numbers::pi * i / n;
    ring.push_back({c.x + r * std::cos(a), c.y + r * std::sin(a)});
  }
  ring.push_back(ring.front());
  return ring;
}

double distance_to_polyline(const Position& p, const std::vector<Position>& line) {
  double best = 1e300;
  for (std::size_t i = 0; i + 1 < line.size(); ++i) {
    const Position a = line[i], b = line[i + 1];
    const double dx = b.x - a.x, dy = b.y - a.y, l2 = dx * dx + dy * dy;
    const double t = l2 > 0 ? std::clamp(((p.x - a.x) * dx + (p.y - a.y) * dy) / l2, 0.0, 1.0) : 0.0;
    best = std::min(best, std::hypot(p.x - a.x - t * dx, p.y - a.y - t * dy));
  }
  return best;
}

TEST(AnnotationOutlines, simplification_keeps_every_vertex_within_the_tolerance_and_the_ring_closed) {
  const auto ring = circle({5000, 5000}, 800, 1000);
  for (const double tolerance : {0.5, 2.0, 16.0, 128.0}) {
    const auto s = simplify_polyline(ring, tolerance);
    ASSERT_GE(s.size(), 4u) << "tolerance " << tolerance;
    EXPECT_EQ(s.front(), ring.front());
    EXPECT_EQ(s.back(), ring.back()) << "a ring stays closed";
    for (const Position& p : ring) {
      ASSERT_LE(distance_to_polyline(p, s), tolerance + 1e-9) << "tolerance " << tolerance;
    }
  }
  EXPECT_LT(simplify_polyline(ring, 16.0).size(), 100u) << "a 1000-vertex circle needs far fewer at 16 px";
  const std::vector<Position> straight{{0, 0}, {1, 0.1}, {2, -0.1}, {3, 0}};
  EXPECT_EQ(simplify_polyline(straight, 0.5), (std::vector<Position>{{0, 0}, {3, 0}}));
}

TEST(AnnotationOutlines, the_level_is_the_coarsest_within_half_a_screen_pixel) {
  EXPECT_EQ(AnnotationOutlines::level_for(0.25), 0) << "zoomed in past 1:1";
  EXPECT_EQ(AnnotationOutlines::level_for(1.0), 0);
  for (const double per_px : {2.0, 3.0, 50.0, 500.0}) {
    const int level = AnnotationOutlines::level_for(per_px);
    EXPECT_LE(AnnotationOutlines::tolerance(level), per_px / 2 + 1e-9) << per_px;
    if (level + 1 < AnnotationOutlines::kLevels) {
      EXPECT_GT(AnnotationOutlines::tolerance(level + 1), per_px / 2) << per_px;
    }
  }
}

TEST(AnnotationOutlines, only_shown_items_in_view_are_drawn_and_small_rings_stay_visible_as_boxes) {
  const Geometry big = Polygon{{circle({2000, 2000}, 500, 400)}};
  const Geometry small = Polygon{{circle({30000, 30000}, 3, 40)}};
  const Geometry ruler = LineString{{{100, 100}, {900, 100}}};
  AnnotationOutlines outlines;
  outlines.update({{"big", &big, 0xff0000ffu}, {"small", &small, 0x00ff00ffu}, {"ruler", &ruler, 0x0000ffffu}});
  EXPECT_EQ(outlines.source_vertices(), 401u + 41u + 2u);
  const auto all = [](const std::string&) { return true; };
  std::vector<OutlineRange> ranges;
  outlines.visible({0, 0, 5000, 5000}, 0, all, ranges);
  ASSERT_EQ(ranges.size(), 2u) << "the big ring and the ruler are in view, the small ring is not";
  const std::int32_t fine = ranges[0].count;
  EXPECT_GT(fine, 64) << "level 0 (half a pixel) keeps a radius-500 circle round";
  EXPECT_LE(fine, 401);
  EXPECT_EQ(ranges[1].count, 2);
  const auto& v = outlines.vertices();
  const Vec2 o = outlines.origin();
  EXPECT_NEAR(v[static_cast<std::size_t>(ranges[1].first)].x + o.x, 100, 1e-3);
  EXPECT_NEAR(v[static_cast<std::size_t>(ranges[1].first) + 1].x + o.x, 900, 1e-3);

  outlines.visible({0, 0, 5000, 5000}, 0, [](const std::string& key) { return key != "big"; }, ranges);
  EXPECT_EQ(ranges.size(), 1u) << "a hidden class is not drawn";

  const int coarse = AnnotationOutlines::level_for(200);
  outlines.visible({0, 0, 50000, 50000}, coarse, all, ranges);
  ASSERT_EQ(ranges.size(), 3u);
  EXPECT_LT(ranges[0].count, fine / 4) << "the big ring is simplified at low zoom";
  EXPECT_EQ(ranges[1].count, 5) << "a ring far smaller than the tolerance becomes its bounding box, not nothing";

  const std::uint64_t before = outlines.generation();
  outlines.update({{"ruler", &ruler, 0x0000ffffu}});
  EXPECT_GT(outlines.generation(), before);
  outlines.visible({0, 0, 50000, 50000}, 0, all, ranges);
  EXPECT_EQ(ranges.size(), 1u) << "a removed annotation is gone";
}

}  // namespace
}  // namespace reread::viewer
