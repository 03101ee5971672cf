// Camera transforms: level-0 pixels to screen pixels and back, through scale and quarter-turn rotation.
#include "camera.h"

#include <algorithm>
#include <cmath>

namespace reread::viewer {

namespace {

// Screen y points down, so a clockwise quarter turn takes (x, y) to (-y, x).
Vec2 rotate_cw(Vec2 v, int quarter_turns) {
  switch (((quarter_turns % 4) + 4) % 4) {
    case 1:
      return {-v.y, v.x};
    case 2:
      return {-v.x, -v.y};
    case 3:
      return {v.y, -v.x};
    default:
      return v;
  }
}

// The fraction of the viewport the whole slide fills after fit(): a margin so its edges show.
constexpr double kFitFill = 0.95;

}  // namespace

Vec2 Camera::slide_to_screen(Vec2 p) const {
  const Vec2 r = rotate_cw({(p.x - center.x) * scale, (p.y - center.y) * scale}, quarter_turns);
  return {r.x + viewport_width / 2.0, r.y + viewport_height / 2.0};
}

Vec2 Camera::screen_to_slide(Vec2 s) const {
  const Vec2 r = rotate_cw({s.x - viewport_width / 2.0, s.y - viewport_height / 2.0}, -quarter_turns);
  return {center.x + r.x / scale, center.y + r.y / scale};
}

Rect Camera::visible_rect() const {
  const Vec2 corners[] = {screen_to_slide({0, 0}), screen_to_slide({static_cast<double>(viewport_width), 0}),
                          screen_to_slide({0, static_cast<double>(viewport_height)}),
                          screen_to_slide({static_cast<double>(viewport_width), static_cast<double>(viewport_height)})};
  Rect r{corners[0].x, corners[0].y, corners[0].x, corners[0].y};
  for (const Vec2& c : corners) {
    r.x0 = std::min(r.x0, c.x);
    r.y0 = std::min(r.y0, c.y);
    r.x1 = std::max(r.x1, c.x);
    r.y1 = std::max(r.y1, c.y);
  }
  return r;
}

void Camera::zoom_about(Vec2 screen, double factor) {
  const Vec2 anchor = screen_to_slide(screen);
  scale *= factor;
  // Put the anchor back under the cursor: centre = anchor - (offset of the cursor from the middle) / scale.
  const Vec2 off = rotate_cw({screen.x - viewport_width / 2.0, screen.y - viewport_height / 2.0}, -quarter_turns);
  center = {anchor.x - off.x / scale, anchor.y - off.y / scale};
}

void Camera::pan_screen(Vec2 delta) {
  // Dragging the picture right moves the view's centre left on the slide.
  const Vec2 d = rotate_cw(delta, -quarter_turns);
  center = {center.x - d.x / scale, center.y - d.y / scale};
}

std::array<float, 9> slide_to_clip_matrix(const Camera& camera) {
  // The camera's own transform, sampled at three points, so rotation and axis conventions stay in one place.
  const Vec2 c = camera.center;
  const Vec2 s0 = camera.slide_to_screen(c);
  const Vec2 sx = camera.slide_to_screen({c.x + 1.0, c.y});
  const Vec2 sy = camera.slide_to_screen({c.x, c.y + 1.0});
  const double w = camera.viewport_width, h = camera.viewport_height;
  // Screen -> clip is x' = 2x/w - 1, y' = 1 - 2y/h.
  return {static_cast<float>(2.0 * (sx.x - s0.x) / w), static_cast<float>(-2.0 * (sx.y - s0.y) / h), 0.0f,
          static_cast<float>(2.0 * (sy.x - s0.x) / w), static_cast<float>(-2.0 * (sy.y - s0.y) / h), 0.0f,
          static_cast<float>(2.0 * s0.x / w - 1.0),    static_cast<float>(1.0 - 2.0 * s0.y / h),     1.0f};
}

Camera Camera::fit(double slide_width, double slide_height, int viewport_width, int viewport_height) {
  Camera c;
  c.viewport_width = viewport_width;
  c.viewport_height = viewport_height;
  c.center = {slide_width / 2.0, slide_height / 2.0};
  if (slide_width > 0 && slide_height > 0 && viewport_width > 0 && viewport_height > 0) {
    c.scale = kFitFill * std::min(viewport_width / slide_width, viewport_height / slide_height);
  }
  return c;
}

std::optional<double> magnification(double scale, std::optional<double> objective_power, std::optional<double> mpp) {
  if (objective_power && *objective_power > 0) return *objective_power * scale;
  // Without an objective power, 10x is 1 um per screen pixel, so a 0.25 um/px (40x) scan shown 1:1 reads
  // 40x as its objective power would say; a screen pixel shows mpp / scale um.
  if (mpp && *mpp > 0) return 10.0 * scale / *mpp;
  return std::nullopt;
}

std::optional<double> scale_for_magnification(double magnification, std::optional<double> objective_power,
                                              std::optional<double> mpp) {
  if (objective_power && *objective_power > 0) return magnification / *objective_power;
  if (mpp && *mpp > 0) return magnification * *mpp / 10.0;
  return std::nullopt;
}

}  // namespace reread::viewer
