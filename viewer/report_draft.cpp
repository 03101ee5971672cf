// The consult report draft: the server's report, the consultant's edits over it, and the update between.
#include "report_draft.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include "annotation_geometry.h"

namespace reread::viewer {

using json = nlohmann::json;

namespace {

constexpr std::string_view kTextKeys[] = {"free_text", "additional_studies", "trial_comments"};

bool is_text_key(std::string_view key) {
  return std::find(std::begin(kTextKeys), std::end(kTextKeys), key) != std::end(kTextKeys);
}

bool is_field(std::string_view name) {
  const auto& names = report_field_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; });
}

[[noreturn]] void malformed(const std::string& what) { throw std::runtime_error(what); }

std::string text_member(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return {};
  if (!j[key].is_string()) malformed(where + "." + key + " must be text, got " + j[key].dump());
  return j[key].get<std::string>();
}

std::optional<std::string> optional_text_member(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return text_member(j, key, where);
}

std::int64_t int_member(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return 0;
  if (!j[key].is_number_integer()) malformed(where + "." + key + " must be an integer, got " + j[key].dump());
  return j[key].get<std::int64_t>();
}

bool bool_member(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null()) return false;
  if (!j[key].is_boolean()) malformed(where + "." + key + " must be true or false, got " + j[key].dump());
  return j[key].get<bool>();
}

json field_review(const ConsultReport& r, const std::string& name) {
  return r.fields.contains(name) ? r.fields[name] : json(nullptr);
}

// The texts references may sit in, in the order annotation_refs lists them.
std::vector<std::string_view> referencing_texts(const ConsultReport& r) {
  std::vector<std::string_view> texts = {r.free_text};
  for (const std::string& name : report_field_names()) {
    if (!r.fields.contains(name) || r.fields[name]["verdict"] != "revised") continue;
    const json& v = r.fields[name]["value"];
    if (v.is_string()) texts.push_back(v.get_ref<const std::string&>());
    if (!v.is_array()) continue;
    for (const json& row : v) {
      for (const char* part : {"name", "result"}) {
        if (row.contains(part) && row[part].is_string()) texts.push_back(row[part].get_ref<const std::string&>());
      }
    }
  }
  texts.push_back(r.additional_studies);
  texts.push_back(r.trial_comments);
  return texts;
}

std::vector<std::int64_t> references_of(const ConsultReport& r) {
  std::vector<std::int64_t> ids;
  for (const std::string_view text : referencing_texts(r)) {
    for (const ReferenceSpan& span : references_in(text)) {
      if (std::find(ids.begin(), ids.end(), span.annotation_id) == ids.end()) ids.push_back(span.annotation_id);
    }
  }
  return ids;
}

std::string with_reference(std::string text, std::int64_t annotation_id, std::size_t at) {
  at = std::min(at, text.size());
  while (at > 0 && at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
  for (const ReferenceSpan& span : references_in(text)) {
    if (span.begin < at && at < span.end) at = span.end;
  }
  std::string token = reference_token(annotation_id);
  const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  if (at > 0 && !space(text[at - 1]) && text[at - 1] != '(') token.insert(token.begin(), ' ');
  if (at < text.size() && !space(text[at]) && std::string_view(".,;:!?)]").find(text[at]) == std::string_view::npos) {
    token += ' ';
  }
  text.insert(at, token);
  return text;
}

json biomarker_json(const std::vector<Biomarker>& rows) {
  json a = json::array();
  for (const Biomarker& b : rows) a.push_back({{"name", b.name}, {"result", b.result}});
  return a;
}

}  // namespace

const char* to_string(Discrepancy d) {
  switch (d) {
    case Discrepancy::concordant:
      return "concordant";
    case Discrepancy::minor:
      return "minor";
    case Discrepancy::major:
      return "major";
  }
  return "concordant";
}

std::optional<Discrepancy> parse_discrepancy(std::string_view s) {
  if (s == "concordant") return Discrepancy::concordant;
  if (s == "minor") return Discrepancy::minor;
  if (s == "major") return Discrepancy::major;
  return std::nullopt;
}

std::string reference_token(std::int64_t annotation_id) { return "[#" + std::to_string(annotation_id) + "]"; }

