// The viewer's annotation document: commands with undo and redo, the changes for the server's queue, the
// server's JSON in and out, shapes and their handles, hit testing and measurement.
#include "annotation_document.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace reread::viewer {
namespace {

using annotation::Geometry;
using annotation::Position;
using nlohmann::json;

Position position(Vec2 v) { return {v.x, v.y}; }
Vec2 vec(Position p) { return {p.x, p.y}; }

// Calls f(Position&) on each vertex a user can drag: every stored position, a ring's closing repeat left
// out (close_rings puts it back).
template <class G, class F>
void for_each_vertex(G& geometry, F&& f) {
  const auto ring = [&](auto& r) {
    for (std::size_t i = 0; i + 1 < r.size(); ++i) f(r[i]);
  };
  const auto polygon = [&](auto& p) {
    for (auto& r : p.rings) ring(r);
  };
  std::visit(
      [&](auto& g) {
        using T = std::decay_t<decltype(g)>;
        if constexpr (std::is_same_v<T, annotation::Point>) {
          f(g.position);
        } else if constexpr (std::is_same_v<T, annotation::MultiPoint> || std::is_same_v<T, annotation::LineString>) {
          for (auto& p : g.positions) f(p);
        } else if constexpr (std::is_same_v<T, annotation::Polygon>) {
          polygon(g);
        } else {
          for (auto& p : g.polygons) polygon(p);
        }
      },
      geometry);
}

void close_rings(Geometry& geometry) {
  const auto polygon = [](annotation::Polygon& p) {
    for (annotation::Ring& r : p.rings) {
      if (!r.empty()) r.back() = r.front();
    }
  };
  if (auto* p = std::get_if<annotation::Polygon>(&geometry)) polygon(*p);
  if (auto* m = std::get_if<annotation::MultiPolygon>(&geometry)) {
    for (annotation::Polygon& p : m->polygons) polygon(p);
  }
}

double distance(Vec2 a, Vec2 b) { return std::hypot(a.x - b.x, a.y - b.y); }

double distance_to_segment(Vec2 p, Position a, Position b) {
  const double dx = b.x - a.x, dy = b.y - a.y;
  const double length2 = dx * dx + dy * dy;
  double t = length2 > 0 ? ((p.x - a.x) * dx + (p.y - a.y) * dy) / length2 : 0;
  t = std::clamp(t, 0.0, 1.0);
  return distance(p, {a.x + t * dx, a.y + t * dy});
}

bool near_path(Vec2 p, const std::vector<Position>& path, double tolerance) {
  if (path.size() == 1) return distance(p, vec(path.front())) <= tolerance;
  for (std::size_t i = 1; i < path.size(); ++i) {
    if (distance_to_segment(p, path[i - 1], path[i]) <= tolerance) return true;
  }
  return false;
}

// Even-odd over all rings, so a point in a hole is outside.
bool inside(Vec2 p, const annotation::Polygon& polygon) {
  bool in = false;
  for (const annotation::Ring& ring : polygon.rings) {
    for (std::size_t i = 1; i < ring.size(); ++i) {
      const Position a = ring[i - 1], b = ring[i];
      if ((a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y)) in = !in;
    }
  }
  return in;
}

bool polygon_hit(Vec2 p, const annotation::Polygon& polygon, double tolerance) {
  for (const annotation::Ring& ring : polygon.rings) {
    if (near_path(p, ring, tolerance)) return true;
  }
  return inside(p, polygon);
}

bool geometry_hit(const Geometry& geometry, Vec2 p, double tolerance) {
  return std::visit(annotation::Overloaded{
                        [&](const annotation::Point& g) { return distance(p, vec(g.position)) <= tolerance; },
                        [&](const annotation::MultiPoint& g) {
                          return std::any_of(g.positions.begin(), g.positions.end(),
                                             [&](Position q) { return distance(p, vec(q)) <= tolerance; });
                        },
                        [&](const annotation::LineString& g) { return near_path(p, g.positions, tolerance); },
                        [&](const annotation::Polygon& g) { return polygon_hit(p, g, tolerance); },
                        [&](const annotation::MultiPolygon& g) {
                          return std::any_of(g.polygons.begin(), g.polygons.end(), [&](const annotation::Polygon& q) {
                            return polygon_hit(p, q, tolerance);
                          });
                        },
                    },
                    geometry);
}

// Top-left, top-right, bottom-right, bottom-left.
std::vector<Vec2> box_corners(const Geometry& geometry) {
  const annotation::Bounds b = annotation::bounds(geometry);
  return {{b.min_x, b.min_y}, {b.max_x, b.min_y}, {b.max_x, b.max_y}, {b.min_x, b.max_y}};
}

Shape shape_of(const Geometry& geometry) {
  return std::visit(annotation::Overloaded{
                        [](const annotation::Point&) { return Shape::point; },
                        [](const annotation::MultiPoint&) { return Shape::point; },
                        [](const annotation::LineString&) { return Shape::ruler; },
                        [](const annotation::Polygon&) { return Shape::polygon; },
                        [](const annotation::MultiPolygon&) { return Shape::polygon; },
                    },
                    geometry);
}

// A string member that may be absent or null (label, comment, class name and colour).
std::string optional_string(const json& j, const char* key, const std::string& where) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string()) throw std::invalid_argument(where + ": \"" + key + "\" is not a string");
  return it->get<std::string>();
}

