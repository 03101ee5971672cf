// Inertia, animated zoom and pans, and the limits that keep a view on its slide.
#include "app_navigation.h"

#include <algorithm>
#include <cmath>

namespace reread::viewer {
namespace {

constexpr double kSampleWindow = 0.1;      // s of drag that sets the release velocity
constexpr double kStaleDrag = 0.06;        // s without motion before release: no inertia
constexpr double kInertiaTau = 0.3;        // s for the glide to slow by e
constexpr double kMinSpeed = 15.0;         // px/s: slower glides stop
constexpr double kAnimationTau = 0.055;    // s for an animated zoom or pan to close by e
constexpr double kMaxReleaseSpeed = 8000;  // px/s

double length(Vec2 v) { return std::hypot(v.x, v.y); }

// The share of what remains that an exponential approach covers in `dt`.
double approach(double dt, double tau) { return 1.0 - std::exp(-std::max(dt, 0.0) / tau); }

}  // namespace

void Navigation::drag(Camera& camera, Vec2 delta, double now) {
  velocity_ = {};
  camera.pan_screen(delta);
  clamp(camera);
  drag_samples_.push_back({now, delta});
  while (!drag_samples_.empty() && drag_samples_.front().time < now - kSampleWindow) drag_samples_.pop_front();
}

void Navigation::release(double now) {
  velocity_ = {};
  if (!drag_samples_.empty() && now - drag_samples_.back().time <= kStaleDrag) {
    const double span = std::max(now - drag_samples_.front().time, 1.0 / 120.0);
    Vec2 sum;
    for (const Sample& s : drag_samples_) sum = {sum.x + s.delta.x, sum.y + s.delta.y};
    velocity_ = {sum.x / span, sum.y / span};
    const double speed = length(velocity_);
    if (speed > kMaxReleaseSpeed)
      velocity_ = {velocity_.x * kMaxReleaseSpeed / speed, velocity_.y * kMaxReleaseSpeed / speed};
    if (speed < kMinSpeed) velocity_ = {};
  }
  drag_samples_.clear();
}

void Navigation::zoom_about(const Camera& camera, Vec2 screen, double factor) {
  const double current = target_log_scale_ ? *target_log_scale_ : std::log(camera.scale);
  target_log_scale_ = std::clamp(current + std::log(factor), std::log(limits_.min_scale), std::log(limits_.max_scale));
  zoom_anchor_ = screen;
}

void Navigation::zoom_to(const Camera& camera, double scale) {
  target_log_scale_ = std::log(std::clamp(scale, limits_.min_scale, limits_.max_scale));
  zoom_anchor_ = {camera.viewport_width / 2.0, camera.viewport_height / 2.0};
}

void Navigation::pan_by(Vec2 delta) { pending_pan_ = {pending_pan_.x + delta.x, pending_pan_.y + delta.y}; }

void Navigation::stop() {
  velocity_ = {};
  pending_pan_ = {};
  target_log_scale_.reset();
  drag_samples_.clear();
}

bool Navigation::moving() const {
  return target_log_scale_.has_value() || length(velocity_) > 0 || length(pending_pan_) > 0;
}

bool Navigation::step(Camera& camera, double dt) {
  if (length(velocity_) > 0) {
    camera.pan_screen({velocity_.x * dt, velocity_.y * dt});
    const double decay = std::exp(-std::max(dt, 0.0) / kInertiaTau);
    velocity_ = {velocity_.x * decay, velocity_.y * decay};
    if (length(velocity_) < kMinSpeed) velocity_ = {};
  }
  if (length(pending_pan_) > 0) {
    const double share = length(pending_pan_) < 0.5 ? 1.0 : approach(dt, kAnimationTau);
    const Vec2 d{pending_pan_.x * share, pending_pan_.y * share};
    camera.pan_screen(d);
    pending_pan_ = {pending_pan_.x - d.x, pending_pan_.y - d.y};
    if (share == 1.0) pending_pan_ = {};
  }
  if (target_log_scale_) {
    const double remaining = *target_log_scale_ - std::log(camera.scale);
    const double share = std::abs(remaining) < 1e-3 ? 1.0 : approach(dt, kAnimationTau);
    camera.zoom_about(zoom_anchor_, std::exp(remaining * share));
    if (share == 1.0) target_log_scale_.reset();
  }
  clamp(camera);
  return moving();
}

void Navigation::clamp(Camera& camera) const {
  camera.scale = std::clamp(camera.scale, limits_.min_scale, limits_.max_scale);
  if (limits_.slide_width > 0 && limits_.slide_height > 0) {
    camera.center.x = std::clamp(camera.center.x, 0.0, limits_.slide_width);
    camera.center.y = std::clamp(camera.center.y, 0.0, limits_.slide_height);
  }
}

}  // namespace reread::viewer
