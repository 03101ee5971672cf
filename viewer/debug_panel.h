// Debug: per view, the decoded-tile cache and texture cache (MB used / limit), the provider's queue,
// requests, failures and bytes, and frame times.
#pragma once

#include "app_state.h"

namespace reread::viewer {

void debug_panel(const AppState& state);

}  // namespace reread::viewer
