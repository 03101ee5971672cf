// Simplifying annotation outlines per level of detail and packing them for one draw call per frame.
#include "annotation_outlines.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

namespace reread::viewer {

using reread::annotation::Geometry;
using reread::annotation::Position;

namespace {

double distance_to_segment(const Position& p, const Position& a, const Position& b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double length2 = dx * dx + dy * dy;
  double t = length2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  return std::hypot(p.x - (a.x + t * dx), p.y - (a.y + t * dy));
}

// Douglas-Peucker on line[first..last], both kept, marking the vertices kept.
void mark_kept(const std::vector<Position>& line, std::size_t first, std::size_t last, double tolerance,
               std::vector<char>& keep) {
  std::vector<std::pair<std::size_t, std::size_t>> stack{{first, last}};
  while (!stack.empty()) {
    const auto [a, b] = stack.back();
    stack.pop_back();
    if (b <= a + 1) continue;
    double farthest = -1;
    std::size_t index = a;
    for (std::size_t i = a + 1; i < b; ++i) {
      const double d = distance_to_segment(line[i], line[a], line[b]);
      if (d > farthest) farthest = d, index = i;
    }
    if (farthest <= tolerance) continue;
    keep[index] = 1;
    stack.emplace_back(a, index);
    stack.emplace_back(index, b);
  }
}

// The strips of a geometry: a LineString, or every ring of its polygons. Points are drawn as markers.
std::vector<const std::vector<Position>*> strips_of(const Geometry& g) {
  std::vector<const std::vector<Position>*> out;
  std::visit(reread::annotation::Overloaded{
                 [](const reread::annotation::Point&) {}, [](const reread::annotation::MultiPoint&) {},
                 [&](const reread::annotation::LineString& l) { out.push_back(&l.positions); },
                 [&](const reread::annotation::Polygon& p) {
                   for (const auto& ring : p.rings) out.push_back(&ring);
                 },
                 [&](const reread::annotation::MultiPolygon& m) {
                   for (const auto& p : m.polygons) {
                     for (const auto& ring : p.rings) out.push_back(&ring);
                   }
                 }},
             g);
  return out;
}

Rect bounds_of(const Geometry& g) {
  const auto b = reread::annotation::bounds(g);
  return {b.min_x, b.min_y, b.max_x, b.max_y};
}

// What a strip becomes at `tolerance`: simplified, or, for a ring smaller than that, its bounding box (a
// tiny annotation stays visible as a dot rather than vanishing at low zoom).
std::vector<Position> strip_at(const std::vector<Position>& strip, double tolerance) {
  std::vector<Position> s = simplify_polyline(strip, tolerance);
  const bool ring = strip.size() >= 4 && strip.front() == strip.back();
  if (!ring || s.size() >= 4) return s;
  double x0 = strip.front().x, x1 = x0, y0 = strip.front().y, y1 = y0;
  for (const Position& p : strip) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  return {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}};
}

}  // namespace

std::vector<Position> simplify_polyline(const std::vector<Position>& line, double tolerance) {
  if (line.size() <= 2) return line;
  std::vector<char> keep(line.size(), 0);
  keep.front() = keep.back() = 1;
  const std::size_t last = line.size() - 1;
  if (line.front() == line.back()) {
    // A ring: split at the vertex farthest from its start, and simplify both halves.
    std::size_t far = 0;
    double farthest = -1;
    for (std::size_t i = 1; i < last; ++i) {
      const double d = std::hypot(line[i].x - line[0].x, line[i].y - line[0].y);
      if (d > farthest) farthest = d, far = i;
    }
    keep[far] = 1;
    mark_kept(line, 0, far, tolerance, keep);
    mark_kept(line, far, last, tolerance, keep);
  } else {
    mark_kept(line, 0, last, tolerance, keep);
  }
  std::vector<Position> out;
  for (std::size_t i = 0; i < line.size(); ++i) {
    if (keep[i]) out.push_back(line[i]);
  }
  return out;
}

double AnnotationOutlines::tolerance(int level) { return std::ldexp(0.5, level); }

int AnnotationOutlines::level_for(double level0_per_screen_px) {
  // tolerance(level) = 0.5 * 2^level <= 0.5 * level0_per_screen_px.
  if (!(level0_per_screen_px > 1)) return 0;
  return std::clamp(static_cast<int>(std::floor(std::log2(level0_per_screen_px) + 1e-9)), 0, kLevels - 1);
}

void AnnotationOutlines::update(const std::vector<OutlineItem>& items) {
  std::unordered_map<std::string, Simplified> next;
  next.reserve(items.size());
  source_vertices_ = 0;
  Rect all{std::numeric_limits<double>::max(), std::numeric_limits<double>::max(), -std::numeric_limits<double>::max(),
           -std::numeric_limits<double>::max()};
  for (const OutlineItem& item : items) {
    if (item.geometry == nullptr) continue;
    source_vertices_ += reread::annotation::vertex_count(*item.geometry);
    auto found = cache_.find(item.key);
    Simplified s;
    if (found != cache_.end() && found->second.geometry == *item.geometry) {
      s = std::move(found->second);
    } else {
      s.geometry = *item.geometry;
      s.bounds = bounds_of(s.geometry);
      const auto strips = strips_of(s.geometry);
      s.levels.resize(kLevels);
      for (int level = 0; level < kLevels; ++level) {
        for (const auto* strip : strips) s.levels[static_cast<std::size_t>(level)].push_back(strip_at(*strip, tolerance(level)));
      }
    }
    s.rgba = item.rgba;
    all = {std::min(all.x0, s.bounds.x0), std::min(all.y0, s.bounds.y0), std::max(all.x1, s.bounds.x1),
           std::max(all.y1, s.bounds.y1)};
    next.emplace(item.key, std::move(s));
  }
  cache_ = std::move(next);

  // Positions relative to the middle of everything: single-precision floats stay well under a pixel.
  origin_ = cache_.empty() ? Vec2{} : Vec2{std::round((all.x0 + all.x1) / 2), std::round((all.y0 + all.y1) / 2)};
  vertices_.clear();
  entries_.clear();
  entries_.reserve(items.size());
  for (const OutlineItem& item : items) {
    const auto it = cache_.find(item.key);
    if (it == cache_.end()) continue;
    const Simplified& s = it->second;
    Entry e{item.key, s.bounds, std::vector<std::vector<OutlineRange>>(kLevels)};
    // Colour bytes in memory order R, G, B, A (the vertex attribute reads them as normalized bytes).
    std::uint32_t packed = 0;
    const unsigned char bytes[4] = {static_cast<unsigned char>(s.rgba >> 24), static_cast<unsigned char>(s.rgba >> 16),
                                    static_cast<unsigned char>(s.rgba >> 8), static_cast<unsigned char>(s.rgba)};
    std::memcpy(&packed, bytes, 4);
    for (int level = 0; level < kLevels; ++level) {
      for (const auto& strip : s.levels[static_cast<std::size_t>(level)]) {
        if (strip.size() < 2) continue;
        e.strips[static_cast<std::size_t>(level)].push_back(
            {static_cast<std::int32_t>(vertices_.size()), static_cast<std::int32_t>(strip.size())});
        for (const Position& p : strip) {
          vertices_.push_back({static_cast<float>(p.x - origin_.x), static_cast<float>(p.y - origin_.y), packed});
        }
      }
    }
    entries_.push_back(std::move(e));
  }
  ++generation_;
}

}  // namespace reread::viewer
