// Consult report panel: a table of fields (original | impression | consult), the discrepancy, the texts with
// clickable annotation references, the status line, sign-out behind a confirmation, and addenda once signed.
#include "report_panel.h"

#include <imgui.h>
#include <imgui_stdlib.h>

#include <algorithm>
#include <cfloat>
#include <initializer_list>

namespace reread::viewer {

namespace {

const ImVec4 kChangedText(1.0f, 0.72f, 0.25f, 1.0f);
const ImVec4 kChangedCell(0.55f, 0.38f, 0.08f, 0.35f);
const ImVec4 kWarning(1.0f, 0.5f, 0.45f, 1.0f);
const ImVec4 kLink(0.45f, 0.72f, 1.0f, 1.0f);

ImVec4 disabled_colour() { return ImGui::GetStyleColorVec4(ImGuiCol_TextDisabled); }

void tooltip_when_hovered(const std::string& text) {
  if (!text.empty() && ImGui::IsItemHovered(ImGuiHoveredFlags_AllowWhenDisabled)) {
    ImGui::SetTooltip("%s", text.c_str());
  }
}

// Text that behaves as a link: underlined and a hand cursor on hover; true when clicked.
bool link(const std::string& text) {
  ImGui::PushStyleColor(ImGuiCol_Text, kLink);
  ImGui::TextUnformatted(text.c_str());
  ImGui::PopStyleColor();
  if (!ImGui::IsItemHovered()) return false;
  ImGui::SetMouseCursor(ImGuiMouseCursor_Hand);
  const ImVec2 min = ImGui::GetItemRectMin(), max = ImGui::GetItemRectMax();
  ImGui::GetWindowDrawList()->AddLine(ImVec2(min.x, max.y), max, ImGui::GetColorU32(kLink));
  return ImGui::IsMouseClicked(ImGuiMouseButton_Left);
}

// A field value read-only: text wrapped, biomarkers one row a line; greyed when `grey`.
void value_cell(const nlohmann::json& value, bool grey, const char* when_empty = "(not reported)") {
  if (grey) ImGui::PushStyleColor(ImGuiCol_Text, disabled_colour());
  if (value.is_array()) {
    if (value.empty()) ImGui::TextDisabled("%s", when_empty);
    for (const auto& row : value) ImGui::TextWrapped("%s", value_text(nlohmann::json::array({row})).c_str());
  } else {
    const std::string text = value_text(value);
    if (text.empty()) {
      ImGui::TextDisabled("%s", when_empty);
    } else {
      ImGui::TextWrapped("%s", text.c_str());
    }
  }
  if (grey) ImGui::PopStyleColor();
}

float text_box_height(int lines) {
  return ImGui::GetTextLineHeight() * static_cast<float>(lines) + ImGui::GetStyle().FramePadding.y * 2.0f;
}

// A multi-line text box over a copy of `text`: the change comes back as an intent, the draft holds the text.
bool text_box(const char* id, const std::string& text, int lines, std::string& edited, bool read_only = false,
              int* cursor = nullptr) {
  edited = text;
  ImGuiInputTextFlags flags = read_only ? ImGuiInputTextFlags_ReadOnly : ImGuiInputTextFlags_None;
  ImGuiInputTextCallback callback = nullptr;
  if (cursor != nullptr) {
    flags |= ImGuiInputTextFlags_CallbackAlways;
    callback = [](ImGuiInputTextCallbackData* data) {
      *static_cast<int*>(data->UserData) = data->CursorPos;
      return 0;
    };
  }
  return ImGui::InputTextMultiline(id, &edited, ImVec2(-FLT_MIN, text_box_height(lines)), flags, callback, cursor) &&
         !read_only;
}

std::string annotation_name(const ReportPanelInput& in, std::int64_t id) {
  for (const AnnotationChoice& a : in.annotations) {
    if (a.id == id) return reference_token(id) + (a.label.empty() ? "" : " " + a.label);
  }
  return reference_token(id) + " (annotation " + std::to_string(id) + ", not on this slide)";
}

// The references the report holds, as links that centre the view on their annotation.
void reference_links(const ReportPanelInput& in, std::vector<ReportIntent>& intents) {
  const auto& refs = in.draft.annotation_refs();
  if (refs.empty()) return;
  ImGui::TextDisabled("References:");
  for (const std::int64_t id : refs) {
    ImGui::PushID(static_cast<int>(id));
    ImGui::Indent();
    if (link(annotation_name(in, id))) intents.emplace_back(report_intent::CentreOnAnnotation{id});
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("centre the view on this annotation");
    ImGui::Unindent();
    ImGui::PopID();
  }
}

void heading(const char* text) {
  ImGui::Spacing();
  ImGui::TextUnformatted(text);
}

void header(const ReportPanelInput& in, std::vector<ReportIntent>& intents) {
  const ReportDraft& d = in.draft;
  ImGui::Text("Consult report  %s", d.accession().c_str());
  ImGui::SameLine();
  const Phase phase = d.phase();
  ImGui::TextDisabled("%s", phase == Phase::signed_out           ? "signed out"
                            : phase == Phase::initial_impression ? "blinded first read"
                                                                 : "draft");
  if (!d.question().empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, disabled_colour());
    ImGui::TextWrapped("Question: %s", d.question().c_str());
    ImGui::PopStyleColor();
  }
  if (!in.save_status.empty()) {
    ImGui::TextColored(in.save_trouble ? kWarning : disabled_colour(), "%s", in.save_status.c_str());
    ImGui::SameLine();
  }
  ImGui::BeginDisabled(phase == Phase::initial_impression);
  if (ImGui::SmallButton("Export PDF")) intents.emplace_back(report_intent::ExportPdf{});
  ImGui::EndDisabled();
  if (phase == Phase::initial_impression) tooltip_when_hovered("the report prints after your initial impression");
  ImGui::Separator();
}

bool begin_fields_table(const char* id, bool with_impression, const char* consult_title) {
  constexpr ImGuiTableFlags flags = ImGuiTableFlags_BordersInnerH | ImGuiTableFlags_BordersInnerV |
                                    ImGuiTableFlags_RowBg | ImGuiTableFlags_Resizable |
                                    ImGuiTableFlags_SizingStretchProp;
  if (!ImGui::BeginTable(id, with_impression ? 4 : 3, flags)) return false;
  ImGui::TableSetupColumn("Field", ImGuiTableColumnFlags_WidthStretch, 0.55f);
  ImGui::TableSetupColumn("Original", ImGuiTableColumnFlags_WidthStretch, 1.0f);
  if (with_impression) ImGui::TableSetupColumn("Initial impression", ImGuiTableColumnFlags_WidthStretch, 0.8f);
  ImGui::TableSetupColumn(consult_title, ImGuiTableColumnFlags_WidthStretch, 1.3f);
  ImGui::TableHeadersRow();
  return true;
}

void field_name_cell(const FieldView& f) {
  ImGui::TableNextColumn();
  ImGui::TextUnformatted(field_label(f.name).c_str());
  if (f.changed) ImGui::TextColored(kChangedText, "changed");
}

void original_cell(const FieldView& f) {
  ImGui::TableNextColumn();
  if (f.original_hidden) {
    ImGui::PushStyleColor(ImGuiCol_Text, disabled_colour());
    ImGui::TextWrapped("hidden until your initial impression");
    ImGui::PopStyleColor();
  } else {
    value_cell(f.original, true);
  }
}

// Biomarker rows edited as rows: name and result side by side, a row removed or added.
void biomarker_editor(const ReportDraft& d, std::vector<ReportIntent>& intents) {
  std::vector<Biomarker> rows = d.biomarker_rows();
  bool edited = false;
  std::size_t remove = rows.size();
  const float width = ImGui::GetContentRegionAvail().x;
  const float button = ImGui::GetFrameHeight();
  const float spacing = ImGui::GetStyle().ItemSpacing.x;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ImGui::PushID(static_cast<int>(i));
    ImGui::SetNextItemWidth((width - button - 2 * spacing) * 0.4f);
    edited |= ImGui::InputTextWithHint("##name", "marker", &rows[i].name);
    ImGui::SameLine();
    ImGui::SetNextItemWidth((width - button - 2 * spacing) * 0.6f);
    edited |= ImGui::InputTextWithHint("##result", "result", &rows[i].result);
    ImGui::SameLine();
    if (ImGui::Button("x", ImVec2(button, 0))) remove = i;
    tooltip_when_hovered("remove this row");
    ImGui::PopID();
  }
  if (remove < rows.size()) {
    rows.erase(rows.begin() + static_cast<std::ptrdiff_t>(remove));
    edited = true;
  }
  if (ImGui::SmallButton("+ row")) {
    rows.push_back({});
    edited = true;
  }
  if (edited) intents.emplace_back(ReportEdit{report_edit::ReviseBiomarkers{std::move(rows)}});
}

