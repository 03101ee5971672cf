// Case slides: thumbnails from /slides/{id}/thumbnail?max=256, with the slide's label.
#include "case_slides_panel.h"

#include <imgui.h>

#include <algorithm>
#include <cstdint>

namespace reread::viewer {

void case_slides_panel(const AppState& state, std::vector<Intent>& intents) {
  if (!state.open_case) {
    ImGui::TextDisabled(state.selected_case ? "loading..." : "choose a case");
    return;
  }
  const CaseDetail& c = *state.open_case;
  ImGui::TextWrapped("%s  %s", c.summary.accession.c_str(), c.specimen.c_str());
  if (c.slides.empty()) ImGui::TextDisabled("no slides");
  constexpr float kSide = 96.0f;
  for (const CaseSlideRef& s : c.slides) {
    ImGui::PushID(s.slide_id.c_str());
    const bool shown =
        std::any_of(state.views.begin(), state.views.end(), [&](const auto& v) { return v->slide_id() == s.slide_id; });
    const auto it = state.thumbnails.find(s.slide_id);
    bool open = false;
    if (it != state.thumbnails.end() && it->second.width > 0) {
      const ThumbnailTexture& t = it->second;
      const float k = kSide / static_cast<float>(std::max(t.width, t.height));
      const ImVec2 size(static_cast<float>(t.width) * k, static_cast<float>(t.height) * k);
      const auto id = reinterpret_cast<ImTextureID>(static_cast<std::uintptr_t>(t.texture.get()));  // NOLINT
      open = ImGui::ImageButton(id, size, ImVec2(0, 0), ImVec2(1, 1), 2);
    } else {
      open = ImGui::Button("...", ImVec2(kSide, kSide * 0.6f));
    }
    if (open) intents.emplace_back(intent::OpenSlide{s.slide_id, s.label, false});
    ImGui::SameLine();
    ImGui::BeginGroup();
    ImGui::TextWrapped("%s%s", s.label.c_str(), shown ? "  (shown)" : "");
    if (ImGui::SmallButton("Open")) intents.emplace_back(intent::OpenSlide{s.slide_id, s.label, false});
    ImGui::SameLine();
    if (ImGui::SmallButton("Beside")) intents.emplace_back(intent::OpenSlide{s.slide_id, s.label, true});
    ImGui::EndGroup();
    ImGui::PopID();
  }
}

}  // namespace reread::viewer
