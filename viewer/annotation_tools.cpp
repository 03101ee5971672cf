// The annotation tools' state machine: what each pointer and key event does for each tool.
#include "annotation_tools.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace reread::viewer {
namespace {

double distance(Vec2 a, Vec2 b) { return std::hypot(a.x - b.x, a.y - b.y); }

annotation::Position position(Vec2 v) { return {v.x, v.y}; }

// An open path for the preview: a Point for a single position, a LineString otherwise.
annotation::Geometry open_path(const std::vector<Vec2>& path) {
  if (path.size() == 1) return annotation::Point{position(path.front())};
  annotation::LineString line;
  for (const Vec2 v : path) line.positions.push_back(position(v));
  return line;
}

// A rectangle or ellipse with no width or height has no inside; such a box is never made or dragged to.
bool has_area(const annotation::Geometry& geometry) {
  const annotation::Bounds b = annotation::bounds(geometry);
  return b.max_x > b.min_x && b.max_y > b.min_y;
}

}  // namespace

void AnnotationTools::set_tool(Tool tool) {
  cancel_drawing();
  finish_drag();
  tool_ = tool;
}

void AnnotationTools::set_current_class(std::string name, std::string color) {
  class_name_ = std::move(name);
  color_ = std::move(color);
}

void AnnotationTools::set_current_label(std::string label) { label_ = std::move(label); }

void AnnotationTools::cancel_drawing() {
  path_.clear();
  pointer_.reset();
  awaiting_second_click_ = false;
  square_ = false;
}

void AnnotationTools::finish_drag() {
  if (drag_ && drag_->started) document_.commit_edit();
  drag_.reset();
}

std::string AnnotationTools::create(Shape shape, annotation::Geometry geometry) {
  ViewerAnnotation a;
  a.shape = shape;
  a.geometry = std::move(geometry);
  a.class_name = class_name_;
  a.color = color_;
  a.label = label_;
  std::string uid = document_.add(std::move(a));
  document_.select(uid);
  return uid;
}

std::size_t AnnotationTools::distinct_polygon_vertices() const {
  std::vector<std::pair<double, double>> seen;
  for (const Vec2 v : path_) {
    if (std::find(seen.begin(), seen.end(), std::pair{v.x, v.y}) == seen.end()) seen.emplace_back(v.x, v.y);
  }
  return seen.size();
}

bool AnnotationTools::close_polygon() {
  if (distinct_polygon_vertices() < 3) return false;
  annotation::Ring ring;
  for (const Vec2 v : path_) ring.push_back(position(v));
  ring.push_back(ring.front());
  cancel_drawing();
  create(Shape::polygon, annotation::Polygon{{std::move(ring)}});
  return true;
}

Vec2 AnnotationTools::constrained(Vec2 p) const {
  if (!square_ || path_.empty()) return p;
  const Vec2 a = path_.front();
  const double dx = p.x - a.x, dy = p.y - a.y;
  const double side = std::max(std::abs(dx), std::abs(dy));
  return {a.x + (dx < 0 ? -side : side), a.y + (dy < 0 ? -side : side)};
}

bool AnnotationTools::select_down(Vec2 p, double pixel) {
  const std::string selected = document_.selected();
  if (!selected.empty() && document_.visible(selected)) {
    if (const auto handle = document_.vertex_at(selected, p, handle_px * pixel)) {
      drag_ = Drag{selected, handle, p, *document_.find(selected)};
      pressed_ = true;
      return true;
    }
  }
  const std::optional<std::string> hit = document_.hit(p, hit_px * pixel);
  if (!hit) {
    document_.select({});
    return false;
  }
  document_.select(*hit);
  drag_ = Drag{*hit, std::nullopt, p, *document_.find(*hit)};
  pressed_ = true;
  return true;
}

