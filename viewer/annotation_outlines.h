// Annotation outlines ready for the GPU: every polyline of every annotation simplified once per level of
// detail (Douglas-Peucker at 0.5, 1, 2, ... level-0 pixels), in one vertex array, so a frame only picks the
// level that is finer than half a screen pixel and the annotations in view, and draws them in one call.
// 10,000 annotations of 100 vertices each cost a few thousand vertices at low zoom, not a million.
// Pure: no OpenGL (the renderer uploads vertices() when generation() changes).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "annotation_geometry.h"
#include "camera.h"

namespace reread::viewer {

struct OutlineItem {
  std::string key;  // the annotation's uid
  const reread::annotation::Geometry* geometry = nullptr;
  std::uint32_t rgba = 0xffff00ffu;  // sRGB colour 0xRRGGBBAA
};

struct OutlineVertex {
  float x = 0, y = 0;      // level-0 pixels minus origin()
  std::uint32_t rgba = 0;  // as OutlineItem::rgba, byte order R, G, B, A in memory
};

// One line strip of vertices()[first, first + count).
struct OutlineRange {
  std::int32_t first = 0, count = 0;
};

class AnnotationOutlines {
 public:
  static constexpr int kLevels = 12;  // tolerances 0.5 .. 1024 level-0 pixels

  // Replaces the set; only items whose geometry or colour changed are simplified again.
  void update(const std::vector<OutlineItem>& items);

  // The level of detail for `level0_per_screen_px` (level-0 pixels one screen pixel spans): the coarsest
  // whose tolerance is at most half a screen pixel.
  static int level_for(double level0_per_screen_px);
  static double tolerance(int level);  // level-0 pixels

  // The strips to draw: items whose bounds meet `view` (level-0 pixels) and that `shown` accepts, at `level`.
  template <class Shown>
  void visible(const Rect& view, int level, Shown shown, std::vector<OutlineRange>& out) const {
    out.clear();
    for (const Entry& e : entries_) {
      if (e.bounds.x1 < view.x0 || e.bounds.x0 > view.x1 || e.bounds.y1 < view.y0 || e.bounds.y0 > view.y1) continue;
      if (!shown(e.key)) continue;
      const auto& strips = e.strips[static_cast<std::size_t>(level)];
      out.insert(out.end(), strips.begin(), strips.end());
    }
  }

  const std::vector<OutlineVertex>& vertices() const { return vertices_; }
  Vec2 origin() const { return origin_; }
  std::uint64_t generation() const { return generation_; }  // bumps whenever vertices() changed
  std::size_t source_vertices() const { return source_vertices_; }

 private:
  struct Simplified {
    reread::annotation::Geometry geometry;  // the source, to notice changes
    std::uint32_t rgba = 0;
    Rect bounds;
    // Per level, each strip's positions (level-0 pixels).
    std::vector<std::vector<std::vector<reread::annotation::Position>>> levels;
  };
  struct Entry {
    std::string key;
    Rect bounds;
    std::vector<std::vector<OutlineRange>> strips;  // per level
  };

  std::unordered_map<std::string, Simplified> cache_;
  std::vector<Entry> entries_;  // in item order (later drawn over earlier)
  std::vector<OutlineVertex> vertices_;
  Vec2 origin_;
  std::uint64_t generation_ = 0;
  std::size_t source_vertices_ = 0;
};

// Douglas-Peucker: the subset of `line` within `tolerance` of it, endpoints kept. A closed ring (first ==
// last) is split at its vertex farthest from the first, so it keeps its shape.
std::vector<reread::annotation::Position> simplify_polyline(const std::vector<reread::annotation::Position>& line,
                                                            double tolerance);

}  // namespace reread::viewer
