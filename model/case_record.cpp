// The re-read record's values: validation, JSON forms, and the original-versus-revised comparison.
#include "case_record.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <ctime>
#include <set>

namespace reread {

using json = nlohmann::json;

namespace {

[[noreturn]] void bad(const std::string& detail) { throw RecordError(400, "invalid record", detail); }

std::string string_field(const json& j, const char* key, bool required, std::size_t max_len = 100000) {
  if (!j.contains(key) || j[key].is_null()) {
    if (required) bad(std::string("'") + key + "' is required");
    return {};
  }
  if (!j[key].is_string()) bad(std::string("'") + key + "' must be a string");
  std::string s = j[key].get<std::string>();
  if (required && s.empty()) bad(std::string("'") + key + "' must not be empty");
  if (s.size() > max_len) bad(std::string("'") + key + "' is longer than " + std::to_string(max_len) + " characters");
  return s;
}

// YYYY-MM-DD, optionally followed by a time: the record compares dates as text.
std::string date_field(const json& j, const char* key, bool required) {
  std::string s = string_field(j, key, required, 40);
  if (s.empty()) return s;
  int y = 0, m = 0, d = 0;
  if (s.size() < 10 || std::sscanf(s.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3 || s[4] != '-' || s[7] != '-' || m < 1 ||
      m > 12 || d < 1 || d > 31 || y < 1900) {
    bad(std::string("'") + key + "' must be a date as YYYY-MM-DD, got '" + s + "'");
  }
  return s;
}

void validate_biomarkers(const json& v, const std::string& where) {
  if (!v.is_array()) bad(where + " must be an array of {name, result}");
  for (std::size_t i = 0; i < v.size(); ++i) {
    const json& b = v[i];
    if (!b.is_object() || !b.contains("name") || !b["name"].is_string() || !b.contains("result") ||
        !b["result"].is_string() || b["name"].get<std::string>().empty()) {
      bad(where + "[" + std::to_string(i) + "] must be {\"name\": text, \"result\": text}");
    }
  }
}

void validate_field_value(const std::string& name, const json& v, const std::string& where) {
  if (name == "biomarkers") return validate_biomarkers(v, where);
  if (!v.is_string()) bad(where + " must be a string");
}

bool valid_color(const std::string& c) {
  return c.size() == 7 && c[0] == '#' &&
         std::all_of(c.begin() + 1, c.end(), [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)); });
}

}  // namespace

std::optional<Role> parse_role(std::string_view s) {
  if (s == "consultant") return Role::consultant;
  if (s == "referrer") return Role::referrer;
  if (s == "board") return Role::board;
  if (s == "admin") return Role::admin;
  return std::nullopt;
}

const char* to_string(Role r) {
  switch (r) {
    case Role::consultant:
      return "consultant";
    case Role::referrer:
      return "referrer";
    case Role::board:
      return "board";
    case Role::admin:
      return "admin";
  }
  return "board";
}

bool is_major_field(std::string_view field) { return field == "diagnosis" || field == "grade" || field == "stage"; }

json to_json(const User& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"display_name", u.display_name},
          {"role", to_string(u.role)},
          {"boards", u.boards}};
}

void validate_original_report(const json& report) {
  if (!report.is_object()) bad("'original_report' must be an object");
  for (const auto& [key, value] : report.items()) {
    const auto& names = report_field_names();
    if (std::find(names.begin(), names.end(), key) != names.end()) {
      validate_field_value(key, value, "original_report." + key);
    } else if (key == "full_text") {
      if (!value.is_string()) bad("original_report.full_text must be a string");
    } else {
      bad("original_report has an unknown field '" + key + "'");
    }
  }
  if (!report.contains("diagnosis")) bad("original_report.diagnosis is required");
}

