// The camera as the pathologist moves it: transforms that round-trip at every quarter turn, zoom that
// keeps the point under the cursor, the whole-slide fit, and magnification from objective power or MPP.
#include "camera.h"

#include <gtest/gtest.h>

namespace reread::viewer {
namespace {

Camera some_camera(int quarter_turns) {
  Camera c;
  c.center = {5123.5, 2877.25};
  c.scale = 0.37;
  c.quarter_turns = quarter_turns;
  c.viewport_width = 1280;
  c.viewport_height = 800;
  return c;
}

void expect_near(Vec2 got, Vec2 want, const std::string& what) {
  EXPECT_NEAR(got.x, want.x, 1e-6) << what;
  EXPECT_NEAR(got.y, want.y, 1e-6) << what;
}

TEST(Camera, slide_and_screen_transforms_round_trip_at_every_quarter_turn) {
  for (int q = 0; q < 4; ++q) {
    const Camera c = some_camera(q);
    expect_near(c.slide_to_screen(c.center), {640, 400}, "the centre is in the middle, turn " + std::to_string(q));
    for (const Vec2 p : {Vec2{0, 0}, Vec2{5000, 3000}, Vec2{-120.5, 9000.25}}) {
      expect_near(c.screen_to_slide(c.slide_to_screen(p)), p, "slide point round trip, turn " + std::to_string(q));
    }
    for (const Vec2 s : {Vec2{0, 0}, Vec2{1280, 800}, Vec2{17, 603}}) {
      expect_near(c.slide_to_screen(c.screen_to_slide(s)), s, "screen point round trip, turn " + std::to_string(q));
    }
  }
}

TEST(Camera, a_clockwise_quarter_turn_puts_what_was_right_of_centre_below_it) {
  const Camera c = some_camera(1);
  const Vec2 right = c.slide_to_screen({c.center.x + 100, c.center.y});
  expect_near(right, {640, 400 + 100 * c.scale}, "right of centre goes below on screen");
  const Vec2 below = c.slide_to_screen({c.center.x, c.center.y + 100});
  expect_near(below, {640 - 100 * c.scale, 400}, "below centre goes left on screen");
}

TEST(Camera, visible_rect_is_the_viewport_in_slide_pixels_swapped_when_turned) {
  Camera c = some_camera(0);
  Rect r = c.visible_rect();
  EXPECT_NEAR(r.width(), 1280 / c.scale, 1e-6);
  EXPECT_NEAR(r.height(), 800 / c.scale, 1e-6);
  EXPECT_NEAR((r.x0 + r.x1) / 2, c.center.x, 1e-6);
  c.quarter_turns = 3;
  r = c.visible_rect();
  EXPECT_NEAR(r.width(), 800 / c.scale, 1e-6) << "a quarter turn shows the viewport's height along the slide's x";
  EXPECT_NEAR(r.height(), 1280 / c.scale, 1e-6);
}

TEST(Camera, zoom_about_keeps_the_slide_point_under_the_cursor) {
  for (int q = 0; q < 4; ++q) {
    Camera c = some_camera(q);
    const Vec2 cursor{200, 650};
    const Vec2 under = c.screen_to_slide(cursor);
    c.zoom_about(cursor, 2.5);
    EXPECT_NEAR(c.scale, 0.37 * 2.5, 1e-12);
    expect_near(c.slide_to_screen(under), cursor, "zoom in, turn " + std::to_string(q));
    c.zoom_about(cursor, 1 / 7.0);
    expect_near(c.slide_to_screen(under), cursor, "zoom out, turn " + std::to_string(q));
  }
}

TEST(Camera, pan_moves_the_picture_with_the_drag) {
  for (int q = 0; q < 4; ++q) {
    Camera c = some_camera(q);
    const Vec2 grabbed = c.screen_to_slide({300, 300});
    c.pan_screen({45, -20});
    expect_near(c.slide_to_screen(grabbed), {345, 280}, "turn " + std::to_string(q));
  }
}

TEST(Camera, fit_shows_the_whole_slide_centred_with_a_margin) {
  const Camera c = Camera::fit(20000, 16000, 1280, 800);
  EXPECT_EQ(c.viewport_width, 1280);
  EXPECT_EQ(c.viewport_height, 800);
  expect_near(c.center, {10000, 8000}, "centred");
  const Rect r = c.visible_rect();
  EXPECT_LT(r.x0, 0);
  EXPECT_LT(r.y0, 0);
  EXPECT_GT(r.x1, 20000);
  EXPECT_GT(r.y1, 16000);
  EXPECT_GT(c.scale, 0.9 * 800 / 16000.0) << "the margin is small: the slide fills most of the limiting side";
}

TEST(Camera, magnification_follows_objective_power_else_mpp) {
  EXPECT_DOUBLE_EQ(*magnification(1.0, 40.0, 0.25), 40.0);
  EXPECT_DOUBLE_EQ(*magnification(0.25, 40.0, 0.25), 10.0);
  EXPECT_DOUBLE_EQ(*magnification(0.5, 20.0, std::nullopt), 10.0);
  // Without objective power: 10x is 1 um per screen pixel.
  EXPECT_DOUBLE_EQ(*magnification(1.0, std::nullopt, 0.25), 40.0);
  EXPECT_DOUBLE_EQ(*magnification(0.5, std::nullopt, 0.5), 10.0);
  EXPECT_FALSE(magnification(1.0, std::nullopt, std::nullopt).has_value());
  EXPECT_DOUBLE_EQ(*scale_for_magnification(10.0, 40.0, 0.25), 0.25);
  EXPECT_DOUBLE_EQ(*scale_for_magnification(20.0, std::nullopt, 0.5), 1.0);
  EXPECT_FALSE(scale_for_magnification(10.0, std::nullopt, std::nullopt).has_value());
  for (const double m : {1.25, 2.0, 5.0, 40.0, 80.0}) {
    EXPECT_NEAR(*magnification(*scale_for_magnification(m, std::nullopt, 0.2525), std::nullopt, 0.2525), m, 1e-9);
  }
}

}  // namespace
}  // namespace reread::viewer
