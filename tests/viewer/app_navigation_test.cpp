// How views move: a released drag glides and stops, a wheel zoom keeps the point under the cursor, the
// view stays on its slide, and the scale bar reads a round length.
#include "app_navigation.h"

#include <gtest/gtest.h>

#include <cmath>

#include "slide_view_panel.h"

namespace reread::viewer {
namespace {

Camera camera_at(double x, double y, double scale) {
  Camera c;
  c.center = {x, y};
  c.scale = scale;
  c.viewport_width = 1000;
  c.viewport_height = 800;
  return c;
}

TEST(Navigation, released_drag_glides_on_in_its_direction_then_stops) {
  Navigation nav({100000, 100000, 0.001, 4});
  Camera c = camera_at(50000, 50000, 1.0);
  double t = 0;
  for (int i = 0; i < 6; ++i) {
    t += 1.0 / 60;
    nav.drag(c, {-20, 0}, t);  // the picture goes left: the view moves right on the slide
  }
  const double after_drag = c.center.x;
  EXPECT_DOUBLE_EQ(after_drag, 50000 + 120);
  nav.release(t);
  ASSERT_TRUE(nav.moving());
  double last = c.center.x;
  int frames = 0;
  while (nav.step(c, 1.0 / 60) && frames < 600) {
    EXPECT_GE(c.center.x, last) << "the glide keeps its direction";
    last = c.center.x;
    ++frames;
  }
  EXPECT_LT(frames, 600) << "the glide stops";
  EXPECT_GT(c.center.x, after_drag + 50) << "the glide carries the view on";
  EXPECT_DOUBLE_EQ(c.center.y, 50000);
}

TEST(Navigation, drag_that_paused_before_release_does_not_glide) {
  Navigation nav({100000, 100000, 0.001, 4});
  Camera c = camera_at(50000, 50000, 1.0);
  nav.drag(c, {-30, 0}, 1.0);
  nav.release(1.5);
  EXPECT_FALSE(nav.moving());
}

TEST(Navigation, wheel_zoom_keeps_the_slide_point_under_the_cursor) {
  Navigation nav({100000, 100000, 0.001, 4});
  Camera c = camera_at(40000, 30000, 0.25);
  const Vec2 cursor{800, 200};
  const Vec2 before = c.screen_to_slide(cursor);
  nav.zoom_about(c, cursor, 2.0);
  nav.zoom_about(c, cursor, 2.0);  // notches accumulate
  for (int i = 0; i < 200 && nav.step(c, 1.0 / 60); ++i) {
    const Vec2 now = c.screen_to_slide(cursor);
    EXPECT_NEAR(now.x, before.x, 1e-6);
    EXPECT_NEAR(now.y, before.y, 1e-6);
  }
  EXPECT_FALSE(nav.moving());
  EXPECT_NEAR(c.scale, 1.0, 1e-9);
}

TEST(Navigation, zoom_and_centre_stay_within_the_limits) {
  Navigation nav({12000, 9000, 0.01, 4});
  Camera c = camera_at(6000, 4500, 1.0);
  nav.zoom_to(c, 100.0);
  for (int i = 0; i < 300 && nav.step(c, 1.0 / 60); ++i) {
  }
  EXPECT_DOUBLE_EQ(c.scale, 4.0);
  nav.pan_by({1e7, -1e7});
  for (int i = 0; i < 300 && nav.step(c, 1.0 / 60); ++i) {
  }
  EXPECT_GE(c.center.x, 0.0);
  EXPECT_LE(c.center.y, 9000.0);
}

TEST(ScaleBar, reads_a_round_length_near_the_wanted_size) {
  // 40x at 10x: 1 um per screen pixel.
  ScaleBar b = scale_bar(1.0, 120);
  EXPECT_EQ(b.label, "100 \xc2\xb5m");
  EXPECT_DOUBLE_EQ(b.pixels, 100);
  b = scale_bar(16.0, 120);  // 1920 um
  EXPECT_EQ(b.label, "1 mm");
  EXPECT_DOUBLE_EQ(b.pixels, 62.5);
  b = scale_bar(0.0625, 120);  // 7.5 um
  EXPECT_EQ(b.label, "5 \xc2\xb5m");
  EXPECT_DOUBLE_EQ(b.pixels, 80);
  EXPECT_TRUE(scale_bar(0, 120).label.empty());
}

}  // namespace
}  // namespace reread::viewer
