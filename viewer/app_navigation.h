// How a view moves: drags with inertia, animated zoom about a point, animated keyboard pans and jumps,
// kept within the slide and a sensible zoom range. Pure: it advances a Camera by elapsed time.
#pragma once

#include <deque>
#include <optional>

#include "camera.h"

namespace reread::viewer {

struct NavigationLimits {
  double slide_width = 0, slide_height = 0;  // level-0 pixels: the centre stays on the slide
  double min_scale = 1e-4, max_scale = 8.0;  // screen pixels per level-0 pixel
};

class Navigation {
 public:
  explicit Navigation(NavigationLimits limits = {}) : limits_(limits) {}
  void set_limits(const NavigationLimits& limits) { limits_ = limits; }
  const NavigationLimits& limits() const { return limits_; }

  // A drag moved the picture by `delta` screen pixels at time `now` (seconds): applied at once.
  void drag(Camera& camera, Vec2 delta, double now);
  // The drag ended at `now`: the picture glides on with the drag's recent velocity, slowing down.
  void release(double now);
  // Zoom by `factor` keeping the slide point under `screen` still, animated (factors accumulate).
  void zoom_about(const Camera& camera, Vec2 screen, double factor);
  // Animated zoom to `scale` about the viewport's centre.
  void zoom_to(const Camera& camera, double scale);
  // Animated pan by `delta` screen pixels (keys, overview clicks).
  void pan_by(Vec2 delta);
  // Ends every animation (before a jump the caller makes to the camera).
  void stop();

  // Advances the animations by `dt` seconds and keeps the camera within the limits; returns whether
  // anything still moves.
  bool step(Camera& camera, double dt);
  bool moving() const;
  // Keeps the camera within the limits.
  void clamp(Camera& camera) const;

 private:
  struct Sample {
    double time;
    Vec2 delta;
  };
  NavigationLimits limits_;
  std::deque<Sample> drag_samples_;  // the last moments of the current drag, for its release velocity
  Vec2 velocity_;                    // screen pixels per second (inertia)
  Vec2 pending_pan_;                 // screen pixels still to move (animated pans)
  std::optional<double> target_log_scale_;
  Vec2 zoom_anchor_;  // screen pixels
};

}  // namespace reread::viewer
