// Overview panel: the viewport outline over the slide the app drew, and clicks turned into CenterOn.
#include "overview_panel.h"

#include <imgui.h>

#include <algorithm>
#include <string>

namespace reread::viewer {

OverviewGeometry overview_geometry(const SlideView& view) {
  const ScreenRect& r = view.rect();
  const bool sideways = view.camera().quarter_turns % 2 != 0;
  double w = static_cast<double>(view.layout().width), h = static_cast<double>(view.layout().height);
  if (sideways) std::swap(w, h);
  const double side = std::clamp(std::min(r.width, r.height) * 0.3, 80.0, 240.0);
  const double k = side / std::max(w, h);
  const double ow = std::max(8.0, w * k), oh = std::max(8.0, h * k);
  constexpr double kMargin = 10, kStatusLine = 30;
  OverviewGeometry g;
  g.rect = {r.x + r.width - ow - kMargin, r.y + r.height - oh - kMargin - kStatusLine, ow, oh};
  const auto vw = static_cast<int>(ow), vh = static_cast<int>(oh);
  const auto lw = static_cast<double>(view.layout().width), lh = static_cast<double>(view.layout().height);
  g.camera = sideways ? Camera::fit(lw, lh, vh, vw) : Camera::fit(lw, lh, vw, vh);
  g.camera.center = {lw / 2.0, lh / 2.0};
  g.camera.viewport_width = vw;
  g.camera.viewport_height = vh;
  g.camera.quarter_turns = view.camera().quarter_turns;
  return g;
}

void overview_panel(const AppState& state, std::size_t view_index, std::vector<Intent>& intents) {
  const SlideView& view = *state.views[view_index];
  const OverviewGeometry g = overview_geometry(view);
  if (g.rect.width < 8 || view.rect().width < 200) return;
  const ImVec2 origin(static_cast<float>(g.rect.x), static_cast<float>(g.rect.y));
  ImGui::SetNextWindowPos(origin);
  ImGui::SetNextWindowSize(ImVec2(static_cast<float>(g.rect.width), static_cast<float>(g.rect.height)));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0.0f);
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                     ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBackground |
                                     ImGuiWindowFlags_NoScrollWithMouse | ImGuiWindowFlags_NoFocusOnAppearing;
  ImGui::Begin(("##overview" + std::to_string(view_index)).c_str(), nullptr, flags);
  ImGui::InvisibleButton("overview", ImGui::GetContentRegionAvail());
  if (ImGui::IsItemActive()) {
    const ImVec2 m = ImGui::GetIO().MousePos;
    const Vec2 p = g.camera.screen_to_slide({m.x - origin.x, m.y - origin.y});
    intents.emplace_back(intent::CenterOn{view_index, p});
  }
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const ImVec2 end(origin.x + static_cast<float>(g.rect.width), origin.y + static_cast<float>(g.rect.height));
  draw->AddRect(origin, end, IM_COL32(255, 255, 255, 160));
  // The view's corners, through the slide, into the overview.
  const Camera& c = view.camera();
  const Vec2 corners[] = {{0, 0},
                          {static_cast<double>(c.viewport_width), 0},
                          {static_cast<double>(c.viewport_width), static_cast<double>(c.viewport_height)},
                          {0, static_cast<double>(c.viewport_height)}};
  ImVec2 outline[4];
  for (int i = 0; i < 4; ++i) {
    const Vec2 s = g.camera.slide_to_screen(c.screen_to_slide(corners[i]));
    outline[i] = ImVec2(origin.x + std::clamp(static_cast<float>(s.x), -2.0f, static_cast<float>(g.rect.width) + 2),
                        origin.y + std::clamp(static_cast<float>(s.y), -2.0f, static_cast<float>(g.rect.height) + 2));
  }
  draw->PushClipRect(ImVec2(origin.x - 2, origin.y - 2), ImVec2(end.x + 2, end.y + 2));
  draw->AddPolyline(outline, 4, IM_COL32(255, 220, 40, 255), ImDrawFlags_Closed, 2.0f);
  draw->PopClipRect();
  ImGui::End();
  ImGui::PopStyleVar(2);
}

}  // namespace reread::viewer
