// Slide view panel: an invisible surface over the view for input, and small overlay windows.
#include "slide_view_panel.h"

#include <GLFW/glfw3.h>
#include <imgui.h>

#include <cmath>
#include <cstdio>

#include "annotation_overlay.h"

namespace reread::viewer {
namespace {

constexpr double kPresets[] = {1, 2, 5, 10, 20, 40};
constexpr const char* kMicron = "\xc2\xb5m";  // UTF-8 for "µm"

std::string window_name(const char* what, std::size_t index) {
  return std::string("##") + what + std::to_string(index);
}

bool key_pressed(int key) { return ImGui::IsKeyPressed(key, true); }

void handle_input(const AppState& state, std::size_t i, std::vector<Intent>& out) {
  const SlideView& view = *state.views[i];
  const ImGuiIO& io = ImGui::GetIO();
  const ScreenRect& r = view.rect();
  ImGui::InvisibleButton("surface", ImVec2(static_cast<float>(r.width), static_cast<float>(r.height)),
                         ImGuiButtonFlags_MouseButtonLeft);
  const Vec2 mouse{io.MousePos.x - r.x, io.MousePos.y - r.y};
  const Modifiers modifiers{io.KeyShift, io.KeyCtrl, io.KeyAlt};
  using Kind = intent::Pointer::Kind;
  // The pointer goes to the app, which offers it to the annotation tools first; what they leave pans.
  if (ImGui::IsItemActivated()) {
    out.emplace_back(intent::FocusView{i});
    out.emplace_back(intent::Pointer{i, Kind::down, mouse, {}, modifiers});
  }
  if (ImGui::IsItemActive() && (io.MouseDelta.x != 0 || io.MouseDelta.y != 0)) {
    out.emplace_back(intent::Pointer{i, Kind::move, mouse, {io.MouseDelta.x, io.MouseDelta.y}, modifiers});
  } else if (ImGui::IsItemHovered() && !ImGui::IsItemActive() && (io.MouseDelta.x != 0 || io.MouseDelta.y != 0)) {
    out.emplace_back(intent::Pointer{i, Kind::move, mouse, {}, modifiers});  // hover: the polygon's rubber band
  }
  if (ImGui::IsItemDeactivated()) out.emplace_back(intent::Pointer{i, Kind::up, mouse, {}, modifiers});
  if (ImGui::IsItemHovered()) {
    if (io.MouseWheel != 0) out.emplace_back(intent::Zoom{i, mouse, std::pow(2.0, io.MouseWheel * 0.5)});
    if (ImGui::IsMouseDoubleClicked(ImGuiMouseButton_Left)) {
      out.emplace_back(intent::Pointer{i, Kind::double_click, mouse, {}, modifiers});
    }
  }
  // Keys go to the focused view while no text field has them.
  if (i != state.focused || io.WantTextInput || !ImGui::IsWindowFocused()) return;
  const double step = std::min(r.width, r.height) / 5.0;
  const Vec2 middle{r.width / 2.0, r.height / 2.0};
  // The picture moves opposite to the arrow: "right" shows what is to the right.
  if (key_pressed(ImGui::GetKeyIndex(ImGuiKey_LeftArrow))) out.emplace_back(intent::PanBy{i, {step, 0}});
  if (key_pressed(ImGui::GetKeyIndex(ImGuiKey_RightArrow))) out.emplace_back(intent::PanBy{i, {-step, 0}});
  if (key_pressed(ImGui::GetKeyIndex(ImGuiKey_UpArrow))) out.emplace_back(intent::PanBy{i, {0, step}});
  if (key_pressed(ImGui::GetKeyIndex(ImGuiKey_DownArrow))) out.emplace_back(intent::PanBy{i, {0, -step}});
  if (key_pressed(GLFW_KEY_EQUAL) || key_pressed(GLFW_KEY_KP_ADD)) out.emplace_back(intent::Zoom{i, middle, 2.0});
  if (key_pressed(GLFW_KEY_MINUS) || key_pressed(GLFW_KEY_KP_SUBTRACT)) out.emplace_back(intent::Zoom{i, middle, 0.5});
  if (ImGui::IsKeyPressed(GLFW_KEY_R, false) && !io.KeyCtrl) out.emplace_back(intent::Rotate{i});
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Enter), false)) out.emplace_back(intent::ToolKey{i, Key::enter});
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape), false)) out.emplace_back(intent::ToolKey{i, Key::escape});
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Delete), false)) out.emplace_back(intent::ToolKey{i, Key::del});
  if (ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Backspace), false)) {
    out.emplace_back(intent::ToolKey{i, Key::backspace});
  }
  if (io.KeyCtrl && ImGui::IsKeyPressed(GLFW_KEY_Z, false)) {
    if (io.KeyShift) {
      out.emplace_back(intent::Redo{});
    } else {
      out.emplace_back(intent::Undo{});
    }
  }
  if (io.KeyCtrl && ImGui::IsKeyPressed(GLFW_KEY_Y, false)) out.emplace_back(intent::Redo{});
  if (ImGui::IsKeyPressed(GLFW_KEY_F, false) || ImGui::IsKeyPressed(GLFW_KEY_0, false)) {
    out.emplace_back(intent::Fit{i});
  }
}

