// Annotation tools, classes, list, properties, files and the outbox's questions, in ImGui.
#include "annotation_panel.h"

#include <imgui.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <set>

namespace reread::viewer {
namespace {

ImVec4 to_imvec(const std::string& hex) {
  const std::uint32_t c = parse_annotation_color(hex);
  return ImVec4(static_cast<float>(c >> 24) / 255.0f, static_cast<float>((c >> 16) & 0xff) / 255.0f,
                static_cast<float>((c >> 8) & 0xff) / 255.0f, 1.0f);
}

void swatch(const std::string& hex) {
  ImGui::ColorButton("##swatch", to_imvec(hex), ImGuiColorEditFlags_NoTooltip | ImGuiColorEditFlags_NoDragDrop,
                     ImVec2(12, 12));
}

std::string measurement_text(const AnnotationRow& row) {
  char text[64] = "";
  if (row.area_mm2) {
    std::snprintf(text, sizeof text, "%.4f mm\xc2\xb2, %.0f \xc2\xb5m", *row.area_mm2, row.length_um.value_or(0));
  } else if (row.length_um) {
    std::snprintf(text, sizeof text, "%.1f \xc2\xb5m", *row.length_um);
  }
  return text;
}

// A text field whose buffer survives frames; `key` resets it when another annotation is selected.
struct Field {
  std::string key;
  std::array<char, 512> text{};
  void reset(const std::string& k, const std::string& value) {
    if (key == k) return;
    key = k;
    std::snprintf(text.data(), text.size(), "%s", value.c_str());
  }
};

void tools_row(const AppState& state, std::vector<Intent>& intents) {
  static constexpr std::pair<Tool, const char*> kTools[] = {
      {Tool::select, "Select"}, {Tool::point, "Point"},     {Tool::ruler, "Ruler"},      {Tool::rectangle, "Rect"},
      {Tool::ellipse, "Ellipse"}, {Tool::polygon, "Polygon"}, {Tool::freehand, "Freehand"}};
  int n = 0;
  for (const auto& [tool, name] : kTools) {
    if (n++ % 4 != 0) ImGui::SameLine();
    const bool on = state.tool == tool;
    if (on) ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
    if (ImGui::SmallButton(name)) intents.emplace_back(intent::SetTool{tool});
    if (on) ImGui::PopStyleColor();
  }
}

void class_choice(const AppState& state, std::vector<Intent>& intents) {
  if (!state.open_case) return;
  const auto& classes = state.open_case->annotation_classes;
  const char* current = state.annotation_class.empty() ? "(no class)" : state.annotation_class.c_str();
  if (ImGui::BeginCombo("class", current)) {
    if (ImGui::Selectable("(no class)", state.annotation_class.empty())) {
      intents.emplace_back(intent::SetAnnotationClass{"", "#ffff00"});
    }
    for (const AnnotationClass& k : classes) {
      ImGui::PushID(k.name.c_str());
      swatch(k.color);
      ImGui::SameLine();
      if (ImGui::Selectable(k.name.c_str(), k.name == state.annotation_class)) {
        intents.emplace_back(intent::SetAnnotationClass{k.name, k.color.empty() ? "#ffff00" : k.color});
      }
      ImGui::PopID();
    }
    ImGui::EndCombo();
  }
}

void outbox_questions(const AppRecord& record, std::vector<Intent>& intents) {
  for (const auto& c : record.conflicts()) {
    ImGui::PushID(&c);
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.7f, 0.3f, 1.0f));
    ImGui::TextWrapped("Conflict: %s was changed on the server since your edit.", c.description.c_str());
    ImGui::PopStyleColor();
    const auto who = [](const nlohmann::json& j) {
      if (!j.is_object()) return std::string("?");
      std::string s = j.value("label", std::string());
      if (j.contains("version") && j["version"].is_number_integer()) s += "  v" + std::to_string(j["version"].get<std::int64_t>());
      if (j.contains("author") && j["author"].is_string()) s += "  by " + j["author"].get<std::string>();
      if (j.contains("updated_at") && j["updated_at"].is_string()) s += "  " + j["updated_at"].get<std::string>();
      return s;
    };
    ImGui::TextWrapped("Yours: %s", c.conflict.mine.is_object() ? c.conflict.mine.value("label", std::string("(your edit)")).c_str() : "(your edit)");
    ImGui::TextWrapped("Server's: %s", who(c.conflict.theirs).c_str());
    if (ImGui::SmallButton("Keep mine")) intents.emplace_back(intent::ResolveConflict{c.conflict.item, true});
    ImGui::SameLine();
    if (ImGui::SmallButton("Take the server's")) intents.emplace_back(intent::ResolveConflict{c.conflict.item, false});
    ImGui::PopID();
  }
  for (const Rejected& r : record.rejected()) {
    ImGui::PushID(static_cast<int>(r.id));
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1.0f, 0.5f, 0.45f, 1.0f));
    ImGui::TextWrapped("Refused (%d): %s", r.status, r.message.c_str());
    ImGui::PopStyleColor();
    if (ImGui::SmallButton("Dismiss")) intents.emplace_back(intent::DismissRejected{r.id});
    ImGui::PopID();
  }
}

}  // namespace