bool AnnotationTools::pointer_down(Vec2 p, double pixel, Modifiers modifiers) {
  pixel_ = pixel;
  finish_drag();  // a press whose release never came
  if (tool_ == Tool::select) return select_down(p, pixel);
  pressed_ = true;
  switch (tool_) {
    case Tool::point: {
      // The second press of a double-click lands on the point the first one made.
      const ViewerAnnotation* last = document_.find(last_point_uid_);
      const auto* at = last != nullptr ? std::get_if<annotation::Point>(&last->geometry) : nullptr;
      if (at != nullptr && distance(p, {at->position.x, at->position.y}) < click_px * pixel) return true;
      last_point_uid_ = create(Shape::point, annotation::Point{position(p)});
      return true;
    }
    case Tool::ruler:
      if (awaiting_second_click_) {
        if (distance(p, path_.front()) >= click_px * pixel) {
          const Vec2 from = path_.front();
          cancel_drawing();
          create(Shape::ruler, annotation::LineString{{position(from), position(p)}});
        }
        return true;
      }
      path_ = {p};
      pointer_ = p;
      return true;
    case Tool::rectangle:
    case Tool::ellipse:
    case Tool::freehand:
      path_ = {p};
      pointer_ = p;
      square_ = modifiers.shift && tool_ != Tool::freehand;
      return true;
    case Tool::polygon:
      pointer_ = p;
      if (path_.empty()) {
        path_ = {p};
      } else if (distance(p, path_.front()) <= close_px * pixel) {
        close_polygon();  // on the first vertex: closes once there are 3, else adds nothing
      } else if (distance(p, path_.back()) >= click_px * pixel) {
        path_.push_back(p);  // nearer the last vertex, it is the second press of a double-click
      }
      return true;
    case Tool::select:
      break;
  }
  return true;
}

bool AnnotationTools::pointer_move(Vec2 p, double pixel) {
  pixel_ = pixel;
  if (tool_ == Tool::select) {
    if (!drag_) return false;
    if (!drag_->started) {
      if (distance(p, drag_->from) < click_px * pixel) return true;
      if (!document_.begin_edit(drag_->uid)) {
        drag_.reset();
        return false;
      }
      drag_->started = true;
    }
    const ViewerAnnotation& original = drag_->original;
    annotation::Geometry geometry = drag_->handle
                                        ? with_handle_moved(original, *drag_->handle, p)
                                        : translated(original.geometry, {p.x - drag_->from.x, p.y - drag_->from.y});
    const bool box = original.shape == Shape::rectangle || original.shape == Shape::ellipse;
    if (box && !has_area(geometry)) return true;                     // stays where it last had an area
    if (!document_.update_edit(std::move(geometry))) drag_.reset();  // the edit was closed under us
    return true;
  }
  if (path_.empty()) return false;
  pointer_ = p;
  if (tool_ == Tool::freehand && pressed_ && distance(p, path_.back()) >= freehand_step_px * pixel) {
    path_.push_back(p);
  }
  return true;
}

bool AnnotationTools::pointer_up(Vec2 p, double pixel) {
  pixel_ = pixel;
  const bool was_pressed = std::exchange(pressed_, false);
  if (tool_ == Tool::select) {
    if (!drag_) return was_pressed;
    if (drag_->started) pointer_move(p, pixel);
    finish_drag();
    return true;
  }
  if (path_.empty()) return was_pressed;
  pointer_ = p;
  switch (tool_) {
    case Tool::ruler:
      if (!awaiting_second_click_) {
        if (distance(p, path_.front()) >= click_px * pixel) {
          const Vec2 from = path_.front();
          cancel_drawing();
          create(Shape::ruler, annotation::LineString{{position(from), position(p)}});
        } else {
          awaiting_second_click_ = true;  // a click: the next click sets the other end
        }
      }
      break;
    case Tool::rectangle:
    case Tool::ellipse: {
      const Vec2 a = path_.front(), b = constrained(p);
      const bool is_rectangle = tool_ == Tool::rectangle;
      cancel_drawing();
      if (std::abs(b.x - a.x) >= pixel && std::abs(b.y - a.y) >= pixel) {
        create(is_rectangle ? Shape::rectangle : Shape::ellipse,
               is_rectangle ? rectangle_geometry(a, b) : ellipse_geometry(a, b));
      }
      break;
    }
    case Tool::freehand: {
      if (distance(p, path_.back()) >= freehand_step_px * pixel) path_.push_back(p);
      annotation::Ring ring;
      for (const Vec2 v : path_) ring.push_back(position(v));
      cancel_drawing();
      if (ring.size() >= 3) {
        ring.push_back(ring.front());
        create(Shape::freehand, annotation::Polygon{{std::move(ring)}});
      }
      break;
    }
    case Tool::select:
    case Tool::point:
    case Tool::polygon:
      break;
  }
  return was_pressed;
}

