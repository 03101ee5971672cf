// The consultant's report as the viewer edits it: the case's original report beside the consult report
// (each field confirmed or revised), the blinded first read, annotation references in the text, the
// discrepancy the comparison proposes, and the draft update the autosave sends. Pure: no ImGui, GL or
// network; the app feeds it the server's JSON and sends what it produces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "case_record.h"

namespace reread::viewer {

enum class Phase {
  initial_impression,  // blinded first read: the impression first, the original's blinded fields hidden
  review,              // original and consult (and the impression, if any) side by side; the draft is edited
  signed_out,          // read-only; addenda only
};
enum class Verdict { none, confirmed, revised };
// Ordered from mildest to most serious.
enum class Discrepancy { concordant, minor, major };
const char* to_string(Discrepancy d);
std::optional<Discrepancy> parse_discrepancy(std::string_view s);

struct Biomarker {
  std::string name, result;
  bool operator==(const Biomarker&) const = default;
};

// One report field, both sides: what the panel draws per row.
struct FieldView {
  std::string name;              // report_field_names() spelling, e.g. "histologic_type"
  nlohmann::json original;       // text, biomarker rows, or null (absent, or hidden)
  bool original_hidden = false;  // withheld until the initial impression (blinded first read)
  Verdict verdict = Verdict::none;
  nlohmann::json revised;     // the consultant's value when revised, else null
  bool changed = false;       // revised and different from the original
  nlohmann::json impression;  // the recorded initial impression's value for this field, else null
};

// A reference to an annotation in a text: the token `[#ID]` and where it sits (bytes, UTF-8).
struct ReferenceSpan {
  std::int64_t annotation_id = 0;
  std::size_t begin = 0, end = 0;  // [begin, end)
  bool operator==(const ReferenceSpan&) const = default;
};
std::string reference_token(std::int64_t annotation_id);  // "[#123]"
std::vector<ReferenceSpan> references_in(std::string_view text);

// Whether a request is allowed, and if not, a sentence saying why (for a tooltip).
struct Permission {
  bool allowed = false;
  std::string reason;
  explicit operator bool() const { return allowed; }
};

// "Histologic type" for "histologic_type"; the key itself for an unknown one.
std::string field_label(std::string_view field);
// A field value as one line of text: text as is, biomarkers as "ER: positive; PR: negative", null as "".
std::string value_text(const nlohmann::json& value);
// The original report's fields a blinded first read withholds (with its full text).
const std::vector<std::string>& blinded_field_names();
// What an initial impression holds: the blinded fields and "comment".
const std::vector<std::string>& impression_keys();
// GET /api/cases/{id}/report as the model's value; the editable members go through apply_consult_update,
// so its checks apply. Throws std::runtime_error (RecordError for bad content) saying what is malformed.
ConsultReport parse_consult_report(const nlohmann::json& report_json);

// The edits the panel asks for, as values: the app hands each to ReportDraft::apply after the frame.
namespace report_edit {
struct Confirm {
  std::string field;
};
struct Revise {  // a text field's revised value (the whole text)
  std::string field, text;
};
struct ReviseBiomarkers {  // the biomarker rows as the consultant has them (rows being typed may be unnamed)
  std::vector<Biomarker> rows;
};
struct SetText {  // key: "free_text", "additional_studies" or "trial_comments"
  std::string key, text;
};
struct InsertReference {
  std::int64_t annotation_id = 0;
  std::string where = "free_text";     // a SetText key, or a revised text field's name
  std::size_t at = std::string::npos;  // byte offset (the cursor); npos: at the end
};
struct ChooseDiscrepancy {
  Discrepancy discrepancy = Discrepancy::concordant;
};
struct SetImpression {  // key: one of impression_keys()
  std::string key, text;
};
struct SetAddendumText {  // the addendum being written (signed phase)
  std::string text;
};
}  // namespace report_edit
using ReportEdit = std::variant<report_edit::Confirm, report_edit::Revise, report_edit::ReviseBiomarkers,
                                report_edit::SetText, report_edit::InsertReference, report_edit::ChooseDiscrepancy,
                                report_edit::SetImpression, report_edit::SetAddendumText>;

// The consult report of one case, the server's last word plus the consultant's edits on top.
//
// Saving: after edits, when dirty(), the app queues update_body() (a ConsultReportUpdate: only what differs
// from the server's last report; the app adds the version, e.g. If-Match: version()). Each body holds every
// unsaved edit, so a later body supersedes an earlier one. When the server answers a save, mark_saved(answer)
// keeps the edits made since; if dirty() is still true then, another save is due. apply_server_report()
// takes the server's report and drops the local edits (conflict resolved for the server, sign-out, addenda).
//
// Blinded first read: in Phase::initial_impression the consultant fills the impression; record_impression()
// gives the body to save. After the server's answer (mark_saved or apply_server_report) and the case fetched
// again (apply_case), the phase is review with the original shown.
//
// Edits return false, changing nothing, when refused: signed report, wrong phase, hidden original field,
// unknown field or key. annotation_refs follow the texts: every edit sets them to the references found in
// the free text, the revised fields, additional studies and trial comments, in that order.
class ReportDraft {
 public:
  // GET /api/cases/{id} and GET /api/cases/{id}/report. Throws std::runtime_error when malformed or when
  // they are of different cases.
  ReportDraft(const nlohmann::json& case_json, const nlohmann::json& report_json);

