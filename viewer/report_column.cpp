// Hosts report_panel in a fixed window and turns its intents into the app's.
#include "report_column.h"

#include <imgui.h>

namespace reread::viewer {

void report_column(const AppState& state, std::vector<Intent>& intents) {
  if (state.report_column.width <= 0 || state.record == nullptr || !state.record->draft()) return;
  const ScreenRect& r = state.report_column;
  ImGui::SetNextWindowPos(ImVec2(static_cast<float>(r.x), static_cast<float>(r.y)));
  ImGui::SetNextWindowSize(ImVec2(static_cast<float>(r.width), static_cast<float>(r.height)));
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize |
                                     ImGuiWindowFlags_NoCollapse | ImGuiWindowFlags_NoSavedSettings;
  bool open = true;
  ImGui::Begin("Consult report", &open, flags);
  // The references a report may make: the annotations of the case's slides that the server has stored.
  std::vector<AnnotationChoice> choices;
  for (const auto& v : state.views) {
    const SlideView::Annotations* a = v->annotations();
    if (a == nullptr || a->case_id != state.record->draft()->case_id()) continue;
    for (const ViewerAnnotation& an : a->document->all()) {
      if (!an.server_id) continue;
      std::string label = an.label.empty() ? an.class_name : an.label;
      if (label.empty()) label = std::string(shape_name(an.shape));
      choices.push_back({*an.server_id, v->label() + ": " + label});
    }
  }
  std::vector<ReportIntent> out;
  report_panel({*state.record->draft(), std::move(choices), state.record->save_status(), state.record->save_trouble(),
                state.catalogue_busy},
               out);
  ImGui::End();
  for (ReportIntent& i : out) intents.emplace_back(intent::Report{std::move(i)});
  if (!open) intents.emplace_back(intent::ShowReport{false});
}

}  // namespace reread::viewer
