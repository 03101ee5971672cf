// Display settings: sliders over a copy of the model's values; changes go back as an intent.
#include "display_panel.h"

#include <imgui.h>

namespace reread::viewer {

void display_panel(const AppState& state, std::vector<Intent>& intents) {
  DisplayAdjustments d = state.display;
  bool changed = false;
  changed |= ImGui::SliderFloat("Brightness", &d.brightness, -0.5f, 0.5f, "%.2f");
  changed |= ImGui::SliderFloat("Contrast", &d.contrast, 0.25f, 4.0f, "%.2f", ImGuiSliderFlags_Logarithmic);
  changed |= ImGui::SliderFloat("Gamma", &d.gamma, 0.25f, 4.0f, "%.2f", ImGuiSliderFlags_Logarithmic);
  if (ImGui::Button("Reset")) {
    d = DisplayAdjustments{};
    changed = true;
  }
  if (changed) intents.emplace_back(intent::SetDisplay{d});

  bool sync = state.sync;
  if (ImGui::Checkbox("Synchronize navigation", &sync)) intents.emplace_back(intent::SetSync{sync});
  if (state.views.size() < 2 && ImGui::IsItemHovered()) ImGui::SetTooltip("Open a second slide with \"Beside\"");
  bool debug = state.show_debug;
  if (ImGui::Checkbox("Debug panel", &debug)) intents.emplace_back(intent::ShowDebug{debug});
}

}  // namespace reread::viewer
