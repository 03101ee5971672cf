// The right column: the consult report panel of the open case, placed beside the views.
#pragma once

#include <vector>

#include "app_intents.h"
#include "app_state.h"

namespace reread::viewer {

void report_column(const AppState& state, std::vector<Intent>& intents);

}  // namespace reread::viewer