std::vector<ReferenceSpan> references_in(std::string_view text) {
  std::vector<ReferenceSpan> spans;
  std::size_t from = 0;
  while ((from = text.find("[#", from)) != std::string_view::npos) {
    std::size_t digits_end = from + 2;
    while (digits_end < text.size() && std::isdigit(static_cast<unsigned char>(text[digits_end])) != 0) ++digits_end;
    std::int64_t id = 0;
    const char* first = text.data() + from + 2;
    const char* last = text.data() + digits_end;
    if (digits_end < text.size() && text[digits_end] == ']' && last > first &&
        std::from_chars(first, last, id).ec == std::errc() && id > 0) {
      spans.push_back({id, from, digits_end + 1});
      from = digits_end + 1;
    } else {
      from += 2;
    }
  }
  return spans;
}

std::string field_label(std::string_view field) {
  if (field == "diagnosis") return "Diagnosis";
  if (field == "histologic_type") return "Histologic type";
  if (field == "grade") return "Grade";
  if (field == "stage") return "Stage";
  if (field == "margins") return "Margins";
  if (field == "lymph_nodes") return "Lymph nodes";
  if (field == "biomarkers") return "Biomarkers";
  if (field == "comment") return "Comment";
  return std::string(field);
}

std::string value_text(const json& value) {
  if (value.is_null()) return {};
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_array()) return value.dump();
  std::string out;
  for (const json& row : value) {
    if (!out.empty()) out += "; ";
    const std::string name = row.is_object() ? row.value("name", std::string()) : row.dump();
    const std::string result = row.is_object() ? row.value("result", std::string()) : std::string();
    out += result.empty() ? name : name + ": " + result;
  }
  return out;
}

const std::vector<std::string>& blinded_field_names() {
  static const std::vector<std::string> names = {"diagnosis", "histologic_type", "grade", "stage"};
  return names;
}

const std::vector<std::string>& impression_keys() {
  static const std::vector<std::string> keys = {"diagnosis", "histologic_type", "grade", "stage", "comment"};
  return keys;
}

ConsultReport parse_consult_report(const json& j) {
  const std::string where = "consult report";
  if (!j.is_object()) malformed("the consult report is not a JSON object");
  ConsultReport r;
  json editable = json::object();
  for (const char* key :
       {"fields", "free_text", "discrepancy", "additional_studies", "trial_comments", "annotation_refs"}) {
    if (j.contains(key)) editable[key] = j[key];
  }
  if (j.contains("initial_impression") && !j["initial_impression"].is_null()) {
    editable["initial_impression"] = j["initial_impression"];
  }
  apply_consult_update(r, editable);
  r.case_id = int_member(j, "case_id", where);
  r.status = text_member(j, "status", where);
  if (r.status != "draft" && r.status != "signed") malformed(where + ".status must be draft or signed");
  r.signed_by = optional_text_member(j, "signed_by", where);
  r.signed_at = optional_text_member(j, "signed_at", where);
  r.version = int_member(j, "version", where);
  r.updated_at = text_member(j, "updated_at", where);
  if (j.contains("addenda") && !j["addenda"].is_null()) {
    if (!j["addenda"].is_array()) malformed(where + ".addenda must be an array");
    for (const json& a : j["addenda"]) {
      if (!a.is_object()) malformed(where + ".addenda must hold {id, text, author, signed_at}");
      r.addenda.push_back({int_member(a, "id", "addendum"), text_member(a, "text", "addendum"),
                           text_member(a, "author", "addendum"), text_member(a, "signed_at", "addendum")});
    }
  }
  return r;
}

// --- ReportDraft ------------------------------------------------------------------------------------------

ReportDraft::ReportDraft(const json& case_json, const json& report_json) {
  apply_case(case_json);
  apply_server_report(report_json);
}

void ReportDraft::apply_case(const json& c) {
  if (!c.is_object()) malformed("the case is not a JSON object");
  const std::int64_t id = int_member(c, "id", "case");
  if (case_id_ != 0 && id != case_id_) {
    malformed("case " + std::to_string(id) + " given for the report of case " + std::to_string(case_id_));
  }
  if (!c.contains("original_report") || !c["original_report"].is_object()) {
    malformed("case " + std::to_string(id) + " has no original_report object");
  }
  case_id_ = id;
  accession_ = text_member(c, "accession", "case");
  question_ = text_member(c, "question", "case");
  blinded_ = bool_member(c, "blinded_first_read", "case");
  hidden_ = bool_member(c, "original_report_hidden", "case");
  original_ = c["original_report"];
}