// What a command may change; server_id and version are the server's.
bool same_content(const ViewerAnnotation& a, const ViewerAnnotation& b) {
  return a.shape == b.shape && a.geometry == b.geometry && a.class_name == b.class_name && a.color == b.color &&
         a.label == b.label && a.comment == b.comment;
}

}  // namespace

std::string_view shape_name(Shape shape) {
  switch (shape) {
    case Shape::point:
      return "point";
    case Shape::ruler:
      return "ruler";
    case Shape::rectangle:
      return "rectangle";
    case Shape::ellipse:
      return "ellipse";
    case Shape::polygon:
      return "polygon";
    case Shape::freehand:
      return "freehand";
  }
  return "polygon";
}

ViewerAnnotation from_server_json(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("annotation JSON is not an object");
  const auto id = j.find("id");
  if (id == j.end() || !id->is_number_integer()) throw std::invalid_argument("annotation JSON has no integer \"id\"");
  ViewerAnnotation a;
  a.server_id = id->get<std::int64_t>();
  const std::string where = "annotation " + std::to_string(*a.server_id);
  const auto version = j.find("version");
  if (version == j.end() || !version->is_number_integer()) {
    throw std::invalid_argument(where + " has no integer \"version\"");
  }
  a.version = version->get<std::int64_t>();
  const auto geometry = j.find("geometry");
  if (geometry == j.end()) throw std::invalid_argument(where + " has no \"geometry\"");
  try {
    a.geometry = annotation::parse_geojson_geometry(*geometry);
  } catch (const annotation::GeometryError& e) {
    throw annotation::GeometryError(where + ": " + e.what());
  }
  a.shape = shape_of(a.geometry);
  if (const auto cls = j.find("class"); cls != j.end() && !cls->is_null()) {
    if (!cls->is_object()) throw std::invalid_argument(where + ": \"class\" is not an object");
    a.class_name = optional_string(*cls, "name", where + " class");
    a.color = optional_string(*cls, "color", where + " class");
  }
  a.label = optional_string(j, "label", where);
  a.comment = optional_string(j, "comment", where);
  a.uid = optional_string(j, "client_uid", where);
  if (a.uid.empty()) a.uid = "srv-" + std::to_string(*a.server_id);
  return a;
}

json to_input_json(const ViewerAnnotation& a) {
  return json{{"geometry", annotation::to_geojson(a.geometry)},
              {"class", {{"name", a.class_name}, {"color", a.color}}},
              {"label", a.label},
              {"comment", a.comment},
              {"client_uid", a.uid}};
}

// --- Shapes and handles ---