void annotation_panel(const AppState& state, std::vector<Intent>& intents) {
  if (state.record == nullptr) {
    ImGui::TextDisabled("annotations are kept on a server");
    return;
  }
  const SlideView* view = state.views.empty() ? nullptr : state.views[state.focused].get();
  const SlideView::Annotations* a = view != nullptr ? view->annotations() : nullptr;
  const AppRecord& record = *state.record;
  const std::string status = record.save_status();
  if (record.save_trouble()) {
    ImGui::TextColored(ImVec4(1.0f, 0.7f, 0.3f, 1.0f), "%s", status.c_str());
  } else {
    ImGui::TextDisabled("%s", status.c_str());
  }
  outbox_questions(record, intents);
  if (record.draft() && ImGui::Button(state.show_report ? "Hide report" : "Consult report...")) {
    intents.emplace_back(intent::ShowReport{!state.show_report});
  }
  if (a == nullptr) {
    ImGui::TextDisabled("open a slide of a case to annotate it");
    return;
  }
  const AnnotationDocument& doc = *a->document;
  tools_row(state, intents);
  class_choice(state, intents);
  if (!doc.can_undo()) ImGui::BeginDisabled();
  if (ImGui::SmallButton("Undo")) intents.emplace_back(intent::Undo{});
  if (!doc.can_undo()) ImGui::EndDisabled();
  ImGui::SameLine();
  if (!doc.can_redo()) ImGui::BeginDisabled();
  if (ImGui::SmallButton("Redo")) intents.emplace_back(intent::Redo{});
  if (!doc.can_redo()) ImGui::EndDisabled();

  // Show or hide by class: the case's classes and any others in use.
  std::set<std::string> classes;
  if (state.open_case) {
    for (const AnnotationClass& k : state.open_case->annotation_classes) classes.insert(k.name);
  }
  for (const ViewerAnnotation& an : doc.all()) classes.insert(an.class_name);
  for (const std::string& name : classes) {
    bool on = doc.class_visible(name);
    ImGui::PushID(name.c_str());
    if (ImGui::Checkbox(name.empty() ? "(no class)" : name.c_str(), &on)) {
      intents.emplace_back(intent::ShowAnnotationClass{name, on});
    }
    ImGui::PopID();
  }

  // Measuring every annotation is done once per change of the document, not every frame, and only the rows
  // in sight are laid out: a slide may hold ten thousand.
  static const AnnotationDocument* rows_of = nullptr;
  static std::uint64_t rows_revision = 0;
  static std::vector<AnnotationRow> rows;
  if (rows_of != &doc || rows_revision != doc.revision()) {
    const auto mpp = view->slide().mpp();
    rows = doc.rows(view->slide().mpp_x.value_or(mpp.value_or(0)), view->slide().mpp_y.value_or(mpp.value_or(0)));
    rows_of = &doc;
    rows_revision = doc.revision();
  }
  ImGui::Text("%zu annotations", rows.size());
  if (ImGui::BeginChild("##annotation-list", ImVec2(0, 180), true)) {
    ImGuiListClipper clipper;
    clipper.Begin(static_cast<int>(rows.size()));
    while (clipper.Step()) {
    for (int r = clipper.DisplayStart; r < clipper.DisplayEnd; ++r) {
      const AnnotationRow& row = rows[static_cast<std::size_t>(r)];
      ImGui::PushID(row.uid.c_str());
      swatch(row.color);
      ImGui::SameLine();
      const std::string name = (row.label.empty() ? (row.class_name.empty() ? std::string(row.shape) : row.class_name)
                                                  : row.label) +
                               "  " + measurement_text(row);
      if (!row.visible) ImGui::BeginDisabled();
      if (ImGui::Selectable(name.c_str(), row.uid == doc.selected())) intents.emplace_back(intent::SelectAnnotation{row.uid});
      if (!row.visible) ImGui::EndDisabled();
      ImGui::PopID();
    }
    }
  }
  ImGui::EndChild();

  // The selected annotation's label, comment and class.
  if (const ViewerAnnotation* s = doc.find(doc.selected())) {
    static Field label, comment;
    label.reset(s->uid + "#" + std::to_string(doc.revision()), s->label);
    comment.reset(s->uid + "#" + std::to_string(doc.revision()), s->comment);
    bool commit = false;
    ImGui::InputText("label", label.text.data(), label.text.size());
    commit = commit || ImGui::IsItemDeactivatedAfterEdit();
    ImGui::InputTextMultiline("comment", comment.text.data(), comment.text.size(), ImVec2(0, 48));
    commit = commit || ImGui::IsItemDeactivatedAfterEdit();
    std::string class_name = s->class_name, color = s->color;
    if (state.open_case && ImGui::BeginCombo("its class", class_name.empty() ? "(no class)" : class_name.c_str())) {
      for (const AnnotationClass& k : state.open_case->annotation_classes) {
        if (ImGui::Selectable(k.name.c_str(), k.name == class_name)) {
          class_name = k.name;
          color = k.color;
          commit = true;
        }
      }
      ImGui::EndCombo();
    }
    if (commit) intents.emplace_back(intent::EditAnnotation{s->uid, label.text.data(), comment.text.data(), class_name, color});
    if (ImGui::SmallButton("Delete")) intents.emplace_back(intent::DeleteAnnotation{s->uid});
  }

  // Files through the server: QuPath GeoJSON, ASAP XML, ImageScope XML.
  static std::array<char, 512> path{};
  static int format = 0;
  static constexpr const char* kFormats[] = {"geojson", "asap", "imagescope"};
  ImGui::InputText("file", path.data(), path.size());
  ImGui::Combo("format", &format, kFormats, 3);
  if (ImGui::SmallButton("Import") && path[0] != '\0') intents.emplace_back(intent::ImportAnnotations{path.data()});
  ImGui::SameLine();
  if (ImGui::SmallButton("Export") && path[0] != '\0') {
    intents.emplace_back(intent::ExportAnnotations{kFormats[format], path.data()});
  }
  if (!state.file_message.empty()) ImGui::TextWrapped("%s", state.file_message.c_str());
}

}  // namespace reread::viewer