void draw_scale_bar(const SlideView& view) {
  const auto mpp = view.slide().mpp();
  if (!mpp || view.camera().scale <= 0) return;
  const ScaleBar bar = scale_bar(*mpp / view.camera().scale);
  const ScreenRect& r = view.rect();
  ImDrawList* draw = ImGui::GetWindowDrawList();
  const float x0 = static_cast<float>(r.x) + 16, y = static_cast<float>(r.y + r.height) - 44;
  const float x1 = x0 + static_cast<float>(bar.pixels);
  draw->AddRectFilled(ImVec2(x0 - 6, y - 20), ImVec2(x1 + 6, y + 8), IM_COL32(0, 0, 0, 120), 3.0f);
  draw->AddLine(ImVec2(x0, y), ImVec2(x1, y), IM_COL32(255, 255, 255, 255), 3.0f);
  draw->AddLine(ImVec2(x0, y - 5), ImVec2(x0, y + 4), IM_COL32(255, 255, 255, 255), 2.0f);
  draw->AddLine(ImVec2(x1, y - 5), ImVec2(x1, y + 4), IM_COL32(255, 255, 255, 255), 2.0f);
  draw->AddText(ImVec2(x0, y - 18), IM_COL32(255, 255, 255, 255), bar.label.c_str());
}

void toolbar(const AppState& state, std::size_t i, std::vector<Intent>& out) {
  const SlideView& view = *state.views[i];
  const ScreenRect& r = view.rect();
  ImGui::SetNextWindowPos(ImVec2(static_cast<float>(r.x) + 8, static_cast<float>(r.y) + 8));
  ImGui::SetNextWindowBgAlpha(0.75f);
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                     ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                                     ImGuiWindowFlags_NoFocusOnAppearing;
  ImGui::Begin(window_name("toolbar", i).c_str(), nullptr, flags);
  const bool focused = state.views.size() > 1 && i == state.focused;
  ImGui::TextColored(focused ? ImVec4(1.0f, 0.85f, 0.2f, 1.0f) : ImVec4(1, 1, 1, 1), "%s", view.label().c_str());
  const bool has_scale = view.magnification().has_value();
  for (const double m : kPresets) {
    ImGui::SameLine();
    char name[16];
    std::snprintf(name, sizeof name, "%gx", m);
    if (!has_scale) ImGui::BeginDisabled();
    if (ImGui::SmallButton(name)) out.emplace_back(intent::SetMagnification{i, m});
    if (!has_scale) ImGui::EndDisabled();
  }
  ImGui::SameLine();
  if (ImGui::SmallButton("Fit")) out.emplace_back(intent::Fit{i});
  ImGui::SameLine();
  if (ImGui::SmallButton("Rotate")) out.emplace_back(intent::Rotate{i});
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("90 degrees clockwise (R)");
  if (state.views.size() > 1) {
    ImGui::SameLine();
    if (ImGui::SmallButton("Close")) out.emplace_back(intent::CloseView{i});
  }
  ImGui::End();
}

void status_line(const SlideView& view, std::size_t i) {
  const ScreenRect& r = view.rect();
  const ViewFrameInfo& f = view.last_frame();
  char text[256];
  int n = 0;
  if (const auto m = view.magnification()) {
    n = std::snprintf(text, sizeof text, "%.1fx", *m);
  } else {
    n = std::snprintf(text, sizeof text, "%.3f px/px", view.camera().scale);
  }
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  if (r.contains({mouse.x, mouse.y})) {
    const Vec2 p = view.camera().screen_to_slide({mouse.x - r.x, mouse.y - r.y});
    if (const auto mpp = view.slide().mpp()) {
      n +=
          std::snprintf(text + n, sizeof text - n, "   x %.1f %s, y %.1f %s", p.x * *mpp, kMicron, p.y * *mpp, kMicron);
    } else {
      n += std::snprintf(text + n, sizeof text - n, "   x %.0f px, y %.0f px", p.x, p.y);
    }
  }
  std::snprintf(text + n, sizeof text - n, "   level %d/%d   %zu tiles pending%s", f.target_level,
                view.layout().top_level(), f.engine.pending, f.sharp ? "" : "   sharpening");
  ImGui::SetNextWindowPos(ImVec2(static_cast<float>(r.x), static_cast<float>(r.y + r.height) - 26));
  ImGui::SetNextWindowSize(ImVec2(static_cast<float>(r.width), 26));
  ImGui::SetNextWindowBgAlpha(0.65f);
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                     ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoInputs |
                                     ImGuiWindowFlags_NoFocusOnAppearing;
  ImGui::Begin(window_name("status", i).c_str(), nullptr, flags);
  ImGui::TextUnformatted(text);
  ImGui::End();
}

