// Sidebar: a fixed window hosting the case list, case slides and display panels.
#include "sidebar_panel.h"

#include <imgui.h>

#include "annotation_panel.h"
#include "case_list_panel.h"
#include "case_slides_panel.h"
#include "display_panel.h"

namespace reread::viewer {

void sidebar_panel(const AppState& state, std::vector<Intent>& intents) {
  if (state.sidebar.width <= 0) return;
  ImGui::SetNextWindowPos(ImVec2(static_cast<float>(state.sidebar.x), static_cast<float>(state.sidebar.y)));
  ImGui::SetNextWindowSize(ImVec2(static_cast<float>(state.sidebar.width), static_cast<float>(state.sidebar.height)));
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                                     ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoTitleBar;
  ImGui::Begin("##sidebar", nullptr, flags);
  ImGui::TextUnformatted("Reread");
  ImGui::SameLine();
  ImGui::TextDisabled("%s", state.source.c_str());
  if (!state.catalogue_error.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.5f, 0.45f, 1.0f));
    ImGui::TextWrapped("%s", state.catalogue_error.c_str());
    ImGui::PopStyleColor();
  }
  if (state.remote) {
    if (ImGui::CollapsingHeader("Cases", ImGuiTreeNodeFlags_DefaultOpen)) case_list_panel(state, intents);
    if (ImGui::CollapsingHeader("Slides", ImGuiTreeNodeFlags_DefaultOpen)) case_slides_panel(state, intents);
    if (ImGui::CollapsingHeader("Annotations", ImGuiTreeNodeFlags_DefaultOpen)) annotation_panel(state, intents);
  }
  if (ImGui::CollapsingHeader("Display", ImGuiTreeNodeFlags_DefaultOpen)) display_panel(state, intents);
  ImGui::Separator();
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled));
  ImGui::TextWrapped("drag: pan   wheel: zoom   arrows, +/-   R: rotate   F: fit   Tab: sidebar");
  ImGui::PopStyleColor();
  ImGui::End();
}

}  // namespace reread::viewer