Geometry rectangle_geometry(Vec2 a, Vec2 b) {
  const double x0 = std::min(a.x, b.x), x1 = std::max(a.x, b.x);
  const double y0 = std::min(a.y, b.y), y1 = std::max(a.y, b.y);
  return annotation::Polygon{{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}};
}

Geometry ellipse_geometry(Vec2 a, Vec2 b) {
  const double cx = (a.x + b.x) / 2, cy = (a.y + b.y) / 2;
  const double rx = std::abs(b.x - a.x) / 2, ry = std::abs(b.y - a.y) / 2;
  annotation::Ring ring;
  ring.reserve(ellipse_vertex_count + 1);
  for (std::size_t i = 0; i < ellipse_vertex_count; ++i) {
    const double t = 2 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(ellipse_vertex_count);
    ring.push_back({cx + rx * std::cos(t), cy + ry * std::sin(t)});
  }
  ring.push_back(ring.front());
  return annotation::Polygon{{std::move(ring)}};
}

Geometry translated(const Geometry& geometry, Vec2 delta) {
  Geometry out = geometry;
  for_each_vertex(out, [&](Position& p) {
    p.x += delta.x;
    p.y += delta.y;
  });
  close_rings(out);
  return out;
}

std::vector<Vec2> handles(const ViewerAnnotation& a) {
  if (a.shape == Shape::rectangle || a.shape == Shape::ellipse) {
    return box_corners(a.geometry);
  }
  std::vector<Vec2> out;
  for_each_vertex(a.geometry, [&](const Position& p) { out.push_back(vec(p)); });
  return out;
}

Geometry with_handle_moved(const ViewerAnnotation& a, std::size_t index, Vec2 to) {
  if (a.shape == Shape::rectangle || a.shape == Shape::ellipse) {
    if (index >= 4) return a.geometry;
    const Vec2 opposite = box_corners(a.geometry)[(index + 2) % 4];
    return a.shape == Shape::rectangle ? rectangle_geometry(opposite, to) : ellipse_geometry(opposite, to);
  }
  Geometry out = a.geometry;
  std::size_t i = 0;
  for_each_vertex(out, [&](Position& p) {
    if (i++ == index) p = position(to);
  });
  close_rings(out);
  return out;
}

// --- Commands ---

std::ptrdiff_t AnnotationDocument::index_of(const std::string& uid) const {
  // A slide may hold tens of thousands of annotations and the renderer asks about each every frame: the
  // uid -> position index is rebuilt after the order changed, not searched.
  if (index_stale_) {
    index_.clear();
    index_.reserve(annotations_.size());
    for (std::size_t k = 0; k < annotations_.size(); ++k) index_.emplace(annotations_[k].uid, k);
    index_stale_ = false;
  }
  const auto it = index_.find(uid);
  return it == index_.end() ? -1 : static_cast<std::ptrdiff_t>(it->second);
}

const ViewerAnnotation* AnnotationDocument::find(const std::string& uid) const {
  const std::ptrdiff_t i = index_of(uid);
  return i < 0 ? nullptr : &annotations_[static_cast<std::size_t>(i)];
}

void AnnotationDocument::record(Step step) {
  undo_.push_back(std::move(step));
  if (undo_.size() > history_limit) undo_.pop_front();
  redo_.clear();
}

void AnnotationDocument::apply(const std::string& uid, const std::optional<ViewerAnnotation>& state,
                               std::size_t index) {
  const std::ptrdiff_t i = index_of(uid);
  if (!state) {
    if (i < 0) return;
    annotations_.erase(annotations_.begin() + i);
    index_stale_ = true;
    if (selected_ == uid) selected_.clear();
    changes_.push_back({Change::Kind::deleted, uid});
  } else if (i >= 0) {
    ViewerAnnotation& a = annotations_[static_cast<std::size_t>(i)];
    const auto server_id = a.server_id;
    const auto version = a.version;
    a = *state;
    a.server_id = server_id;
    a.version = version;
    changes_.push_back({Change::Kind::updated, uid});
  } else {
    ViewerAnnotation a = *state;
    a.server_id.reset();
    a.version = 0;
    const std::size_t at = std::min(index, annotations_.size());
    annotations_.insert(annotations_.begin() + static_cast<std::ptrdiff_t>(at), std::move(a));
    index_stale_ = true;
    changes_.push_back({Change::Kind::created, uid});
  }
  changed();
}

