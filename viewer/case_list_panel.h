// The cases this user may read (accession, status, due date): choosing one opens its slides.
#pragma once

#include <vector>

#include "app_intents.h"
#include "app_state.h"

namespace reread::viewer {

void case_list_panel(const AppState& state, std::vector<Intent>& intents);

}  // namespace reread::viewer