void consult_cell_editable(const ReportDraft& d, const FieldView& f, std::vector<ReportIntent>& intents) {
  ImGui::TableNextColumn();
  if (f.changed) ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg, ImGui::GetColorU32(kChangedCell));
  const bool biomarkers = f.name == "biomarkers";
  ImGui::BeginDisabled(f.original_hidden);
  if (ImGui::RadioButton("Confirm", f.verdict == Verdict::confirmed) && f.verdict != Verdict::confirmed) {
    intents.emplace_back(ReportEdit{report_edit::Confirm{f.name}});
  }
  ImGui::SameLine();
  if (ImGui::RadioButton("Revise", f.verdict == Verdict::revised) && f.verdict != Verdict::revised) {
    // The revision starts from the original's value, to be edited.
    if (biomarkers) {
      intents.emplace_back(ReportEdit{report_edit::ReviseBiomarkers{d.biomarker_rows()}});
    } else {
      intents.emplace_back(ReportEdit{report_edit::Revise{f.name, value_text(f.original)}});
    }
  }
  ImGui::EndDisabled();
  if (f.original_hidden) tooltip_when_hovered("the original is shown once the case is loaded again");
  if (!biomarkers && f.impression.is_string() && !(f.revised.is_string() && f.revised == f.impression)) {
    ImGui::SameLine();
    if (ImGui::SmallButton("Use impression")) {
      intents.emplace_back(ReportEdit{report_edit::Revise{f.name, f.impression.get<std::string>()}});
    }
    tooltip_when_hovered("revise this field to your initial impression");
  }
  if (f.verdict != Verdict::revised) return;
  if (biomarkers) {
    biomarker_editor(d, intents);
    return;
  }
  std::string edited;
  if (text_box("##revised", f.revised.is_string() ? f.revised.get<std::string>() : std::string(), 2, edited)) {
    intents.emplace_back(ReportEdit{report_edit::Revise{f.name, edited}});
  }
}