std::string AnnotationDocument::add(ViewerAnnotation a) {
  commit_edit();
  if (a.uid.empty()) a.uid = new_client_uid();
  if (index_of(a.uid) >= 0) {
    throw std::invalid_argument("an annotation with uid " + a.uid + " is already in the document");
  }
  annotation::validate(a.geometry);
  Step step{a.uid, std::nullopt, std::move(a), annotations_.size()};
  apply(step.uid, step.after, step.index);
  std::string uid = step.uid;
  record(std::move(step));
  return uid;
}

bool AnnotationDocument::replace(const ViewerAnnotation& a) {
  commit_edit();
  const std::ptrdiff_t i = index_of(a.uid);
  if (i < 0) return false;
  annotation::validate(a.geometry);
  const ViewerAnnotation& current = annotations_[static_cast<std::size_t>(i)];
  if (same_content(current, a)) return true;
  Step step{a.uid, current, a, static_cast<std::size_t>(i)};
  apply(step.uid, step.after, step.index);
  record(std::move(step));
  return true;
}

bool AnnotationDocument::remove(const std::string& uid) {
  commit_edit();
  const std::ptrdiff_t i = index_of(uid);
  if (i < 0) return false;
  Step step{uid, annotations_[static_cast<std::size_t>(i)], std::nullopt, static_cast<std::size_t>(i)};
  apply(step.uid, step.after, step.index);
  record(std::move(step));
  return true;
}

bool AnnotationDocument::begin_edit(const std::string& uid) {
  if (edit_uid_ == uid && !uid.empty()) return true;
  commit_edit();
  const ViewerAnnotation* a = find(uid);
  if (a == nullptr) return false;
  edit_uid_ = uid;
  edit_before_ = *a;
  return true;
}

bool AnnotationDocument::update_edit(Geometry geometry) {
  const std::ptrdiff_t i = index_of(edit_uid_);
  if (edit_uid_.empty() || i < 0) return false;
  annotations_[static_cast<std::size_t>(i)].geometry = std::move(geometry);
  changed();
  return true;
}

bool AnnotationDocument::commit_edit() {
  if (edit_uid_.empty()) return false;
  const std::string uid = std::exchange(edit_uid_, {});
  std::optional<ViewerAnnotation> before = std::exchange(edit_before_, std::nullopt);
  const std::ptrdiff_t i = index_of(uid);
  if (i < 0 || !before) return true;
  const ViewerAnnotation& now = annotations_[static_cast<std::size_t>(i)];
  if (now.geometry == before->geometry) return true;
  // Already applied move by move: only the step and the change remain.
  record({uid, std::move(before), now, static_cast<std::size_t>(i)});
  changes_.push_back({Change::Kind::updated, uid});
  return true;
}

void AnnotationDocument::cancel_edit() {
  if (edit_uid_.empty()) return;
  const std::string uid = std::exchange(edit_uid_, {});
  std::optional<ViewerAnnotation> before = std::exchange(edit_before_, std::nullopt);
  const std::ptrdiff_t i = index_of(uid);
  if (i < 0 || !before) return;
  annotations_[static_cast<std::size_t>(i)].geometry = std::move(before->geometry);
  changed();
}

bool AnnotationDocument::undo() {
  commit_edit();
  if (undo_.empty()) return false;
  Step step = std::move(undo_.back());
  undo_.pop_back();
  apply(step.uid, step.before, step.index);
  redo_.push_back(std::move(step));
  return true;
}

bool AnnotationDocument::redo() {
  commit_edit();
  if (redo_.empty()) return false;
  Step step = std::move(redo_.back());
  redo_.pop_back();
  apply(step.uid, step.after, step.index);
  undo_.push_back(std::move(step));
  if (undo_.size() > history_limit) undo_.pop_front();
  return true;
}

