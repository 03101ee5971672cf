// Case list: a table of the user's cases from /api/cases.
#include "case_list_panel.h"

#include <imgui.h>

#include <string>

namespace reread::viewer {

void case_list_panel(const AppState& state, std::vector<Intent>& intents) {
  if (ImGui::SmallButton("Refresh")) intents.emplace_back(intent::RefreshCases{});
  ImGui::SameLine();
  if (!state.cases_loaded) {
    ImGui::TextDisabled("loading...");
    return;
  }
  ImGui::TextDisabled("%zu cases", state.cases.size());
  constexpr ImGuiTableFlags flags = ImGuiTableFlags_RowBg | ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_ScrollY |
                                    ImGuiTableFlags_SizingStretchProp;
  const float height = ImGui::GetTextLineHeightWithSpacing() * 8.5f;
  if (!ImGui::BeginTable("cases", 3, flags, ImVec2(0, height))) return;
  ImGui::TableSetupScrollFreeze(0, 1);
  ImGui::TableSetupColumn("Accession", ImGuiTableColumnFlags_WidthStretch, 1.4f);
  ImGui::TableSetupColumn("Status", ImGuiTableColumnFlags_WidthStretch, 1.0f);
  ImGui::TableSetupColumn("Due", ImGuiTableColumnFlags_WidthStretch, 1.0f);
  ImGui::TableHeadersRow();
  for (const CaseSummary& c : state.cases) {
    ImGui::TableNextRow();
    ImGui::TableNextColumn();
    ImGui::PushID(static_cast<int>(c.id));
    const bool selected = state.selected_case && *state.selected_case == c.id;
    if (ImGui::Selectable(c.accession.empty() ? "(no accession)" : c.accession.c_str(), selected,
                          ImGuiSelectableFlags_SpanAllColumns)) {
      intents.emplace_back(intent::SelectCase{c.id});
    }
    if (ImGui::IsItemHovered() && !c.question.empty()) ImGui::SetTooltip("%s", c.question.c_str());
    ImGui::PopID();
    ImGui::TableNextColumn();
    ImGui::TextUnformatted(c.status.c_str());
    ImGui::TableNextColumn();
    const std::string due = c.due_at.empty() ? "-" : c.due_at.substr(0, 10);
    if (c.overdue) {
      ImGui::TextColored(ImVec4(1.0f, 0.45f, 0.4f, 1.0f), "%s", due.c_str());
    } else {
      ImGui::TextUnformatted(due.c_str());
    }
  }
  ImGui::EndTable();
}

}  // namespace reread::viewer
