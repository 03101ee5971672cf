// The re-read record as values: users and roles, cases with their original report, the consult report
// (revised diagnosis), annotations and audit entries; their JSON forms and the field-by-field comparison.
// No I/O: the store persists these, the routes move them over HTTP.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace reread {

// A request the record refuses, with the HTTP status that says why (400, 403, 404, 409, 412, 422).
class RecordError : public std::runtime_error {
 public:
  RecordError(int status, std::string error, const std::string& detail)
      : std::runtime_error(detail), status_(status), error_(std::move(error)) {}
  int status() const { return status_; }
  const std::string& error() const { return error_; }

 private:
  int status_;
  std::string error_;
};

enum class Role { consultant, referrer, board, admin };
std::optional<Role> parse_role(std::string_view s);
const char* to_string(Role r);

struct Principal {
  std::int64_t user_id = 0;
  std::string name;
  Role role = Role::board;
  std::int64_t token_id = 0;
};

struct User {
  std::int64_t id = 0;
  std::string name;
  std::string display_name;
  Role role = Role::board;
  std::vector<std::string> boards;  // board names a board member sits on
};
nlohmann::json to_json(const User& u);

// The structured fields of a pathology report, shared by the original and the consult report.
inline const std::vector<std::string>& report_field_names() {
  static const std::vector<std::string> names = {"diagnosis", "histologic_type", "grade",     "stage",
                                                 "margins",   "lymph_nodes",     "biomarkers"};
  return names;
}
// Fields whose change alters treatment or prognosis as a rule: a change proposes `major`.
bool is_major_field(std::string_view field);

struct CaseSlide {
  std::string slide_id;
  std::string label;  // "A1 H&E", "A1 ER"...
};

struct CaseRecord {
  std::int64_t id = 0;
  std::string accession;
  std::string patient_ref;  // de-identified
  std::string specimen, site, clinical_history, question;
  std::string requested_at, due_at;  // ISO 8601 dates
  std::string status = "requested";  // requested, in_review, signed_out
  std::string institution, originating_pathologist;
  std::string referrer;            // user name of the requesting referrer
  nlohmann::json original_report;  // {diagnosis, ..., biomarkers: [{name, result}], full_text}
  std::string proposed_treatment;
  bool blinded_first_read = false;  // original diagnosis, grade and stage hidden until an impression
  std::vector<CaseSlide> slides;
  std::vector<std::string> consultants;            // assigned consultant user names
  std::vector<std::string> boards;                 // board names it is shared with
  std::vector<nlohmann::json> annotation_classes;  // [{name, color}]
  std::optional<std::string> signed_out_at;
  std::string created_at;
};

// Parses a case as `case import` and POST /api/cases take it; throws RecordError(400) naming the field.
CaseRecord case_from_json(const nlohmann::json& j);
nlohmann::json to_json(const CaseRecord& c);
// Validates an original report document: known fields are strings, biomarkers [{name, result}].
void validate_original_report(const nlohmann::json& report);

// The consult report: each field confirmed or revised, free text, discrepancy and the rest.
struct ConsultReport {
  std::int64_t case_id = 0;
  nlohmann::json fields = nlohmann::json::object();  // name -> {"verdict": "confirmed"|"revised", "value": ...}
  std::string free_text;
  std::optional<std::string> discrepancy;  // concordant, minor, major
  std::string additional_studies, trial_comments;
  std::vector<std::int64_t> annotation_refs;
  std::optional<nlohmann::json> initial_impression;  // the blinded first read, kept beside the final one
  std::string status = "draft";                      // draft, signed
  std::optional<std::string> signed_by, signed_at;
  std::int64_t version = 0;
  std::string updated_at;
  struct Addendum {
    std::int64_t id = 0;
    std::string text, author, signed_at;
  };
  std::vector<Addendum> addenda;
};
// Applies a draft update from the API onto `r` (only the keys present); throws RecordError(400).
void apply_consult_update(ConsultReport& r, const nlohmann::json& update);
nlohmann::json to_json(const ConsultReport& r);
// Original and revised side by side: per field {original, revised, verdict, changed}, plus the proposed
// discrepancy category (major when diagnosis, grade or stage changed; minor for other changes).
nlohmann::json compare_reports(const nlohmann::json& original, const ConsultReport& consult);

struct Annotation {
  std::int64_t id = 0;
  std::int64_t case_id = 0;
  std::string slide_id;
  nlohmann::json geometry;  // GeoJSON, level-0 pixels
  std::string class_name, class_color, label, comment;
  std::string author;
  std::string created_at, updated_at;
  std::int64_t version = 1;
  // The client's own key for the annotation, so that a create resent after a crash or a lost answer
  // finds the annotation it made the first time instead of making another. Fixed at creation.
  std::optional<std::string> client_uid;
};

// A client_uid is 16 to 64 characters of A-Z, a-z, 0-9, '_' and '-' (the viewer sends 32 hex digits).
bool is_valid_client_uid(std::string_view s);
// A fresh client_uid: 128 random bits as 32 lowercase hex digits (what the viewer gives a new annotation).
std::string new_client_uid();
// The "client_uid" of an annotation's JSON: nullopt when absent or null; RecordError(400) naming
// client_uid when it is anything but a valid one.
std::optional<std::string> client_uid_from_json(const nlohmann::json& j);
// An update keeps the client_uid the annotation was created with: one sent must be that one
// (RecordError(400) naming client_uid otherwise).
void check_client_uid_kept(const std::optional<std::string>& stored, const std::optional<std::string>& sent);
// A create naming the client_uid of an annotation the record holds already (`stored`, `deleted` when
// it was deleted since) is a replay of the create that made it: nothing is created and the client gets
// `stored` back. RecordError(409) when `stored` lies on another case or slide than the create names,
// RecordError(410, "deleted") when it was deleted.
void check_annotation_replay(const Annotation& stored, bool deleted, std::int64_t case_id, const std::string& slide_id);

struct AuditEntry {
  std::int64_t id = 0;
  std::string at;
  std::string user;  // empty when unauthenticated
  std::string address;
  std::string action;    // read, create, update, delete, sign, deny, login-failed, ...
  std::string resource;  // "case/12", "slide/abc.../tiles", "annotation/7"
  std::string detail;
};
nlohmann::json to_json(const AuditEntry& e);

// Now, as the record writes times: UTC ISO 8601 with milliseconds.
std::string utc_now();

}  // namespace reread