CaseRecord case_from_json(const json& j) {
  if (!j.is_object()) bad("a case must be a JSON object");
  CaseRecord c;
  c.accession = string_field(j, "accession", true, 64);
  c.patient_ref = string_field(j, "patient_ref", true, 128);
  c.specimen = string_field(j, "specimen", false);
  c.site = string_field(j, "site", false);
  c.clinical_history = string_field(j, "clinical_history", false);
  c.question = string_field(j, "question", true);
  c.requested_at = date_field(j, "requested_at", true);
  c.due_at = date_field(j, "due_at", false);
  c.institution = string_field(j, "institution", false);
  c.originating_pathologist = string_field(j, "originating_pathologist", false);
  c.referrer = string_field(j, "referrer", false, 128);
  c.proposed_treatment = string_field(j, "proposed_treatment", false);
  if (j.contains("blinded_first_read")) {
    if (!j["blinded_first_read"].is_boolean()) bad("'blinded_first_read' must be true or false");
    c.blinded_first_read = j["blinded_first_read"].get<bool>();
  }
  if (!j.contains("original_report")) bad("'original_report' is required");
  validate_original_report(j["original_report"]);
  c.original_report = j["original_report"];
  if (j.contains("slides")) {
    if (!j["slides"].is_array()) bad("'slides' must be an array");
    for (const auto& s : j["slides"]) {
      CaseSlide cs;
      if (s.is_string()) {
        cs.slide_id = s.get<std::string>();
      } else if (s.is_object()) {
        cs.slide_id = string_field(s, "slide_id", true, 64);
        cs.label = string_field(s, "label", false, 200);
      } else {
        bad("each of 'slides' must be a slide ID or {slide_id, label}");
      }
      for (const auto& other : c.slides) {
        if (other.slide_id == cs.slide_id) bad("slide " + cs.slide_id + " is listed twice");
      }
      c.slides.push_back(std::move(cs));
    }
  }
  for (const char* key : {"consultants", "boards"}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_array()) bad(std::string("'") + key + "' must be an array of names");
    for (const auto& n : j[key]) {
      if (!n.is_string() || n.get<std::string>().empty()) bad(std::string("'") + key + "' must hold names");
      (std::string(key) == "consultants" ? c.consultants : c.boards).push_back(n.get<std::string>());
    }
  }
  if (j.contains("annotation_classes")) {
    if (!j["annotation_classes"].is_array()) bad("'annotation_classes' must be an array of {name, color}");
    for (const auto& k : j["annotation_classes"]) {
      const std::string name = string_field(k, "name", true, 100);
      const std::string color = string_field(k, "color", true, 7);
      if (!valid_color(color)) bad("annotation class '" + name + "' colour must be #rrggbb");
      c.annotation_classes.push_back({{"name", name}, {"color", color}});
    }
  }
  return c;
}

json to_json(const CaseRecord& c) {
  json slides = json::array();
  for (const auto& s : c.slides) slides.push_back({{"slide_id", s.slide_id}, {"label", s.label}});
  json j = {{"id", c.id},
            {"accession", c.accession},
            {"patient_ref", c.patient_ref},
            {"specimen", c.specimen},
            {"site", c.site},
            {"clinical_history", c.clinical_history},
            {"question", c.question},
            {"requested_at", c.requested_at},
            {"due_at", c.due_at.empty() ? json(nullptr) : json(c.due_at)},
            {"status", c.status},
            {"institution", c.institution},
            {"originating_pathologist", c.originating_pathologist},
            {"referrer", c.referrer.empty() ? json(nullptr) : json(c.referrer)},
            {"original_report", c.original_report},
            {"proposed_treatment", c.proposed_treatment},
            {"blinded_first_read", c.blinded_first_read},
            {"slides", slides},
            {"consultants", c.consultants},
            {"boards", c.boards},
            {"annotation_classes", c.annotation_classes},
            {"signed_out_at", c.signed_out_at ? json(*c.signed_out_at) : json(nullptr)},
            {"created_at", c.created_at}};
  return j;
}

