// A slide view's frame: camera -> engine plan -> texture uploads -> quads on screen.
#include "app_slide_view.h"

#include <chrono>
#include <cstdio>

#include <algorithm>
#include <cmath>
#include <unordered_set>
#include <utility>

namespace reread::viewer {

GlViewport to_gl_viewport(const ScreenRect& rect, int framebuffer_height, double pixel_ratio) {
  const auto x0 = static_cast<int>(std::lround(rect.x * pixel_ratio));
  const auto x1 = static_cast<int>(std::lround((rect.x + rect.width) * pixel_ratio));
  const auto y0 = static_cast<int>(std::lround(rect.y * pixel_ratio));
  const auto y1 = static_cast<int>(std::lround((rect.y + rect.height) * pixel_ratio));
  return {x0, framebuffer_height - y1, x1 - x0, y1 - y0};
}

SlideView::SlideView(std::string slide_id, std::string label, SlideLayout slide, std::unique_ptr<TileProvider> provider,
                     GlTileProgram& program, const ViewOptions& options)
    : slide_id_(std::move(slide_id)),
      label_(std::move(label)),
      slide_(std::move(slide)),
      engine_(slide_.layout, std::move(provider), options.engine),
      renderer_(program, slide_.layout, options.texture_bytes) {}

void SlideView::place(const ScreenRect& rect) {
  const bool first = rect_.width <= 0 || rect_.height <= 0;
  rect_ = rect;
  camera_.viewport_width = std::max(1, static_cast<int>(std::lround(rect.width)));
  camera_.viewport_height = std::max(1, static_cast<int>(std::lround(rect.height)));
  const auto w = static_cast<double>(slide_.layout.width), h = static_cast<double>(slide_.layout.height);
  // Zoom out to a quarter of the fit, in to 4 screen pixels per level-0 pixel (10x past a 40x scan).
  navigation_.set_limits({w, h, fit_scale() / 4.0, std::max(4.0, fit_scale())});
  if (first) fit();
}

double SlideView::fit_scale() const {
  const bool sideways = camera_.quarter_turns % 2 != 0;
  const auto w = static_cast<double>(slide_.layout.width), h = static_cast<double>(slide_.layout.height);
  return sideways ? Camera::fit(h, w, camera_.viewport_width, camera_.viewport_height).scale
                  : Camera::fit(w, h, camera_.viewport_width, camera_.viewport_height).scale;
}

void SlideView::fit() {
  navigation_.stop();
  camera_.center = {static_cast<double>(slide_.layout.width) / 2.0, static_cast<double>(slide_.layout.height) / 2.0};
  camera_.scale = fit_scale();
}

std::optional<double> SlideView::magnification() const {
  return reread::viewer::magnification(camera_.scale, slide_.objective_power, slide_.mpp());
}

bool SlideView::jump_to(Vec2 center, std::optional<double> magnification) {
  navigation_.stop();
  if (magnification) {
    const auto scale = scale_for_magnification(*magnification, slide_.objective_power, slide_.mpp());
    if (!scale) return false;
    camera_.scale = *scale;
  }
  camera_.center = center;
  return true;
}

void SlideView::render(const DisplayAdjustments& adjustments, int framebuffer_height, double pixel_ratio) {
  using Clock = std::chrono::steady_clock;
  const auto ms = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  const auto t0 = Clock::now();
  const auto on_gpu = [this](const TileId& id) { return renderer_.on_gpu(id); };
  StreamingEngine::Frame frame = engine_.update(camera_, on_gpu);
  const auto t1 = Clock::now();
  renderer_.upload(frame, engine_);
  const auto t2 = Clock::now();
  const std::vector<TileId> drawn =
      renderer_.draw(frame.plan.draw, camera_, to_gl_viewport(rect_, framebuffer_height, pixel_ratio), adjustments);
  engine_.drawn(drawn);
  const auto t3 = Clock::now();
  frame_.plan_ms = ms(t0, t1);
  frame_.upload_ms = ms(t1, t2);
  frame_.draw_ms = ms(t2, t3);

  frame_.target_level = frame.plan.target_level;
  frame_.complete = frame.plan.complete;
  frame_.visible_target = frame.plan.visible_target.size();
  frame_.drawn = drawn.size();
  frame_.uploads = frame.uploads.size();
  const std::unordered_set<TileId, TileIdHash> shown(drawn.begin(), drawn.end());
  frame_.sharp = frame.plan.complete && std::all_of(frame.plan.visible_target.begin(), frame.plan.visible_target.end(),
                                                    [&](const TileId& t) { return shown.count(t) != 0; });
  frame_.ever_sharp = frame_.ever_sharp || frame_.sharp;
  frame_.engine = engine_.stats();

  ViewCoverage coverage = view_coverage(camera_, slide_.layout, drawn);
  const Camera& c = last_camera_;
  const bool still = c.center.x == camera_.center.x && c.center.y == camera_.center.y && c.scale == camera_.scale &&
                     c.quarter_turns == camera_.quarter_turns && c.viewport_width == camera_.viewport_width &&
                     c.viewport_height == camera_.viewport_height;
  frame_.blank = coverage.has_blank();
  frame_.coarser = still ? coverage.coarser_than(last_coverage_, frame.plan.target_level) : 0;
  last_coverage_ = std::move(coverage);
  last_camera_ = camera_;
  frame_.check_ms = ms(t3, Clock::now());
}

void SlideView::attach_annotations(std::int64_t case_id, AnnotationDocument& document) {
  annotations_.emplace();
  annotations_->case_id = case_id;
  annotations_->document = &document;
  annotations_->tools = std::make_unique<AnnotationTools>(document);
}

void SlideView::annotation_strips(std::vector<OutlineRange>& out) {
  out.clear();
  if (!annotations_) return;
  Annotations& a = *annotations_;
  if (a.outlines_revision != a.document->revision()) {
    std::vector<OutlineItem> items;
    items.reserve(a.document->all().size());
    for (const ViewerAnnotation& v : a.document->all()) items.push_back({v.uid, &v.geometry, parse_annotation_color(v.color)});
    a.outlines.update(items);
    a.outlines_revision = a.document->revision();
  }
  const int level = AnnotationOutlines::level_for(1.0 / camera_.scale);
  const AnnotationDocument& doc = *a.document;
  a.outlines.visible(camera_.visible_rect(), level, [&](const std::string& uid) { return doc.visible(uid); }, out);
}

std::uint32_t parse_annotation_color(const std::string& color, std::uint8_t alpha) {
  unsigned value = 0;
  if (color.size() == 7 && color[0] == '#' && std::sscanf(color.c_str() + 1, "%6x", &value) == 1) {
    return (static_cast<std::uint32_t>(value) << 8) | alpha;
  }
  return 0xffff0000u | alpha;
}

void SlideView::render_overview(const Camera& camera, const ScreenRect& rect, const DisplayAdjustments& adjustments,
                                int framebuffer_height, double pixel_ratio) {
  renderer_.draw_overview(camera, to_gl_viewport(rect, framebuffer_height, pixel_ratio), adjustments);
}

}  // namespace reread::viewer
