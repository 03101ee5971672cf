// The drawing and editing tools: pointer and key events in slide coordinates in, commands on an
// AnnotationDocument out, and a preview of what is being drawn for the renderer. Pure: no OpenGL, no ImGui;
// the app converts screen events (camera.h) and draws preview().
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "annotation_document.h"

namespace reread::viewer {

enum class Tool { select, point, ruler, rectangle, ellipse, polygon, freehand };

struct Modifiers {
  bool shift = false, ctrl = false, alt = false;
};

enum class Key { enter, escape, del, backspace };

// What the renderer draws over the annotations this frame.
struct ToolPreview {
  // The shape being drawn, in level-0 pixels: a Point or LineString while a polygon or freehand is open
  // (the polygon's with a last segment to the pointer), a ruler's LineString, a rectangle's or ellipse's
  // Polygon. nullopt when nothing is being drawn.
  std::optional<annotation::Geometry> drawing;
  Shape shape = Shape::polygon;  // of `drawing`
  std::string color;             // the current class colour
  bool closes = false;           // polygon: a click now closes it on the first vertex (highlight that vertex)
  // The selected annotation's handles (AnnotationDocument::vertex_at indices), whatever the tool.
  std::vector<Vec2> handles;
};

// Positions are level-0 pixels; `pixel` is level-0 pixels per screen pixel at the time of the event, so
// that tolerances and the freehand spacing stay the same on screen at every zoom. Every event returns
// whether the tools consumed it: when not, the app does its own thing with it (pans on a drag, zooms on a
// double-click).
//
// point: click. ruler: press, drag, release; or click, then click the other end. rectangle, ellipse: press
// at one corner, drag, release at the other (Shift: a square, a circle; under a screen pixel wide or high
// creates nothing). polygon: each click adds a vertex; double-click, Enter or a click on the first vertex
// closes it once it has 3 distinct vertices; Backspace removes the last vertex, Escape gives up. freehand:
// press, drag, release: points kept 2 screen pixels apart, closed on release (3 points at least).
// A new annotation gets the current class, colour and label and becomes the selection.
//
// select: a click selects the annotation under the pointer, or clears the selection (not consumed, so the
// slide pans). Pressing a handle of the selected annotation and dragging moves that handle; pressing on an
// annotation and dragging moves it; each drag is one undo step and a click without movement changes
// nothing. Delete or Backspace removes the selected annotation; Escape clears the selection.
class AnnotationTools {
 public:
  // Screen pixels.
  static constexpr double hit_px = 5;            // how near a line or point a click selects it
  static constexpr double handle_px = 6;         // how near a handle a press grabs it
  static constexpr double close_px = 6;          // how near the first vertex a click closes a polygon
  static constexpr double click_px = 3;          // a press and release closer than this is a click
  static constexpr double freehand_step_px = 2;  // freehand points are kept this far apart

  // The document outlives the tools.
  explicit AnnotationTools(AnnotationDocument& document) : document_(document) {}

  // Gives up what is being drawn and ends a drag (keeping where it got to).
  void set_tool(Tool tool);
  Tool tool() const { return tool_; }
  void set_current_class(std::string name, std::string color);
  void set_current_label(std::string label);
  const std::string& current_class() const { return class_name_; }
  const std::string& current_color() const { return color_; }

  bool pointer_down(Vec2 p, double pixel, Modifiers modifiers = {});
  bool pointer_move(Vec2 p, double pixel);
  bool pointer_up(Vec2 p, double pixel);
  // Sent after the second press's pointer_down (and maybe its pointer_up).
  bool double_click(Vec2 p, double pixel);
  bool key(Key key);

  // Something is being drawn or dragged.
  bool busy() const { return !path_.empty() || drag_.has_value(); }
  ToolPreview preview() const;

 private:
  // A select-tool press on an annotation: a drag of one handle (`handle`) or of all of it.
  struct Drag {
    std::string uid;
    std::optional<std::size_t> handle;
    Vec2 from;
    ViewerAnnotation original;
    bool started = false;  // moved past the click distance: the document's edit is open
  };

  bool select_down(Vec2 p, double pixel);
  void finish_drag();
  void cancel_drawing();
  std::string create(Shape shape, annotation::Geometry geometry);
  bool close_polygon();
  std::size_t distinct_polygon_vertices() const;
  Vec2 constrained(Vec2 p) const;  // rectangle, ellipse: Shift makes the box square

  AnnotationDocument& document_;
  Tool tool_ = Tool::select;
  std::string class_name_, color_ = "#ffff00", label_;

  // What is being drawn: the corners or vertices so far (empty when nothing is).
  std::vector<Vec2> path_;
  std::optional<Vec2> pointer_;         // where the pointer is while drawing
  bool pressed_ = false;                // a press the tools consumed has not been released yet
  bool awaiting_second_click_ = false;  // ruler: the first end is set, a click sets the other
  bool square_ = false;                 // Shift at the press of a rectangle or ellipse
  double pixel_ = 1;                    // of the latest event
  std::string last_point_uid_;          // the point tool's last point: a double-click's second press adds none
  std::optional<Drag> drag_;
};

}  // namespace reread::viewer
