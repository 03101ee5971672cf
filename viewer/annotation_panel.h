// The annotations of the focused view's slide, in the left column: tools, the class for new annotations,
// show/hide by class, the list with measurements (a click centres the view), the selected one's label,
// comment and class, undo/redo, import/export of annotation files, and what the outbox needs the
// consultant to decide (conflicts) or know (refusals, offline).
#pragma once

#include <vector>

#include "app_intents.h"
#include "app_state.h"

namespace reread::viewer {

void annotation_panel(const AppState& state, std::vector<Intent>& intents);

}  // namespace reread::viewer