void consult_cell_read_only(const FieldView& f) {
  ImGui::TableNextColumn();
  if (f.changed) ImGui::TableSetBgColor(ImGuiTableBgTarget_CellBg, ImGui::GetColorU32(kChangedCell));
  switch (f.verdict) {
    case Verdict::none:
      ImGui::TextDisabled("not reviewed");
      break;
    case Verdict::confirmed:
      ImGui::TextDisabled("confirmed");
      break;
    case Verdict::revised:
      ImGui::TextDisabled("revised:");
      value_cell(f.revised, false, "(empty)");
      break;
  }
}

void discrepancy_section(const ReportDraft& d, bool editable, std::vector<ReportIntent>& intents) {
  heading("Discrepancy");
  const Discrepancy proposed = d.proposed();
  const auto chosen = d.discrepancy();
  if (!editable) {
    ImGui::Text("%s", chosen ? to_string(*chosen) : "not chosen");
    ImGui::SameLine();
    ImGui::TextDisabled("(proposed: %s)", to_string(proposed));
    return;
  }
  for (const Discrepancy option : {Discrepancy::concordant, Discrepancy::minor, Discrepancy::major}) {
    const std::string label = std::string(to_string(option)) + (option == proposed ? " (proposed)" : "");
    if (ImGui::RadioButton(label.c_str(), chosen == option) && chosen != option) {
      intents.emplace_back(ReportEdit{report_edit::ChooseDiscrepancy{option}});
    }
    if (option != Discrepancy::major) ImGui::SameLine();
  }
  if (!chosen) {
    ImGui::TextDisabled("Not chosen yet: the comparison proposes %s.", to_string(proposed));
  } else if (d.discrepancy_disagrees()) {
    ImGui::PushStyleColor(ImGuiCol_Text, kWarning);
    ImGui::TextWrapped("The chosen category (%s) is milder than the proposed one (%s)%s.", to_string(*chosen),
                       to_string(proposed),
                       proposed == Discrepancy::major ? ": diagnosis, grade or stage was changed" : "");
    ImGui::PopStyleColor();
  }
}

void original_full_text(const ReportDraft& d) {
  if (!ImGui::CollapsingHeader("Original report text")) return;
  ImGui::PushStyleColor(ImGuiCol_Text, disabled_colour());
  if (d.original_hidden()) {
    ImGui::TextWrapped("hidden until your initial impression");
  } else {
    const std::string text = d.original_full_text();
    ImGui::TextWrapped("%s", text.empty() ? "(none)" : text.c_str());
  }
  ImGui::PopStyleColor();
}