  // --- the server's answers ---
  // The case fetched again (e.g. with the original shown after the impression): edits are kept.
  void apply_case(const nlohmann::json& case_json);
  // A save's answer: the server state moves on, local edits made since stay. An answer older than the
  // report already known is ignored (returns false). A signed answer ends editing (edits dropped).
  bool mark_saved(const nlohmann::json& report_json);
  // The server's report replaces the draft, local edits included.
  void apply_server_report(const nlohmann::json& report_json);

  // --- reading ---
  Phase phase() const;
  std::int64_t case_id() const { return case_id_; }
  const std::string& accession() const { return accession_; }
  const std::string& question() const { return question_; }
  bool blinded_first_read() const { return blinded_; }
  bool original_hidden() const { return hidden_; }
  std::string original_full_text() const;                   // "" when absent or hidden
  std::int64_t version() const { return server_.version; }  // the server version the edits are based on

  std::vector<FieldView> fields() const;           // report_field_names() order
  FieldView field(const std::string& name) const;  // these three throw std::out_of_range for an unknown name
  Verdict verdict(const std::string& field) const;
  bool changed(const std::string& field) const;
  std::vector<Biomarker> biomarker_rows() const;        // the revised rows, else the original's
  const std::string& text(std::string_view key) const;  // a SetText key; throws std::out_of_range otherwise
  const std::vector<std::int64_t>& annotation_refs() const { return edits_.annotation_refs; }

  Discrepancy proposed() const;                    // from compare_reports: major, minor or concordant
  std::optional<Discrepancy> discrepancy() const;  // only what the consultant chose
  bool discrepancy_disagrees() const;              // chosen, and milder than proposed

  // The impression: the recorded one from the server, else the one being written.
  std::string impression(const std::string& key) const;
  bool impression_recorded() const { return server_.initial_impression.has_value(); }
  bool impression_pending() const { return impression_pending_; }  // recorded here, answer awaited

  const std::string& status() const { return server_.status; }
  const std::optional<std::string>& signed_by() const { return server_.signed_by; }
  const std::optional<std::string>& signed_at() const { return server_.signed_at; }
  const std::vector<ConsultReport::Addendum>& addenda() const { return server_.addenda; }
  const std::string& addendum_text() const { return addendum_text_; }

  // The consult report as it would be after saving (rows without a name left out).
  ConsultReport report() const;
  const ConsultReport& server_report() const { return server_; }

  // --- editing ---
  bool apply(const ReportEdit& edit);
  bool confirm(const std::string& field);
  bool revise(const std::string& field, const std::string& text);
  bool revise_biomarkers(const std::vector<Biomarker>& rows);
  bool set_text(std::string_view key, const std::string& text);
  // Inserts reference_token(id) at byte `at` (moved off a UTF-8 sequence, or past a token it falls into),
  // spaced from the words beside it.
  bool insert_reference(std::int64_t annotation_id, const std::string& where, std::size_t at = std::string::npos);
  bool choose_discrepancy(Discrepancy d);  // the model never chooses by itself
  bool set_impression(const std::string& key, const std::string& text);
  bool set_addendum_text(const std::string& text);

  // --- saving and requests ---
  bool dirty() const;
  nlohmann::json update_body() const;  // {} when nothing to save
  Permission can_record_impression() const;
  // {"initial_impression": {...}} (non-empty keys only); nullopt when not allowed. The impression is then
  // pending (not editable) until a server report holds it, or apply_server_report() says the server has none
  // (the save was refused: the impression can be edited and recorded again).
  std::optional<nlohmann::json> record_impression();
  Permission can_sign() const;
  Permission can_add_addendum() const;  // the addendum_text()

 private:
  Permission can_edit() const;
  bool field_hidden(const std::string& field) const;
  void follow_references();
  void take_report(ConsultReport r);  // the server's report; edits kept unless it is signed
  void take_server_metadata();

  std::int64_t case_id_ = 0;
  std::string accession_, question_;
  bool blinded_ = false, hidden_ = false;
  nlohmann::json original_ = nlohmann::json::object();
  ConsultReport server_;  // the server's last report
  ConsultReport edits_;   // server_ with the consultant's edits (biomarker rows as typed)
  nlohmann::json impression_draft_ = nlohmann::json::object();  // key -> text, before it is recorded
  bool impression_pending_ = false;
  std::string addendum_text_;
};

}  // namespace reread::viewer
