// What is drawn over a view's annotation outlines with ImGui, in screen space: point markers, the selected
// annotation's highlight, handles and label with its measurement, and the shape being drawn.
#pragma once

#include <imgui.h>

#include "app_slide_view.h"

namespace reread::viewer {

void draw_annotation_overlay(const SlideView& view, ImDrawList* draw);

}  // namespace reread::viewer