void banner(const SlideView& view, std::size_t i) {
  const ProviderStatus& p = view.last_frame().engine.provider;
  if (p.last_error.empty()) return;
  const ScreenRect& r = view.rect();
  ImGui::SetNextWindowPos(ImVec2(static_cast<float>(r.x + r.width / 2), static_cast<float>(r.y) + 44), ImGuiCond_Always,
                          ImVec2(0.5f, 0.0f));
  ImGui::SetNextWindowSizeConstraints(ImVec2(0, 0), ImVec2(static_cast<float>(r.width) - 40, 200));
  ImGui::PushStyleColor(ImGuiCol_WindowBg, ImVec4(0.55f, 0.08f, 0.08f, 0.92f));
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                     ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings |
                                     ImGuiWindowFlags_NoInputs | ImGuiWindowFlags_NoFocusOnAppearing;
  ImGui::Begin(window_name("banner", i).c_str(), nullptr, flags);
  ImGui::TextWrapped("%s tiles: %s%s", p.reachable ? "Some" : "Server unreachable;", p.last_error.c_str(),
                     p.failed > 0 ? " (retrying)" : "");
  ImGui::End();
  ImGui::PopStyleColor();
}

}  // namespace

ScaleBar scale_bar(double microns_per_pixel, double target_pixels) {
  if (!(microns_per_pixel > 0) || !(target_pixels > 0)) return {};
  const double raw = microns_per_pixel * target_pixels;
  const double decade = std::pow(10.0, std::floor(std::log10(raw)));
  double length = decade;
  for (const double k : {2.0, 5.0}) {
    if (decade * k <= raw) length = decade * k;
  }
  char label[32];
  if (length >= 1000) {
    std::snprintf(label, sizeof label, "%g mm", length / 1000);
  } else {
    std::snprintf(label, sizeof label, "%g %s", length, kMicron);
  }
  return {length / microns_per_pixel, label};
}

void slide_view_panel(const AppState& state, std::size_t i, std::vector<Intent>& intents) {
  const SlideView& view = *state.views[i];
  const ScreenRect& r = view.rect();
  ImGui::SetNextWindowPos(ImVec2(static_cast<float>(r.x), static_cast<float>(r.y)));
  ImGui::SetNextWindowSize(ImVec2(static_cast<float>(r.width), static_cast<float>(r.height)));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, ImVec2(0, 0));
  ImGui::PushStyleVar(ImGuiStyleVar_WindowBorderSize, 0.0f);
  constexpr ImGuiWindowFlags flags = ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove |
                                     ImGuiWindowFlags_NoSavedSettings | ImGuiWindowFlags_NoBackground |
                                     ImGuiWindowFlags_NoBringToFrontOnFocus | ImGuiWindowFlags_NoScrollWithMouse |
                                     ImGuiWindowFlags_NoNav;
  ImGui::Begin(window_name("view", i).c_str(), nullptr, flags);
  handle_input(state, i, intents);
  draw_annotation_overlay(view, ImGui::GetWindowDrawList());
  draw_scale_bar(view);
  if (state.views.size() > 1) {
    ImDrawList* draw = ImGui::GetWindowDrawList();
    const ImU32 colour = i == state.focused ? IM_COL32(255, 215, 50, 200) : IM_COL32(90, 90, 90, 255);
    draw->AddRect(ImVec2(static_cast<float>(r.x) + 1, static_cast<float>(r.y) + 1),
                  ImVec2(static_cast<float>(r.x + r.width) - 1, static_cast<float>(r.y + r.height) - 1), colour, 0.0f,
                  0, 2.0f);
  }
  ImGui::End();
  ImGui::PopStyleVar(2);
  toolbar(state, i, intents);
  status_line(view, i);
  banner(view, i);
}

}  // namespace reread::viewer
