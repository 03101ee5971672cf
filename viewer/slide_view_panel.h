// A slide view's controls over the picture the app drew: drag, wheel and keys turned into intents, the
// magnification presets, fit and rotation, the scale bar, the status line (magnification, cursor
// position in µm, tiles pending) and a banner when tiles cannot be fetched.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "app_intents.h"
#include "app_state.h"

namespace reread::viewer {

// The scale bar for `microns_per_pixel` on screen: a round length (1, 2 or 5 x 10^k µm) about
// `target_pixels` long. Pure.
struct ScaleBar {
  double pixels = 0;
  std::string label;  // "500 µm", "2 mm"
};
ScaleBar scale_bar(double microns_per_pixel, double target_pixels = 120.0);

void slide_view_panel(const AppState& state, std::size_t view_index, std::vector<Intent>& intents);

}  // namespace reread::viewer