bool AnnotationTools::double_click(Vec2 p, double pixel) {
  pixel_ = pixel;
  switch (tool_) {
    case Tool::select:
      return document_.hit(p, hit_px * pixel).has_value();  // elsewhere the app zooms in
    case Tool::polygon:
      // Its presses came first; add the spot only when the app sent none there.
      if (!path_.empty() && distance(p, path_.back()) >= click_px * pixel &&
          distance(p, path_.front()) > close_px * pixel) {
        path_.push_back(p);
      }
      close_polygon();
      return true;
    case Tool::point:
    case Tool::ruler:
    case Tool::rectangle:
    case Tool::ellipse:
    case Tool::freehand:
      return true;  // its clicks did the drawing; a zoom now would lose the user's place
  }
  return true;
}

bool AnnotationTools::key(Key key) {
  const std::string selected = document_.selected();
  switch (key) {
    case Key::escape:
      if (drag_) {
        if (drag_->started) document_.cancel_edit();
        drag_.reset();
        return true;
      }
      if (!path_.empty()) {
        cancel_drawing();
        return true;
      }
      if (!selected.empty()) {
        document_.select({});
        return true;
      }
      return false;
    case Key::enter:
      if (tool_ != Tool::polygon || path_.empty()) return false;
      close_polygon();
      return true;
    case Key::backspace:
      if (tool_ == Tool::polygon && !path_.empty()) {
        path_.pop_back();
        if (path_.empty()) cancel_drawing();
        return true;
      }
      [[fallthrough]];
    case Key::del:
      if (tool_ != Tool::select || selected.empty()) return false;
      drag_.reset();
      document_.remove(selected);
      return true;
  }
  return false;
}

ToolPreview AnnotationTools::preview() const {
  ToolPreview out;
  out.color = color_;
  if (const ViewerAnnotation* a = document_.find(document_.selected())) out.handles = handles(*a);
  if (path_.empty()) return out;
  const Vec2 at = pointer_.value_or(path_.back());
  switch (tool_) {
    case Tool::ruler:
      out.shape = Shape::ruler;
      out.drawing = annotation::LineString{{position(path_.front()), position(at)}};
      break;
    case Tool::rectangle:
      out.shape = Shape::rectangle;
      out.drawing = rectangle_geometry(path_.front(), constrained(at));
      break;
    case Tool::ellipse:
      out.shape = Shape::ellipse;
      out.drawing = ellipse_geometry(path_.front(), constrained(at));
      break;
    case Tool::polygon: {
      out.shape = Shape::polygon;
      std::vector<Vec2> path = path_;
      if (distance(at, path.back()) > 0) path.push_back(at);
      out.drawing = open_path(path);
      out.closes = distinct_polygon_vertices() >= 3 && distance(at, path_.front()) <= close_px * pixel_;
      break;
    }
    case Tool::freehand:
      out.shape = Shape::freehand;
      out.drawing = open_path(path_);
      break;
    case Tool::select:
    case Tool::point:
      break;
  }
  return out;
}

}  // namespace reread::viewer