void apply_consult_update(ConsultReport& r, const json& u) {
  if (!u.is_object()) bad("a consult report update must be a JSON object");
  static const std::set<std::string> known = {
      "fields",         "free_text",       "discrepancy",        "additional_studies",
      "trial_comments", "annotation_refs", "initial_impression", "version"};
  for (const auto& [key, value] : u.items()) {
    if (!known.contains(key)) bad("unknown consult report field '" + key + "'");
  }
  if (u.contains("fields")) {
    const json& f = u["fields"];
    if (!f.is_object()) bad("'fields' must map field names to {verdict, value}");
    for (const auto& [name, review] : f.items()) {
      const auto& names = report_field_names();
      if (std::find(names.begin(), names.end(), name) == names.end()) bad("unknown report field '" + name + "'");
      if (review.is_null()) {
        r.fields.erase(name);
        continue;
      }
      if (!review.is_object() || !review.contains("verdict") || !review["verdict"].is_string()) {
        bad("fields." + name + " must be {\"verdict\": \"confirmed\"|\"revised\", \"value\": ...}");
      }
      const std::string verdict = review["verdict"].get<std::string>();
      if (verdict == "confirmed") {
        r.fields[name] = {{"verdict", "confirmed"}};
      } else if (verdict == "revised") {
        if (!review.contains("value")) bad("fields." + name + " is revised but has no value");
        validate_field_value(name, review["value"], "fields." + name + ".value");
        r.fields[name] = {{"verdict", "revised"}, {"value", review["value"]}};
      } else {
        bad("fields." + name + ".verdict must be confirmed or revised, got '" + verdict + "'");
      }
    }
  }
  if (u.contains("free_text")) r.free_text = string_field(u, "free_text", false);
  if (u.contains("additional_studies")) r.additional_studies = string_field(u, "additional_studies", false);
  if (u.contains("trial_comments")) r.trial_comments = string_field(u, "trial_comments", false);
  if (u.contains("discrepancy")) {
    if (u["discrepancy"].is_null()) {
      r.discrepancy.reset();
    } else {
      const std::string d = string_field(u, "discrepancy", false);
      if (d != "concordant" && d != "minor" && d != "major") {
        bad("'discrepancy' must be concordant, minor or major, got '" + d + "'");
      }
      r.discrepancy = d;
    }
  }
  if (u.contains("annotation_refs")) {
    if (!u["annotation_refs"].is_array()) bad("'annotation_refs' must be an array of annotation IDs");
    std::vector<std::int64_t> refs;
    for (const auto& v : u["annotation_refs"]) {
      if (!v.is_number_integer()) bad("'annotation_refs' must hold annotation IDs");
      refs.push_back(v.get<std::int64_t>());
    }
    r.annotation_refs = std::move(refs);
  }
  if (u.contains("initial_impression")) {
    const json& imp = u["initial_impression"];
    if (!imp.is_object()) bad("'initial_impression' must be an object of report fields");
    for (const auto& [name, value] : imp.items()) {
      const auto& names = report_field_names();
      if (std::find(names.begin(), names.end(), name) == names.end() && name != "comment") {
        bad("initial_impression has an unknown field '" + name + "'");
      }
      if (name != "comment") validate_field_value(name, value, "initial_impression." + name);
    }
    r.initial_impression = imp;
  }
}

json to_json(const ConsultReport& r) {
  json addenda = json::array();
  for (const auto& a : r.addenda) {
    addenda.push_back({{"id", a.id}, {"text", a.text}, {"author", a.author}, {"signed_at", a.signed_at}});
  }
  return {{"case_id", r.case_id},
          {"fields", r.fields},
          {"free_text", r.free_text},
          {"discrepancy", r.discrepancy ? json(*r.discrepancy) : json(nullptr)},
          {"additional_studies", r.additional_studies},
          {"trial_comments", r.trial_comments},
          {"annotation_refs", r.annotation_refs},
          {"initial_impression", r.initial_impression ? *r.initial_impression : json(nullptr)},
          {"status", r.status},
          {"signed_by", r.signed_by ? json(*r.signed_by) : json(nullptr)},
          {"signed_at", r.signed_at ? json(*r.signed_at) : json(nullptr)},
          {"version", r.version},
          {"updated_at", r.updated_at},
          {"addenda", addenda}};
}

