// What the panels ask of the app: plain values collected during the frame and applied after it, so the
// panels never change the model themselves (the app decides, e.g. whether a move goes to every view).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "camera.h"
#include "gl_tile_program.h"

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

}  // namespace reread::viewer::intent

namespace reread::viewer {

using Intent = std::variant<intent::RefreshCases, intent::SelectCase, intent::OpenSlide, intent::CloseView,
                            intent::FocusView, intent::Drag, intent::Release, intent::Zoom, intent::PanBy,
                            intent::SetMagnification, intent::Fit, intent::Rotate, intent::CenterOn, intent::SetDisplay,
                            intent::SetSync, intent::ShowDebug, intent::ShowSidebar>;

}  // namespace reread::viewer
