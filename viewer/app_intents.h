// What the panels ask of the app: plain values collected during the frame and applied after it, so the
// panels never change the model themselves (the app decides, e.g. whether a move goes to every view).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "annotation_tools.h"
#include "camera.h"
#include "gl_tile_program.h"
#include "record_outbox.h"
#include "report_panel.h"

namespace reread::viewer::intent {

struct RefreshCases {};
struct SelectCase {
  std::int64_t case_id = 0;
};
struct OpenSlide {
  std::string slide_id, label;
  bool beside = false;  // add a view beside the others instead of replacing the focused one
};
struct CloseView {
  std::size_t view = 0;
};
struct FocusView {
  std::size_t view = 0;
};
struct Drag {  // the picture follows the mouse
  std::size_t view = 0;
  Vec2 delta;  // screen pixels
};
struct Release {  // the drag ended: inertia
  std::size_t view = 0;
};
struct Zoom {  // about a point of the view (screen pixels from the view's top-left)
  std::size_t view = 0;
  Vec2 anchor;
  double factor = 1.0;
};
struct PanBy {  // animated, screen pixels
  std::size_t view = 0;
  Vec2 delta;
};
struct SetMagnification {
  std::size_t view = 0;
  double magnification = 10.0;
};
struct Fit {
  std::size_t view = 0;
};
struct Rotate {  // a clockwise quarter turn
  std::size_t view = 0;
};
struct CenterOn {  // the overview was clicked or dragged: level-0 pixels
  std::size_t view = 0;
  Vec2 slide_point;
};
struct SetDisplay {
  DisplayAdjustments display;
};
struct SetSync {
  bool on = false;
};
struct ShowDebug {
  bool on = false;
};
struct ShowSidebar {
  bool on = true;
};

// --- The pointer over a view: the annotation tools take it first, else it pans and zooms ---
struct Pointer {
  enum class Kind { down, move, up, double_click };
  std::size_t view = 0;
  Kind kind = Kind::move;
  Vec2 at;     // screen pixels from the view's top-left
  Vec2 delta;  // screen pixels moved since the last event (a drag)
  Modifiers modifiers;
};
struct ToolKey {  // Enter, Escape, Delete, Backspace over the focused view
  std::size_t view = 0;
  Key key = Key::escape;
};

// --- Annotations (of the focused view's slide) ---
struct SetTool {
  Tool tool = Tool::select;
};
struct SetAnnotationClass {  // the class new annotations get
  std::string name, color;
};
struct ShowAnnotationClass {
  std::string name;
  bool on = true;
};
struct SelectAnnotation {  // from the list: select it and centre the view on it
  std::string uid;
};
struct EditAnnotation {  // label, comment or class of one annotation (one undo step)
  std::string uid, label, comment, class_name, color;
};
struct DeleteAnnotation {
  std::string uid;
};
struct Undo {};
struct Redo {};
struct ImportAnnotations {
  std::string path;
};
struct ExportAnnotations {
  std::string format, path;  // geojson, asap or imagescope
};
struct ResolveConflict {
  RecordItem item;
  bool keep_mine = true;
};
struct DismissRejected {
  std::uint64_t id = 0;
};

// --- The consult report ---
struct ShowReport {
  bool on = true;
};
struct Report {  // what the report panel asked for
  ReportIntent what;
};

}  // namespace reread::viewer::intent

namespace reread::viewer {

using Intent = std::variant<intent::RefreshCases, intent::SelectCase, intent::OpenSlide, intent::CloseView,
                            intent::FocusView, intent::Drag, intent::Release, intent::Zoom, intent::PanBy,
                            intent::SetMagnification, intent::Fit, intent::Rotate, intent::CenterOn, intent::SetDisplay,
                            intent::SetSync, intent::ShowDebug, intent::ShowSidebar, intent::Pointer, intent::ToolKey,
                            intent::SetTool, intent::SetAnnotationClass, intent::ShowAnnotationClass,
                            intent::SelectAnnotation, intent::EditAnnotation, intent::DeleteAnnotation, intent::Undo,
                            intent::Redo, intent::ImportAnnotations, intent::ExportAnnotations,
                            intent::ResolveConflict, intent::DismissRejected, intent::ShowReport, intent::Report>;

}  // namespace reread::viewer