bool ReportDraft::mark_saved(const json& report_json) {
  ConsultReport r = parse_consult_report(report_json);
  if (r.version < server_.version) return false;
  take_report(std::move(r));
  return true;
}

void ReportDraft::apply_server_report(const json& report_json) {
  take_report(parse_consult_report(report_json));
  edits_ = server_;
  impression_pending_ = false;
}

void ReportDraft::take_report(ConsultReport r) {
  if (r.case_id != 0 && case_id_ != 0 && r.case_id != case_id_) {
    malformed("the report of case " + std::to_string(r.case_id) + " given for case " + std::to_string(case_id_));
  }
  const std::vector<ConsultReport::Addendum> before = std::move(server_.addenda);
  server_ = std::move(r);
  if (server_.status == "signed") {
    edits_ = server_;
  } else {
    take_server_metadata();
  }
  if (server_.initial_impression) {
    impression_pending_ = false;
    impression_draft_ = json::object();
  }
  for (const auto& a : server_.addenda) {
    const bool is_new = std::none_of(before.begin(), before.end(), [&](const auto& b) { return b.id == a.id; });
    if (is_new && a.text == addendum_text_) addendum_text_.clear();
  }
}

void ReportDraft::take_server_metadata() {
  edits_.case_id = server_.case_id;
  edits_.initial_impression = server_.initial_impression;
  edits_.status = server_.status;
  edits_.signed_by = server_.signed_by;
  edits_.signed_at = server_.signed_at;
  edits_.version = server_.version;
  edits_.updated_at = server_.updated_at;
  edits_.addenda = server_.addenda;
}

Phase ReportDraft::phase() const {
  if (server_.status == "signed") return Phase::signed_out;
  if (blinded_ && hidden_ && !server_.initial_impression) return Phase::initial_impression;
  return Phase::review;
}

bool ReportDraft::field_hidden(const std::string& field) const {
  const auto& blinded = blinded_field_names();
  return hidden_ && std::find(blinded.begin(), blinded.end(), field) != blinded.end() &&
         (!original_.contains(field) || original_[field].is_null());
}

std::string ReportDraft::original_full_text() const {
  return original_.contains("full_text") && original_["full_text"].is_string()
             ? original_["full_text"].get<std::string>()
             : std::string();
}

ConsultReport ReportDraft::report() const {
  ConsultReport r = edits_;
  if (r.fields.contains("biomarkers") && r.fields["biomarkers"]["verdict"] == "revised") {
    json named = json::array();
    for (const json& row : r.fields["biomarkers"]["value"]) {
      if (!blank(row["name"].get_ref<const std::string&>())) named.push_back(row);
    }
    r.fields["biomarkers"]["value"] = std::move(named);
  }
  return r;
}

std::vector<FieldView> ReportDraft::fields() const {
  const ConsultReport r = report();
  const json cmp = compare_reports(original_, r);
  std::vector<FieldView> out;
  for (const std::string& name : report_field_names()) {
    FieldView f;
    f.name = name;
    f.original = original_.contains(name) ? original_[name] : json(nullptr);
    f.original_hidden = field_hidden(name);
    const json review = field_review(r, name);
    if (!review.is_null()) {
      f.verdict = review["verdict"] == "revised" ? Verdict::revised : Verdict::confirmed;
      if (f.verdict == Verdict::revised) f.revised = review["value"];
    }
    // Against a hidden original every revision would look changed: nothing is compared until it is shown.
    f.changed = !f.original_hidden && cmp["fields"][name]["changed"].get<bool>();
    if (server_.initial_impression && server_.initial_impression->contains(name)) {
      f.impression = (*server_.initial_impression)[name];
    }
    out.push_back(std::move(f));
  }
  return out;
}

FieldView ReportDraft::field(const std::string& name) const {
  for (FieldView& f : fields()) {
    if (f.name == name) return std::move(f);
  }
  throw std::out_of_range("no report field '" + name + "'");
}

