// The open case's slides as thumbnails: a click shows one in the focused view, "beside" adds a view.
#pragma once

#include <vector>

#include "app_intents.h"
#include "app_state.h"

namespace reread::viewer {

void case_slides_panel(const AppState& state, std::vector<Intent>& intents);

}  // namespace reread::viewer
