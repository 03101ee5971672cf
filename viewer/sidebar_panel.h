// The left column: the server's cases, the open case's slides and the display settings (or, for a
// local slide, the file and the display settings).
#pragma once

#include <vector>

#include "app_intents.h"
#include "app_state.h"

namespace reread::viewer {

void sidebar_panel(const AppState& state, std::vector<Intent>& intents);

}  // namespace reread::viewer