Verdict ReportDraft::verdict(const std::string& name) const { return field(name).verdict; }

bool ReportDraft::changed(const std::string& name) const { return field(name).changed; }

std::vector<Biomarker> ReportDraft::biomarker_rows() const {
  const json review = field_review(edits_, "biomarkers");
  const json& rows = !review.is_null() && review["verdict"] == "revised" ? review["value"]
                     : original_.contains("biomarkers")                  ? original_["biomarkers"]
                                                                         : json::array();
  std::vector<Biomarker> out;
  if (!rows.is_array()) return out;
  for (const json& row : rows) {
    if (row.is_object()) out.push_back({row.value("name", std::string()), row.value("result", std::string())});
  }
  return out;
}

const std::string& ReportDraft::text(std::string_view key) const {
  if (key == "free_text") return edits_.free_text;
  if (key == "additional_studies") return edits_.additional_studies;
  if (key == "trial_comments") return edits_.trial_comments;
  throw std::out_of_range("no report text '" + std::string(key) + "'");
}

Discrepancy ReportDraft::proposed() const {
  const json cmp = compare_reports(original_, report());
  return parse_discrepancy(cmp["proposed_discrepancy"].get<std::string>()).value_or(Discrepancy::concordant);
}

std::optional<Discrepancy> ReportDraft::discrepancy() const {
  return edits_.discrepancy ? parse_discrepancy(*edits_.discrepancy) : std::nullopt;
}

bool ReportDraft::discrepancy_disagrees() const {
  const auto chosen = discrepancy();
  return chosen && *chosen < proposed();
}

std::string ReportDraft::impression(const std::string& key) const {
  if (server_.initial_impression) {
    const json& imp = *server_.initial_impression;
    return imp.contains(key) ? value_text(imp[key]) : std::string();
  }
  return impression_draft_.contains(key) ? impression_draft_[key].get<std::string>() : std::string();
}

// --- editing ----------------------------------------------------------------------------------------------

Permission ReportDraft::can_edit() const {
  switch (phase()) {
    case Phase::signed_out:
      return {false, "the consult report is signed; add an addendum instead"};
    case Phase::initial_impression:
      return {false, "record your initial impression first: the original report is shown after it"};
    case Phase::review:
      break;
  }
  return {true, {}};
}

void ReportDraft::follow_references() { edits_.annotation_refs = references_of(report()); }

bool ReportDraft::apply(const ReportEdit& edit) {
  return std::visit(
      annotation::Overloaded{
          [&](const report_edit::Confirm& e) { return confirm(e.field); },
          [&](const report_edit::Revise& e) { return revise(e.field, e.text); },
          [&](const report_edit::ReviseBiomarkers& e) { return revise_biomarkers(e.rows); },
          [&](const report_edit::SetText& e) { return set_text(e.key, e.text); },
          [&](const report_edit::InsertReference& e) { return insert_reference(e.annotation_id, e.where, e.at); },
          [&](const report_edit::ChooseDiscrepancy& e) { return choose_discrepancy(e.discrepancy); },
          [&](const report_edit::SetImpression& e) { return set_impression(e.key, e.text); },
          [&](const report_edit::SetAddendumText& e) { return set_addendum_text(e.text); },
      },
      edit);
}

bool ReportDraft::confirm(const std::string& field) {
  if (!can_edit() || !is_field(field) || field_hidden(field)) return false;
  edits_.fields[field] = {{"verdict", "confirmed"}};
  follow_references();
  return true;
}

bool ReportDraft::revise(const std::string& field, const std::string& text) {
  if (!can_edit() || !is_field(field) || field == "biomarkers" || field_hidden(field)) return false;
  edits_.fields[field] = {{"verdict", "revised"}, {"value", text}};
  follow_references();
  return true;
}

bool ReportDraft::revise_biomarkers(const std::vector<Biomarker>& rows) {
  if (!can_edit() || field_hidden("biomarkers")) return false;
  edits_.fields["biomarkers"] = {{"verdict", "revised"}, {"value", biomarker_json(rows)}};
  follow_references();
  return true;
}

