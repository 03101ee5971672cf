// The view onto a slide: where its centre is (level-0 pixels), how many screen pixels a level-0 pixel
// spans, quarter-turn rotation, and the viewport. Pure values and transforms; the app animates them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace reread::viewer {

struct Vec2 {
  double x = 0, y = 0;
};

// An axis-aligned rectangle in level-0 pixels: [x0, x1) x [y0, y1).
struct Rect {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  double width() const { return x1 - x0; }
  double height() const { return y1 - y0; }
  bool intersects(const Rect& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

struct Camera {
  Vec2 center;                                       // level-0 pixels at the middle of the viewport
  double scale = 1.0;                                // screen pixels per level-0 pixel
  int quarter_turns = 0;                             // 0..3, clockwise
  int viewport_width = 1280, viewport_height = 800;  // screen pixels

  Vec2 slide_to_screen(Vec2 p) const;
  Vec2 screen_to_slide(Vec2 s) const;
  // The level-0 rectangle the viewport covers (its bounding box when rotated).
  Rect visible_rect() const;
  // Zooms by `factor` keeping the slide point under `screen` where it is.
  void zoom_about(Vec2 screen, double factor);
  // Moves the view by a screen-space drag.
  void pan_screen(Vec2 delta);
  // Whole slide in the viewport with a margin.
  static Camera fit(double slide_width, double slide_height, int viewport_width, int viewport_height);
};

// The camera as a column-major 3x3 matrix from level-0 pixels relative to its centre to GL clip space
// (zoom, rotation, y down on screen), for shaders that draw in slide coordinates.
std::array<float, 9> slide_to_clip_matrix(const Camera& camera);

// Optical magnification shown at `scale`: objective power x scale when the slide says it, else from MPP
// (10x is 1 um per screen pixel).
std::optional<double> magnification(double scale, std::optional<double> objective_power, std::optional<double> mpp);
// The scale that shows `magnification`.
std::optional<double> scale_for_magnification(double magnification, std::optional<double> objective_power,
                                              std::optional<double> mpp);

}  // namespace reread::viewer
