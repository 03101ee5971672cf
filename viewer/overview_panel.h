// The overview: the whole slide small in a corner of its view, with the viewport's outline; a click or a
// drag there moves the view.
#pragma once

#include <cstddef>
#include <vector>

#include "app_intents.h"
#include "app_state.h"

namespace reread::viewer {

// Where the overview of `view` goes (screen pixels) and the camera that shows the whole slide there, in
// the view's rotation. Pure; the app draws the slide there before the panels are drawn over it.
struct OverviewGeometry {
  ScreenRect rect;
  Camera camera;
};
OverviewGeometry overview_geometry(const SlideView& view);

void overview_panel(const AppState& state, std::size_t view_index, std::vector<Intent>& intents);

}  // namespace reread::viewer