void impression_phase(const ReportPanelInput& in, std::vector<ReportIntent>& intents) {
  const ReportDraft& d = in.draft;
  ImGui::PushStyleColor(ImGuiCol_Text, kChangedText);
  ImGui::TextWrapped(
      "Blinded first read: record your initial impression before the original diagnosis, histologic type, grade "
      "and stage are shown.");
  ImGui::PopStyleColor();
  const bool pending = d.impression_pending();
  if (begin_fields_table("impression", false, "Your initial impression")) {
    for (const FieldView& f : d.fields()) {
      ImGui::TableNextRow();
      ImGui::PushID(f.name.c_str());
      field_name_cell(f);
      original_cell(f);
      ImGui::TableNextColumn();
      const auto& keys = impression_keys();
      if (std::find(keys.begin(), keys.end(), f.name) != keys.end()) {
        std::string edited;
        if (text_box("##impression", d.impression(f.name), 2, edited, pending)) {
          intents.emplace_back(ReportEdit{report_edit::SetImpression{f.name, edited}});
        }
      } else {
        ImGui::TextDisabled("reviewed after the impression");
      }
      ImGui::PopID();
    }
    ImGui::EndTable();
  }
  heading("Comment");
  std::string edited;
  if (text_box("##impression-comment", d.impression("comment"), 3, edited, pending)) {
    intents.emplace_back(ReportEdit{report_edit::SetImpression{"comment", edited}});
  }
  original_full_text(d);
  ImGui::Spacing();
  if (pending) {
    ImGui::TextDisabled("Recording your initial impression...");
    return;
  }
  const Permission can = d.can_record_impression();
  ImGui::BeginDisabled(!can);
  if (ImGui::Button("Record initial impression")) intents.emplace_back(report_intent::RecordImpression{});
  ImGui::EndDisabled();
  tooltip_when_hovered(can ? "saves the impression; the original report is shown after it" : can.reason);
}

void sign_out(const ReportPanelInput& in, std::vector<ReportIntent>& intents) {
  const ReportDraft& d = in.draft;
  const Permission can = d.can_sign();
  ImGui::BeginDisabled(!can || in.request_pending);
  if (ImGui::Button("Sign out...")) ImGui::OpenPopup("Sign out");
  ImGui::EndDisabled();
  tooltip_when_hovered(!can ? can.reason : in.request_pending ? "a request is on its way" : "");
  if (!can) {
    ImGui::SameLine();
    ImGui::TextDisabled("%s", can.reason.c_str());
  }
  if (ImGui::BeginPopupModal("Sign out", nullptr, ImGuiWindowFlags_AlwaysAutoResize)) {
    ImGui::Text("Sign out the consult report for %s?", d.accession().c_str());
    ImGui::TextUnformatted("It cannot be edited afterwards; addenda can be added.");
    ImGui::Spacing();
    if (ImGui::Button("Sign out")) {
      intents.emplace_back(report_intent::Sign{});
      ImGui::CloseCurrentPopup();
    }
    ImGui::SameLine();
    if (ImGui::Button("Cancel")) ImGui::CloseCurrentPopup();
    ImGui::EndPopup();
  }
}

void free_text_editor(const ReportPanelInput& in, std::vector<ReportIntent>& intents) {
  const ReportDraft& d = in.draft;
  heading("Comment (free text)");
  // The cursor is remembered with the window's ImGui state, so a reference goes where the user was typing.
  ImGuiStorage* storage = ImGui::GetStateStorage();
  const ImGuiID cursor_key = ImGui::GetID("free-text-cursor");
  int cursor = storage->GetInt(cursor_key, -1);
  std::string edited;
  if (text_box("##free_text", d.text("free_text"), 6, edited, false, &cursor)) {
    intents.emplace_back(ReportEdit{report_edit::SetText{"free_text", edited}});
  }
  storage->SetInt(cursor_key, cursor);
  ImGui::SetNextItemWidth(std::min(ImGui::GetContentRegionAvail().x, 320.0f));
  if (ImGui::BeginCombo("Insert reference", "annotation...")) {
    if (in.annotations.empty()) ImGui::TextDisabled("no annotations on this slide");
    for (const AnnotationChoice& a : in.annotations) {
      ImGui::PushID(static_cast<int>(a.id));
      if (ImGui::Selectable(annotation_name(in, a.id).c_str())) {
        const std::size_t at = cursor < 0 ? std::string::npos : static_cast<std::size_t>(cursor);
        intents.emplace_back(ReportEdit{report_edit::InsertReference{a.id, "free_text", at}});
      }
      ImGui::PopID();
    }
    ImGui::EndCombo();
  }
  reference_links(in, intents);
}