json compare_reports(const json& original, const ConsultReport& consult) {
  json fields = json::object();
  bool major = false, any = false, all_reviewed = true;
  for (const std::string& name : report_field_names()) {
    const json orig = original.contains(name) ? original[name] : json(nullptr);
    json entry = {{"original", orig}, {"verdict", nullptr}, {"revised", orig}, {"changed", false}};
    if (consult.fields.contains(name)) {
      const json& review = consult.fields[name];
      entry["verdict"] = review["verdict"];
      if (review["verdict"] == "revised") {
        entry["revised"] = review["value"];
        const bool changed = review["value"] != orig;
        entry["changed"] = changed;
        any = any || changed;
        major = major || (changed && is_major_field(name));
      }
    } else {
      all_reviewed = false;
    }
    fields[name] = entry;
  }
  return {{"fields", fields},
          {"all_fields_reviewed", all_reviewed},
          {"proposed_discrepancy", major ? "major"
                                   : any ? "minor"
                                         : "concordant"},
          {"discrepancy", consult.discrepancy ? json(*consult.discrepancy) : json(nullptr)}};
}

bool is_valid_client_uid(std::string_view s) {
  return s.size() >= 16 && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char ch) {
           return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                  ch == '-';
         });
}

std::string new_client_uid() {
  // One generator per thread, seeded with 128 bits from the system's entropy.
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device()};
    return std::mt19937_64(seed);
  }();
  static constexpr char digits[] = "0123456789abcdef";
  std::string uid;
  uid.reserve(32);
  for (int half = 0; half < 2; ++half) {
    std::uint64_t bits = generator();
    for (int i = 0; i < 16; ++i, bits >>= 4) uid.push_back(digits[bits & 0xf]);
  }
  return uid;
}

std::optional<std::string> client_uid_from_json(const json& j) {
  if (!j.is_object() || !j.contains("client_uid") || j["client_uid"].is_null()) return std::nullopt;
  const json& v = j["client_uid"];
  if (!v.is_string() || !is_valid_client_uid(v.get<std::string>())) {
    throw RecordError(400, "invalid annotation",
                      "'client_uid' must be 16 to 64 characters of A-Z, a-z, 0-9, '_' and '-'");
  }
  return v.get<std::string>();
}

void check_client_uid_kept(const std::optional<std::string>& stored, const std::optional<std::string>& sent) {
  if (sent && sent != stored) {
    throw RecordError(400, "invalid annotation",
                      "'client_uid' cannot change: send the annotation's own client_uid or none");
  }
}

void check_annotation_replay(const Annotation& stored, bool deleted, std::int64_t case_id,
                             const std::string& slide_id) {
  // Another case's annotation is neither shown nor said to be deleted: the client may not see that case.
  if (stored.case_id != case_id || stored.slide_id != slide_id) {
    throw RecordError(409, "client_uid conflict",
                      "'client_uid' is already used by an annotation on another case or slide");
  }
  if (deleted) {
    throw RecordError(410, "deleted",
                      "annotation " + std::to_string(stored.id) +
                          ", created with this client_uid, was deleted since; it is not created again");
  }
}

json to_json(const AuditEntry& e) {
  return {{"id", e.id},           {"at", e.at},         {"user", e.user.empty() ? json(nullptr) : json(e.user)},
          {"address", e.address}, {"action", e.action}, {"resource", e.resource},
          {"detail", e.detail}};
}

std::string utc_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace reread
