// Screen-space annotation decorations: few shapes per frame, so ImGui's draw list is the right tool.
#include "annotation_overlay.h"

#include <cstdio>
#include <variant>

namespace reread::viewer {
namespace {

ImU32 colour(const std::string& hex, std::uint8_t alpha) {
  const std::uint32_t rgba = parse_annotation_color(hex, alpha);
  return IM_COL32(rgba >> 24, (rgba >> 16) & 0xff, (rgba >> 8) & 0xff, rgba & 0xff);
}

struct ToScreen {
  const SlideView& view;
  ImVec2 operator()(const annotation::Position& p) const { return (*this)(Vec2{p.x, p.y}); }
  ImVec2 operator()(Vec2 p) const {
    const Vec2 s = view.camera().slide_to_screen(p);
    return ImVec2(static_cast<float>(view.rect().x + s.x), static_cast<float>(view.rect().y + s.y));
  }
};

// Every line of a geometry on screen (points as markers).
void draw_geometry(const annotation::Geometry& g, const ToScreen& to, ImDrawList* draw, ImU32 c, float width) {
  const auto line = [&](const std::vector<annotation::Position>& ps) {
    for (std::size_t k = 0; k + 1 < ps.size(); ++k) draw->AddLine(to(ps[k]), to(ps[k + 1]), c, width);
  };
  const auto marker = [&](const annotation::Position& p) {
    const ImVec2 s = to(p);
    draw->AddCircle(s, 6.0f, c, 16, width);
    draw->AddLine(ImVec2(s.x - 9, s.y), ImVec2(s.x + 9, s.y), c, 1.0f);
    draw->AddLine(ImVec2(s.x, s.y - 9), ImVec2(s.x, s.y + 9), c, 1.0f);
  };
  std::visit(annotation::Overloaded{[&](const annotation::Point& p) { marker(p.position); },
                                    [&](const annotation::MultiPoint& m) {
                                      for (const auto& p : m.positions) marker(p);
                                    },
                                    [&](const annotation::LineString& l) { line(l.positions); },
                                    [&](const annotation::Polygon& p) {
                                      for (const auto& r : p.rings) line(r);
                                    },
                                    [&](const annotation::MultiPolygon& m) {
                                      for (const auto& p : m.polygons) {
                                        for (const auto& r : p.rings) line(r);
                                      }
                                    }},
             g);
}

bool is_point(const annotation::Geometry& g) {
  return std::holds_alternative<annotation::Point>(g) || std::holds_alternative<annotation::MultiPoint>(g);
}

}  // namespace

void draw_annotation_overlay(const SlideView& view, ImDrawList* draw) {
  const SlideView::Annotations* a = view.annotations();
  if (a == nullptr) return;
  const AnnotationDocument& doc = *a->document;
  const ToScreen to{view};
  const ScreenRect& r = view.rect();
  draw->PushClipRect(ImVec2(static_cast<float>(r.x), static_cast<float>(r.y)),
                     ImVec2(static_cast<float>(r.x + r.width), static_cast<float>(r.y + r.height)), true);
  const Rect seen = view.camera().visible_rect();
  // Points are markers of a fixed screen size (the GPU outlines carry lines and rings).
  for (const ViewerAnnotation& v : doc.all()) {
    if (!is_point(v.geometry) || !doc.visible(v.uid)) continue;
    const auto b = annotation::bounds(v.geometry);
    if (b.max_x < seen.x0 || b.min_x > seen.x1 || b.max_y < seen.y0 || b.min_y > seen.y1) continue;
    draw_geometry(v.geometry, to, draw, colour(v.color, 255), 2.0f);
  }
  // The selection: a white halo under its own colour, its handles, and its label with the measurement.
  if (const ViewerAnnotation* s = doc.find(doc.selected()); s != nullptr && doc.visible(s->uid)) {
    draw_geometry(s->geometry, to, draw, IM_COL32(255, 255, 255, 200), 5.0f);
    draw_geometry(s->geometry, to, draw, colour(s->color, 255), 2.0f);
    for (const Vec2& h : handles(*s)) {
      const ImVec2 p = to(h);
      draw->AddRectFilled(ImVec2(p.x - 4, p.y - 4), ImVec2(p.x + 4, p.y + 4), IM_COL32(255, 255, 255, 255));
      draw->AddRect(ImVec2(p.x - 4, p.y - 4), ImVec2(p.x + 4, p.y + 4), IM_COL32(0, 0, 0, 255));
    }
    const auto mpp = view.slide().mpp();
    const annotation::Measurement m = doc.measure(s->uid, view.slide().mpp_x.value_or(mpp.value_or(0)),
                                                  view.slide().mpp_y.value_or(mpp.value_or(0)));
    char text[160];
    int n = std::snprintf(text, sizeof text, "%s", s->label.empty() ? s->class_name.c_str() : s->label.c_str());
    if (m.area_mm2) {
      n += std::snprintf(text + n, sizeof text - n, "  %.4f mm\xc2\xb2", *m.area_mm2);
    } else if (m.length_um) {
      n += std::snprintf(text + n, sizeof text - n, "  %.1f \xc2\xb5m", *m.length_um);
    }
    const auto b = annotation::bounds(s->geometry);
    const ImVec2 at = to(Vec2{b.max_x, b.min_y});
    const ImVec2 size = ImGui::CalcTextSize(text);
    draw->AddRectFilled(ImVec2(at.x + 6, at.y - 2), ImVec2(at.x + 12 + size.x, at.y + size.y + 2),
                        IM_COL32(0, 0, 0, 170), 3.0f);
    draw->AddText(ImVec2(at.x + 9, at.y), IM_COL32(255, 255, 255, 255), text);
  }
  // What is being drawn.
  const ToolPreview preview = a->tools->preview();
  if (preview.drawing) {
    draw_geometry(*preview.drawing, to, draw, colour(preview.color, 255), 2.0f);
    if (preview.closes) {
      if (const auto* l = std::get_if<annotation::LineString>(&*preview.drawing); l != nullptr && !l->positions.empty()) {
        draw->AddCircle(to(l->positions.front()), 8.0f, IM_COL32(255, 255, 255, 255), 16, 2.0f);
      }
    }
  }
  draw->PopClipRect();
}

}  // namespace reread::viewer
