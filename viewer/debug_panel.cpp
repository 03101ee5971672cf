// Debug panel: a movable window of the engines' and renderers' counters.
#include "debug_panel.h"

#include <imgui.h>

namespace reread::viewer {
namespace {

double mb(std::size_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

}  // namespace

void debug_panel(const AppState& state) {
  if (!state.show_debug) return;
  ImGui::SetNextWindowPos(ImVec2(static_cast<float>(state.sidebar.x + state.sidebar.width + 12), 60.0f),
                          ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowBgAlpha(0.85f);
  ImGui::Begin("Debug", nullptr, ImGuiWindowFlags_AlwaysAutoResize | ImGuiWindowFlags_NoSavedSettings);
  ImGui::Text("frame %.1f ms (average %.1f ms)", state.frame_ms, state.frame_ms_average);
  for (std::size_t i = 0; i < state.views.size(); ++i) {
    const SlideView& v = *state.views[i];
    const ViewFrameInfo& f = v.last_frame();
    const EngineStats& e = f.engine;
    const ProviderStatus& p = e.provider;
    ImGui::Separator();
    ImGui::Text("view %zu: %s", i + 1, v.label().c_str());
    ImGui::Text("level %d of %d, %zu visible target tiles, %zu drawn, %zu uploads", f.target_level,
                v.layout().top_level(), f.visible_target, f.drawn, f.uploads);
    ImGui::Text("decoded cache  %.1f / %.1f MB (%zu tiles)", mb(e.decoded_bytes), mb(e.decoded_capacity),
                e.decoded_tiles);
    ImGui::Text("texture cache  %.1f / %.1f MB", mb(v.texture_bytes()), mb(v.texture_capacity()));
    ImGui::Text("pending %zu  %s%s", e.pending, f.sharp ? "sharp" : "sharpening", f.blank ? "  BLANK REGION" : "");
    ImGui::Text("provider: queued %zu, in flight %zu", p.queued, p.in_flight);
    ImGui::Text("  requested %llu, arrived %llu, failed %llu, cancelled %llu",
                static_cast<unsigned long long>(p.requested), static_cast<unsigned long long>(p.arrived),
                static_cast<unsigned long long>(p.failed), static_cast<unsigned long long>(p.cancelled));
    ImGui::Text("  %.1f MB received, %s", mb(p.bytes), p.reachable ? "reachable" : "UNREACHABLE");
    ImGui::Text("tiles arrived %llu, drawn %llu, never drawn %llu", static_cast<unsigned long long>(e.tiles_arrived),
                static_cast<unsigned long long>(e.tiles_drawn_ever),
                static_cast<unsigned long long>(e.tiles_never_drawn));
    if (!p.last_error.empty()) ImGui::TextWrapped("last error: %s", p.last_error.c_str());
  }
  ImGui::End();
}

}  // namespace reread::viewer
