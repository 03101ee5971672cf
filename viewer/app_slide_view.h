// One slide on screen: its streaming engine and renderer, its camera and how it moves, where it sits in
// the window, and what the last frame showed (read by the panels). The app owns the views; panels only
// read them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "annotation_outlines.h"
#include "annotation_tools.h"
#include "app_navigation.h"
#include "app_view_coverage.h"
#include "gl_slide_renderer.h"
#include "streaming_engine.h"

namespace reread::viewer {

// A rectangle of the window in screen pixels, origin top-left (ImGui's and the camera's convention).
struct ScreenRect {
  double x = 0, y = 0, width = 0, height = 0;
  bool contains(Vec2 p) const { return p.x >= x && p.y >= y && p.x < x + width && p.y < y + height; }
};

struct ViewOptions {
  EngineOptions engine;
  std::size_t texture_bytes = 384u << 20;
};

// What the last frame of a view showed.
struct ViewFrameInfo {
  int target_level = 0;
  bool complete = false;    // the plan's visible target tiles are all resident
  bool sharp = false;       // ... and all were drawn from textures this frame
  bool ever_sharp = false;  // this frame or an earlier one was sharp
  std::size_t visible_target = 0, drawn = 0, uploads = 0;
  bool blank = false;  // some point of the slide in view had nothing drawn over it
  int coarser = 0;     // points showing a coarser level than the frame before, the camera unmoved (flicker)
  EngineStats engine;
  // Where the frame's CPU time went (ms): planning and taking arrivals, texture uploads, draw calls, and the
  // blank/flicker check. The GPU's own work shows in the swap (the app times it).
  double plan_ms = 0, upload_ms = 0, draw_ms = 0, check_ms = 0;
};

class SlideView {
 public:
  SlideView(std::string slide_id, std::string label, SlideLayout slide, std::unique_ptr<TileProvider> provider,
            GlTileProgram& program, const ViewOptions& options);

  const std::string& slide_id() const { return slide_id_; }
  const std::string& label() const { return label_; }
  const SlideLayout& slide() const { return slide_; }
  const PyramidLayout& layout() const { return slide_.layout; }

  Camera& camera() { return camera_; }
  const Camera& camera() const { return camera_; }
  Navigation& navigation() { return navigation_; }
  const Navigation& navigation() const { return navigation_; }
  // Places the view in the window (screen pixels); the camera keeps its centre and scale.
  void place(const ScreenRect& rect);
  const ScreenRect& rect() const { return rect_; }
  // The whole slide in view.
  void fit();
  // Scale for the first fit (navigation limits depend on it).
  double fit_scale() const;
  std::optional<double> magnification() const;
  // Jumps (no animation) to `center` (level-0 pixels) at `magnification`; false when the slide has
  // neither objective power nor MPP.
  bool jump_to(Vec2 center, std::optional<double> magnification);

  // One frame: plan, upload, draw into the window's default framebuffer of height `framebuffer_height`
  // (GL's y axis points up), with `pixel_ratio` framebuffer pixels per screen pixel.
  void render(const DisplayAdjustments& adjustments, int framebuffer_height, double pixel_ratio);
  // The overview of the whole slide into `rect` (screen pixels), drawn with `camera`.
  void render_overview(const Camera& camera, const ScreenRect& rect, const DisplayAdjustments& adjustments,
                       int framebuffer_height, double pixel_ratio);

  const ViewFrameInfo& last_frame() const { return frame_; }
  std::size_t texture_bytes() const { return renderer_.textures().bytes(); }
  std::size_t texture_capacity() const { return renderer_.textures().capacity(); }

  // The slide point under the mouse, while it is over the view (set by the app from input).
  std::optional<Vec2> cursor_slide;

  // The annotations of a slide opened from a case: the document (the AppRecord's), the tools that edit it
  // in this view, and its outlines for the GPU (rebuilt when the document changes).
  struct Annotations {
    std::int64_t case_id = 0;
    AnnotationDocument* document = nullptr;
    std::unique_ptr<AnnotationTools> tools;
    AnnotationOutlines outlines;
    std::uint64_t outlines_revision = ~std::uint64_t{0};
  };
  void attach_annotations(std::int64_t case_id, AnnotationDocument& document);
  Annotations* annotations() { return annotations_ ? &*annotations_ : nullptr; }
  const Annotations* annotations() const { return annotations_ ? &*annotations_ : nullptr; }
  // Rebuilds the outlines when the document changed; returns the strips in view for this frame.
  void annotation_strips(std::vector<OutlineRange>& out);

 private:
  std::string slide_id_, label_;
  SlideLayout slide_;
  StreamingEngine engine_;
  GlSlideRenderer renderer_;
  Camera camera_;
  Navigation navigation_;
  ScreenRect rect_;
  ViewFrameInfo frame_;
  Camera last_camera_;
  ViewCoverage last_coverage_;
  std::optional<Annotations> annotations_;
};

// "#rrggbb" as 0xRRGGBBAA with alpha `alpha`; yellow for anything else.
std::uint32_t parse_annotation_color(const std::string& color, std::uint8_t alpha = 255);

GlViewport to_gl_viewport(const ScreenRect& rect, int framebuffer_height, double pixel_ratio);

}  // namespace reread::viewer