// The fields, original beside consult (and the initial impression between them once recorded); `consult`
// draws the last cell of each row.
template <class ConsultCell>
void fields_table(const ReportDraft& d, ConsultCell consult) {
  if (begin_fields_table("fields", d.impression_recorded(), "Consult")) {
    for (const FieldView& f : d.fields()) {
      ImGui::TableNextRow();
      ImGui::PushID(f.name.c_str());
      field_name_cell(f);
      original_cell(f);
      if (d.impression_recorded()) {
        ImGui::TableNextColumn();
        value_cell(f.impression, false, "-");
      }
      consult(f);
      ImGui::PopID();
    }
    ImGui::EndTable();
  }
}

void review_phase(const ReportPanelInput& in, std::vector<ReportIntent>& intents) {
  const ReportDraft& d = in.draft;
  if (d.original_hidden()) ImGui::TextDisabled("Impression recorded; loading the original report...");
  fields_table(d, [&](const FieldView& f) { consult_cell_editable(d, f, intents); });
  if (d.impression_recorded() && !d.impression("comment").empty()) {
    ImGui::TextDisabled("Initial impression comment: %s", d.impression("comment").c_str());
  }
  original_full_text(d);
  discrepancy_section(d, true, intents);
  for (const auto& [key, title] :
       {std::pair{"additional_studies", "Additional studies"}, std::pair{"trial_comments", "Trial comments"}}) {
    heading(title);
    std::string edited;
    if (text_box((std::string("##") + key).c_str(), d.text(key), 2, edited)) {
      intents.emplace_back(ReportEdit{report_edit::SetText{key, edited}});
    }
  }
  free_text_editor(in, intents);
  ImGui::Separator();
  sign_out(in, intents);
}

void signed_phase(const ReportPanelInput& in, std::vector<ReportIntent>& intents) {
  const ReportDraft& d = in.draft;
  ImGui::Text("Signed out by %s", d.signed_by().value_or("?").c_str());
  ImGui::SameLine();
  ImGui::TextDisabled("at %s", d.signed_at().value_or("?").c_str());
  fields_table(d, [](const FieldView& f) { consult_cell_read_only(f); });
  original_full_text(d);
  discrepancy_section(d, false, intents);
  for (const auto& [key, title] :
       {std::pair{"additional_studies", "Additional studies"}, std::pair{"trial_comments", "Trial comments"},
        std::pair{"free_text", "Comment (free text)"}}) {
    if (d.text(key).empty()) continue;
    heading(title);
    ImGui::TextWrapped("%s", d.text(key).c_str());
  }
  reference_links(in, intents);
  ImGui::Separator();
  heading("Addenda");
  if (d.addenda().empty()) ImGui::TextDisabled("none");
  for (const auto& a : d.addenda()) {
    ImGui::TextDisabled("%s, %s", a.author.c_str(), a.signed_at.c_str());
    ImGui::Indent();
    ImGui::TextWrapped("%s", a.text.c_str());
    ImGui::Unindent();
  }
  std::string edited;
  if (text_box("##addendum", d.addendum_text(), 3, edited, in.request_pending)) {
    intents.emplace_back(ReportEdit{report_edit::SetAddendumText{edited}});
  }
  const Permission can = d.can_add_addendum();
  ImGui::BeginDisabled(!can || in.request_pending);
  if (ImGui::Button("Add addendum")) intents.emplace_back(report_intent::AddAddendum{d.addendum_text()});
  ImGui::EndDisabled();
  tooltip_when_hovered(!can ? can.reason : in.request_pending ? "a request is on its way" : "");
}

}  // namespace

void report_panel(const ReportPanelInput& in, std::vector<ReportIntent>& intents) {
  ImGui::PushID("report");
  header(in, intents);
  switch (in.draft.phase()) {
    case Phase::initial_impression:
      impression_phase(in, intents);
      break;
    case Phase::review:
      review_phase(in, intents);
      break;
    case Phase::signed_out:
      signed_phase(in, intents);
      break;
  }
  ImGui::PopID();
}

}  // namespace reread::viewer