std::vector<Change> AnnotationDocument::take_changes() { return std::exchange(changes_, {}); }

// --- What the server says ---

bool AnnotationDocument::apply_server_state(const std::string& uid, std::int64_t server_id, std::int64_t version) {
  const std::ptrdiff_t i = index_of(uid);
  if (i < 0) return false;
  ViewerAnnotation& a = annotations_[static_cast<std::size_t>(i)];
  a.server_id = server_id;
  a.version = version;
  if (edit_before_ && edit_uid_ == uid) {
    edit_before_->server_id = server_id;
    edit_before_->version = version;
  }
  changed();
  return true;
}

void AnnotationDocument::replace_from_server(const ViewerAnnotation& a) {
  annotation::validate(a.geometry);
  if (edit_uid_ == a.uid) {
    edit_uid_.clear();
    edit_before_.reset();
  }
  const auto of_this = [&](const Step& s) { return s.uid == a.uid; };
  undo_.erase(std::remove_if(undo_.begin(), undo_.end(), of_this), undo_.end());
  redo_.erase(std::remove_if(redo_.begin(), redo_.end(), of_this), redo_.end());
  const std::ptrdiff_t i = index_of(a.uid);
  if (i >= 0) {
    annotations_[static_cast<std::size_t>(i)] = a;
  } else {
    annotations_.push_back(a);
    index_stale_ = true;
  }
  changed();
}

// --- Queries ---

void AnnotationDocument::select(const std::string& uid) {
  const std::string next = find(uid) != nullptr ? uid : std::string();
  if (next == selected_) return;
  selected_ = next;
  changed();
}

void AnnotationDocument::set_class_visible(const std::string& class_name, bool visible) {
  const bool was = class_visible(class_name);
  if (visible) {
    hidden_classes_.erase(class_name);
  } else {
    hidden_classes_.insert(class_name);
  }
  if (was == visible) return;
  if (const ViewerAnnotation* a = find(selected_); a != nullptr && a->class_name == class_name && !visible) {
    selected_.clear();
  }
  changed();
}

bool AnnotationDocument::class_visible(const std::string& class_name) const {
  return !hidden_classes_.contains(class_name);
}

bool AnnotationDocument::visible(const std::string& uid) const {
  const ViewerAnnotation* a = find(uid);
  return a != nullptr && class_visible(a->class_name);
}

std::optional<std::string> AnnotationDocument::hit(Vec2 p, double tolerance) const {
  for (auto it = annotations_.rbegin(); it != annotations_.rend(); ++it) {
    if (class_visible(it->class_name) && geometry_hit(it->geometry, p, tolerance)) return it->uid;
  }
  return std::nullopt;
}

std::optional<std::size_t> AnnotationDocument::vertex_at(const std::string& uid, Vec2 p, double tolerance) const {
  const ViewerAnnotation* a = find(uid);
  if (a == nullptr) return std::nullopt;
  const std::vector<Vec2> points = handles(*a);
  std::optional<std::size_t> best;
  double best_distance = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < points.size(); ++i) {
    const double d = distance(p, points[i]);
    if (d <= tolerance && d < best_distance) {
      best = i;
      best_distance = d;
    }
  }
  return best;
}

annotation::Measurement AnnotationDocument::measure(const std::string& uid, double mpp_x, double mpp_y) const {
  const ViewerAnnotation* a = find(uid);
  return a == nullptr ? annotation::Measurement{} : annotation::measure(a->geometry, mpp_x, mpp_y);
}

std::vector<AnnotationRow> AnnotationDocument::rows(double mpp_x, double mpp_y) const {
  std::vector<AnnotationRow> out;
  out.reserve(annotations_.size());
  for (const ViewerAnnotation& a : annotations_) {
    const annotation::Measurement m = annotation::measure(a.geometry, mpp_x, mpp_y);
    out.push_back({a.uid, a.label, a.class_name, a.color, shape_name(a.shape), m.length_um, m.area_mm2,
                   annotation::bounds(a.geometry), class_visible(a.class_name)});
  }
  return out;
}

}  // namespace reread::viewer
