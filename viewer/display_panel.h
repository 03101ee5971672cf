// Brightness, contrast and gamma (applied in linear light by the shader), synchronized navigation and
// the debug panel's switch.
#pragma once

#include <vector>

#include "app_intents.h"
#include "app_state.h"

namespace reread::viewer {

void display_panel(const AppState& state, std::vector<Intent>& intents);

}  // namespace reread::viewer