bool ReportDraft::set_text(std::string_view key, const std::string& text) {
  if (!can_edit() || !is_text_key(key)) return false;
  if (key == "free_text") edits_.free_text = text;
  if (key == "additional_studies") edits_.additional_studies = text;
  if (key == "trial_comments") edits_.trial_comments = text;
  follow_references();
  return true;
}

bool ReportDraft::insert_reference(std::int64_t annotation_id, const std::string& where, std::size_t at) {
  if (annotation_id <= 0 || !can_edit()) return false;
  if (is_text_key(where)) return set_text(where, with_reference(text(where), annotation_id, at));
  const json review = field_review(edits_, where);
  if (review.is_null() || review["verdict"] != "revised" || !review["value"].is_string()) return false;
  return revise(where, with_reference(review["value"].get<std::string>(), annotation_id, at));
}

bool ReportDraft::choose_discrepancy(Discrepancy d) {
  if (!can_edit()) return false;
  edits_.discrepancy = to_string(d);
  follow_references();
  return true;
}

bool ReportDraft::set_impression(const std::string& key, const std::string& text) {
  const auto& keys = impression_keys();
  if (phase() != Phase::initial_impression || impression_pending_ ||
      std::find(keys.begin(), keys.end(), key) == keys.end()) {
    return false;
  }
  impression_draft_[key] = text;
  return true;
}

bool ReportDraft::set_addendum_text(const std::string& text) {
  if (phase() != Phase::signed_out) return false;
  addendum_text_ = text;
  return true;
}

// --- saving and requests ----------------------------------------------------------------------------------

nlohmann::json ReportDraft::update_body() const {
  const ConsultReport r = report();
  json body = json::object();
  json changed_fields = json::object();
  for (const std::string& name : report_field_names()) {
    const json mine = field_review(r, name);
    if (mine != field_review(server_, name)) changed_fields[name] = mine;  // null drops the server's review
  }
  if (!changed_fields.empty()) body["fields"] = std::move(changed_fields);
  if (r.free_text != server_.free_text) body["free_text"] = r.free_text;
  if (r.discrepancy != server_.discrepancy) body["discrepancy"] = r.discrepancy ? json(*r.discrepancy) : json(nullptr);
  if (r.additional_studies != server_.additional_studies) body["additional_studies"] = r.additional_studies;
  if (r.trial_comments != server_.trial_comments) body["trial_comments"] = r.trial_comments;
  if (r.annotation_refs != server_.annotation_refs) body["annotation_refs"] = r.annotation_refs;
  return body;
}

bool ReportDraft::dirty() const { return !update_body().empty(); }

Permission ReportDraft::can_record_impression() const {
  if (phase() != Phase::initial_impression) return {false, "there is no blinded first read to record"};
  if (impression_pending_) return {false, "the initial impression is being recorded"};
  if (blank(impression("diagnosis"))) return {false, "write the diagnosis of your initial impression"};
  return {true, {}};
}

std::optional<json> ReportDraft::record_impression() {
  if (!can_record_impression()) return std::nullopt;
  json imp = json::object();
  for (const std::string& key : impression_keys()) {
    const std::string value = impression(key);
    if (!blank(value)) imp[key] = value;
  }
  impression_pending_ = true;
  return json{{"initial_impression", std::move(imp)}};
}

Permission ReportDraft::can_sign() const {
  if (const Permission editable = can_edit(); !editable) return editable;
  if (hidden_) return {false, "the original report is not shown yet: wait until the case is loaded again"};
  std::string missing;
  for (const std::string& name : report_field_names()) {
    if (edits_.fields.contains(name)) continue;
    missing += (missing.empty() ? "" : ", ") + field_label(name);
  }
  if (!missing.empty()) return {false, "confirm or revise every field (" + missing + ")"};
  if (!edits_.discrepancy) return {false, "choose the discrepancy category (concordant, minor or major)"};
  if (dirty()) return {false, "the draft has changes not saved yet"};
  if (server_.version == 0) return {false, "no draft has been saved yet"};
  return {true, {}};
}

Permission ReportDraft::can_add_addendum() const {
  if (phase() != Phase::signed_out) return {false, "addenda follow the sign-out; edit the draft instead"};
  if (blank(addendum_text_)) return {false, "write the addendum"};
  return {true, {}};
}

}  // namespace reread::viewer
