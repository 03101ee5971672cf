// The record's REST API: parse, decide rights, call the store, answer JSON. Errors are JSON with the
// status the store or the policy chose; nothing a client sends can crash the server or half-apply.
#include "record_routes.h"

#include <algorithm>
#include <charconv>

#include "annotation_geometry.h"
#include "annotation_interchange.h"
#include "api_tokens.h"
#include "report_pdf.h"
#include "slide_catalog.h"
#include "sqlite_db.h"

namespace reread {

using json = nlohmann::json;
using namespace annotation;

const std::vector<RouteSpec>& server_routes() {
  static const std::vector<RouteSpec> routes = {
      {"GET", "/healthz", true},
      {"GET", "/metrics"},
      {"GET", "/api/openapi.json"},
      {"GET", "/api/me"},
      {"GET", "/api/users"},
      {"POST", "/api/users"},
      {"GET", "/api/users/{user}/tokens"},
      {"POST", "/api/users/{user}/tokens"},
      {"DELETE", "/api/tokens/{token_id}"},
      {"GET", "/api/cases"},
      {"POST", "/api/cases"},
      {"GET", "/api/cases/overdue"},
      {"GET", "/api/cases/{case_id}"},
      {"PATCH", "/api/cases/{case_id}"},
      {"POST", "/api/cases/{case_id}/consultants"},
      {"POST", "/api/cases/{case_id}/boards"},
      {"POST", "/api/cases/{case_id}/slides"},
      {"GET", "/api/cases/{case_id}/report"},
      {"PUT", "/api/cases/{case_id}/report"},
      {"POST", "/api/cases/{case_id}/report/sign"},
      {"POST", "/api/cases/{case_id}/report/addenda"},
      {"GET", "/api/cases/{case_id}/comparison"},
      {"GET", "/api/cases/{case_id}/report.pdf"},
      {"GET", "/api/cases/{case_id}/slides/{slide_id}/annotations"},
      {"POST", "/api/cases/{case_id}/slides/{slide_id}/annotations"},
      {"POST", "/api/cases/{case_id}/slides/{slide_id}/annotations/import"},
      {"GET", "/api/cases/{case_id}/slides/{slide_id}/annotations/export"},
      {"GET", "/api/annotations/{annotation_id}"},
      {"PUT", "/api/annotations/{annotation_id}"},
      {"DELETE", "/api/annotations/{annotation_id}"},
      {"GET", "/api/audit"},
      // Slides (TileService).
      {"GET", "/api/slides"},
      {"POST", "/api/slides/rescan"},
      {"GET", "/api/slides/{slide_id}"},
      {"GET", "/slides/{slide_id}.dzi"},
      {"GET", "/slides/{slide_id}_files/{level}/{col}_{row}.{format}"},
      {"GET", "/slides/{slide_id}/thumbnail"},
      {"GET", "/slides/{slide_id}/associated/{name}.jpg"},
      {"GET", "/iiif/3/{slide_id}/info.json"},
      {"GET", "/iiif/3/{slide_id}/{region}/{size}/{rotation}/{quality}.{format}"},
  };
  return routes;
}

namespace {

HttpResponse error_response(const HttpRequest& req, int status, const std::string& error, const std::string& detail) {
  return json_error(req, static_cast<http::status>(status), error, detail);
}

HttpResponse ok(const HttpRequest& req, const json& body, http::status status = http::status::ok) {
  HttpResponse res = json_response(req, status, body.dump());
  res.set(http::field::cache_control, "no-store");
  return res;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') path.remove_prefix(1);
    const auto slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return parts;
}

std::string query_value(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      std::string out;
      const std::string_view v = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '+') {
          out += ' ';
        } else if (v[i] == '%' && i + 2 < v.size()) {
          int c = 0;
          std::from_chars(v.data() + i + 1, v.data() + i + 3, c, 16);
          out += static_cast<char>(c);
          i += 2;
        } else {
          out += v[i];
        }
      }
      return out;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

std::int64_t parse_id(std::string_view s, const char* what) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v <= 0) {
    throw RecordError(400, "bad identifier",
                      std::string(what) + " must be a positive integer, got '" + std::string(s.substr(0, 40)) + "'");
  }
  return v;
}

// If-Match carries the version the client based its change on: "3" or W/"3" or "\"3\"".
std::optional<std::int64_t> if_match_version(const HttpRequest& req) {
  const auto it = req.find(http::field::if_match);
  if (it == req.end()) return std::nullopt;
  std::string v(it->value());
  if (v.starts_with("W/")) v = v.substr(2);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 0) {
    throw RecordError(400, "bad If-Match", "If-Match must hold the version number the change is based on");
  }
  return n;
}

json parse_body(const HttpRequest& req) {
  json j = json::parse(req.body(), nullptr, false);
  if (j.is_discarded()) throw RecordError(400, "malformed JSON", "the request body is not valid JSON");
  return j;
}

std::string text_field(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty()) {
    throw RecordError(400, "invalid request", std::string("'") + key + "' is required (text)");
  }
  return j[key].get<std::string>();
}

void require(const Decision& d, const std::string& resource) {
  if (!d.allowed) throw RecordError(403, "forbidden", d.reason + " (" + resource + ")");
}

void require_admin(const Principal& who) {
  if (who.role != Role::admin) throw RecordError(403, "forbidden", "only an admin may do this");
}

}  // namespace

struct RecordRoutes::Call {
  const HttpRequest& req;
  const Principal& who;
  Actor actor;
  std::string method;
  std::string path;
  std::string query;
  std::vector<std::string_view> parts;
};

RecordRoutes::RecordRoutes(RecordStore& store, const SlideCatalog& catalog, RecordRoutesOptions options)
    : store_(store), catalog_(catalog), openapi_(std::move(options.openapi)) {}

bool RecordRoutes::owns(std::string_view path) {
  return path.starts_with("/api/") && path != "/api/slides" && !path.starts_with("/api/slides/");
}

HttpResponse RecordRoutes::handle(const HttpRequest& req, const Principal& who, const RequestContext& ctx) {
  const std::string target(req.target());
  const auto q = target.find('?');
  Call call{req,
            who,
            Actor{who.name, ctx.remote_address},
            std::string(req.method_string()),
            target.substr(0, q),
            q == std::string::npos ? std::string() : target.substr(q + 1),
            {}};
  call.parts = split_path(call.path);
  try {
    return dispatch(call);
  } catch (const RecordError& e) {
    if (e.status() == 403) {
      store_.audit({0, "", who.name, ctx.remote_address, "deny", call.path, e.what()});
    }
    HttpResponse res = error_response(req, e.status(), e.error(), e.what());
    // A stale annotation write gets the current annotation, so the client can show both versions.
    if (e.status() == 412 && call.parts.size() == 3 && call.parts[1] == "annotations") {
      try {
        if (auto current = store_.annotation(parse_id(call.parts[2], "annotation ID"))) {
          json body = json::parse(res.body());
          body["current"] = {{"id", current->id},
                             {"version", current->version},
                             {"geometry", current->geometry},
                             {"class", {{"name", current->class_name}, {"color", current->class_color}}},
                             {"label", current->label},
                             {"comment", current->comment},
                             {"author", current->author},
                             {"updated_at", current->updated_at},
                             {"client_uid", current->client_uid ? json(*current->client_uid) : json(nullptr)}};
          res.body() = body.dump();
          res.prepare_payload();
        }
      } catch (...) {  // the 412 stands without the copy
      }
    }
    return res;
  } catch (const DbError& e) {
    if (e.constraint()) return error_response(req, 409, "conflict", e.what());
    return error_response(req, 500, "database error", e.what());
  } catch (const std::exception& e) {
    return error_response(req, 500, "internal error", e.what());
  }
}

namespace {

json annotation_json(const Annotation& a, const SlideInfo* info) {
  json j = {{"id", a.id},
            {"case_id", a.case_id},
            {"slide_id", a.slide_id},
            {"geometry", a.geometry},
            {"class", {{"name", a.class_name}, {"color", a.class_color}}},
            {"label", a.label},
            {"comment", a.comment},
            {"author", a.author},
            {"created_at", a.created_at},
            {"updated_at", a.updated_at},
            {"version", a.version},
            {"client_uid", a.client_uid ? json(*a.client_uid) : json(nullptr)}};
  json m = {{"length_um", nullptr}, {"area_mm2", nullptr}};
  if (info != nullptr && info->mpp_x && info->mpp_y) {
    const Measurement mm = measure(parse_geojson_geometry(a.geometry), *info->mpp_x, *info->mpp_y);
    if (mm.length_um) m["length_um"] = *mm.length_um;
    if (mm.area_mm2) m["area_mm2"] = *mm.area_mm2;
  }
  j["measurements"] = m;
  return j;
}

// Reads an annotation from the API's JSON: geometry checked, class from the case's list or given.
Annotation annotation_from_json(const json& j, const SlideInfo* info) {
  if (!j.is_object()) throw RecordError(400, "invalid annotation", "an annotation must be a JSON object");
  Annotation a;
  a.client_uid = client_uid_from_json(j);
  if (!j.contains("geometry")) throw RecordError(400, "invalid annotation", "'geometry' is required");
  try {
    const Geometry g = parse_geojson_geometry(j["geometry"]);
    if (vertex_count(g) > 1'000'000) {
      throw RecordError(400, "invalid annotation", "more than 1,000,000 vertices");
    }
    if (info != nullptr && !intersects_rect(g, static_cast<double>(info->level_dimensions.front().width),
                                            static_cast<double>(info->level_dimensions.front().height))) {
      throw RecordError(400, "invalid annotation", "the geometry lies entirely outside the slide");
    }
    a.geometry = to_geojson(g);
  } catch (const GeometryError& e) {
    throw RecordError(400, "invalid geometry", e.what());
  }
  if (j.contains("class")) {
    const json& k = j["class"];
    if (!k.is_object()) throw RecordError(400, "invalid annotation", "'class' must be {name, color}");
    if (k.contains("name") && k["name"].is_string()) a.class_name = k["name"].get<std::string>();
    if (k.contains("color") && k["color"].is_string()) a.class_color = k["color"].get<std::string>();
    const std::string& c = a.class_color;
    const bool hex = c.size() == 7 && c[0] == '#' && std::all_of(c.begin() + 1, c.end(), [](char ch) {
                       return std::isxdigit(static_cast<unsigned char>(ch)) != 0;
                     });
    if (!c.empty() && !hex) {
      throw RecordError(400, "invalid annotation", "class colour must be #rrggbb, got '" + c.substr(0, 40) + "'");
    }
  }
  for (auto [key, field] : {std::pair{"label", &a.label}, std::pair{"comment", &a.comment}}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    if (!j[key].is_string()) throw RecordError(400, "invalid annotation", std::string("'") + key + "' must be text");
    *field = j[key].get<std::string>();
  }
  return a;
}

// Hides what a blinded first read must not show before the consultant's initial impression.
json blinded_view(json case_json, bool blind) {
  if (!blind) return case_json;
  json& r = case_json["original_report"];
  for (const char* f : {"diagnosis", "grade", "stage", "full_text", "histologic_type"}) {
    if (r.contains(f)) r[f] = nullptr;
  }
  case_json["original_report_hidden"] = true;
  return case_json;
}

double days_between(const std::string& from, const std::string& to) {
  const auto parse = [](const std::string& s) {
    std::tm tm{};
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
    std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &y, &mo, &d, &h, &mi, &sec);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    return timegm(&tm);
  };
  return static_cast<double>(parse(to) - parse(from)) / 86400.0;
}

}  // namespace

HttpResponse RecordRoutes::dispatch(Call& c) {
  const auto& p = c.parts;  // p[0] == "api"
  const HttpRequest& req = c.req;
  const std::string& m = c.method;
  const auto is = [&](const char* method, std::size_t n) { return m == method && p.size() == n; };
  const auto slide_info = [&](const std::string& slide_id) -> const SlideInfo* {
    auto e = catalog_.find(slide_id);
    return e && e->error.empty() ? &e->slide->info() : nullptr;
  };
  const auto case_json = [&](const CaseRecord& rec) {
    json j = to_json(rec);
    const std::string today = utc_now().substr(0, 10);
    j["overdue"] = rec.status != "signed_out" && !rec.due_at.empty() && rec.due_at.substr(0, 10) < today;
    j["turnaround_days"] =
        rec.signed_out_at
            ? json(days_between(rec.requested_at.size() == 10 ? rec.requested_at + "T00:00:00" : rec.requested_at,
                                *rec.signed_out_at))
            : json(nullptr);
    bool blind = false;
    if (rec.blinded_first_read && c.who.role == Role::consultant) {
      blind = !store_.report(rec.id).initial_impression.has_value();
    }
    return blinded_view(j, blind);
  };
  const auto load_case_for = [&](std::string_view id_text, Action action) {
    const std::int64_t id = parse_id(id_text, "case ID");
    require(decide(c.who, action, store_.relation(c.who, id)), "case " + std::to_string(id));
    return id;
  };
  const auto audit_read = [&](const std::string& resource) {
    store_.audit({0, "", c.who.name, c.actor.address, "read", resource, ""});
  };

  // The route table decides first: an unknown path is 404, a known path with another method 405.
  {
    bool path_known = false, method_known = false;
    for (const auto& r : server_routes()) {
      const auto tp = split_path(r.path);
      if (tp.size() != p.size()) continue;
      bool match = true;
      for (std::size_t i = 0; i < tp.size() && match; ++i) {
        // A literal segment beats a parameter: /api/cases/overdue is not /api/cases/{case_id}.
        match = tp[i] == p[i] || (tp[i].starts_with("{") && !(i == 2 && p[i] == "overdue" && p[1] == "cases"));
      }
      if (!match) continue;
      path_known = true;
      method_known = method_known || r.method == m;
    }
    if (!path_known) return error_response(req, 404, "not found", "no such route");
    if (!method_known) return error_response(req, 405, "method not allowed", m + " is not served on this path");
  }
  const std::string_view top = p[1];

  if (top == "openapi.json" && is("GET", 2)) {
    if (openapi_.empty()) return error_response(req, 500, "no OpenAPI document", "the server has no openapi.json");
    return bytes_response(req, openapi_, "application/json");
  }
  if (top == "me" && is("GET", 2)) {
    auto u = store_.find_user(c.who.name);
    return ok(req, u ? to_json(*u) : json{{"name", c.who.name}});
  }

  if (top == "users") {
    if (is("GET", 2)) {
      require_admin(c.who);
      json list = json::array();
      for (const auto& u : store_.list_users()) list.push_back(to_json(u));
      return ok(req, {{"users", list}});
    }
    if (is("POST", 2)) {
      require_admin(c.who);
      const json b = parse_body(req);
      const auto role = parse_role(text_field(b, "role"));
      if (!role) throw RecordError(400, "invalid role", "role must be consultant, referrer, board or admin");
      std::vector<std::string> boards;
      if (b.contains("boards") && b["boards"].is_array()) {
        for (const auto& x : b["boards"]) {
          if (x.is_string()) boards.push_back(x.get<std::string>());
        }
      }
      const std::string display = b.contains("display_name") && b["display_name"].is_string()
                                      ? b["display_name"].get<std::string>()
                                      : std::string();
      return ok(req, to_json(store_.create_user(text_field(b, "name"), display, *role, boards, c.actor)),
                http::status::created);
    }
    if (p.size() == 4 && p[3] == "tokens") {
      const std::string user(p[2]);
      if (c.who.role != Role::admin && c.who.name != user) {
        throw RecordError(403, "forbidden", "only an admin or the user themself manages their tokens");
      }
      if (m == "GET") {
        if (!store_.find_user(user)) throw RecordError(404, "not found", "no user named '" + user + "'");
        json list = json::array();
        for (const auto& t : store_.list_tokens(user)) {
          list.push_back({{"id", t.id},
                          {"label", t.label},
                          {"created_at", t.created_at},
                          {"revoked_at", t.revoked_at ? json(*t.revoked_at) : json(nullptr)}});
        }
        return ok(req, {{"tokens", list}});
      }
      if (m == "POST") {
        const json b = req.body().empty() ? json::object() : parse_body(req);
        const std::string label = b.contains("label") && b["label"].is_string() ? b["label"].get<std::string>() : "";
        const std::string token = new_api_token();
        const std::int64_t id = store_.add_token(user, label, api_token_hash(token), c.actor);
        // Shown this once; the record keeps only its hash.
        return ok(req, {{"id", id}, {"user", user}, {"label", label}, {"token", token}}, http::status::created);
      }
    }
  }
  if (top == "tokens" && is("DELETE", 3)) {
    const std::int64_t id = parse_id(p[2], "token ID");
    if (c.who.role != Role::admin) {
      bool own = false;
      for (const auto& t : store_.list_tokens(c.who.name)) own = own || t.id == id;
      if (!own) throw RecordError(403, "forbidden", "only an admin or the token's owner revokes it");
    }
    store_.revoke_token(id, c.actor);
    return ok(req, {{"revoked", id}});
  }

  if (top == "cases") {
    if (is("GET", 2) || (is("GET", 3) && p[2] == "overdue")) {
      const bool overdue_only = p.size() == 3;
      json list = json::array();
      for (const auto& rec : store_.cases_for(c.who)) {
        json j = case_json(rec);
        if (!overdue_only || j["overdue"].get<bool>()) list.push_back(j);
      }
      audit_read(overdue_only ? "cases/overdue" : "cases");
      return ok(req, {{"cases", list}});
    }
    if (is("POST", 2)) {
      require_admin(c.who);
      const CaseRecord rec = case_from_json(parse_body(req));
      for (const auto& s : rec.slides) {
        if (!catalog_.find(s.slide_id)) throw RecordError(422, "unknown slide", "no slide has ID " + s.slide_id);
      }
      return ok(req, case_json(store_.create_case(rec, c.actor)), http::status::created);
    }
    if (p.size() < 3) return error_response(req, 404, "not found", "no such route");
    if (is("GET", 3)) {
      const std::int64_t id = load_case_for(p[2], Action::read_case);
      audit_read("case/" + std::to_string(id));
      return ok(req, case_json(*store_.get_case(id)));
    }
    if (is("PATCH", 3)) {
      const std::int64_t id = load_case_for(p[2], Action::manage_case);
      const json b = parse_body(req);
      store_.set_status(id, text_field(b, "status"), c.actor);
      return ok(req, case_json(*store_.get_case(id)));
    }
    const std::int64_t case_id = parse_id(p[2], "case ID");
    const std::string_view sub = p.size() > 3 ? p[3] : std::string_view();
    if (is("POST", 4) && (sub == "consultants" || sub == "boards" || sub == "slides")) {
      load_case_for(p[2], Action::manage_case);
      const json b = parse_body(req);
      if (sub == "consultants") store_.assign(case_id, text_field(b, "name"), c.actor);
      if (sub == "boards") store_.share(case_id, text_field(b, "name"), c.actor);
      if (sub == "slides") {
        const std::string sid = text_field(b, "slide_id");
        if (!catalog_.find(sid)) throw RecordError(422, "unknown slide", "no slide has ID " + sid);
        store_.attach_slide(case_id,
                            {sid, b.contains("label") && b["label"].is_string() ? b["label"].get<std::string>() : ""},
                            c.actor);
      }
      return ok(req, case_json(*store_.get_case(case_id)));
    }
    if (sub == "report") {
      if (is("GET", 4)) {
        load_case_for(p[2], Action::read_consult_report);
        audit_read("case/" + std::to_string(case_id) + "/report");
        const ConsultReport r = store_.report(case_id);
        HttpResponse res = ok(req, to_json(r));
        res.set(http::field::etag, "\"" + std::to_string(r.version) + "\"");
        return res;
      }
      if (is("PUT", 4)) {
        load_case_for(p[2], Action::write_consult_report);
        const json b = parse_body(req);
        std::optional<std::int64_t> version = if_match_version(req);
        if (!version && b.is_object() && b.contains("version") && b["version"].is_number_integer()) {
          version = b["version"].get<std::int64_t>();
        }
        if (!version) {
          throw RecordError(428, "version required",
                            "send the version the draft is based on (If-Match or \"version\"); 0 for a new draft");
        }
        // A blinded read records the initial impression before the original is shown.
        const ConsultReport r = store_.save_report(case_id, b, version, c.actor);
        HttpResponse res = ok(req, to_json(r));
        res.set(http::field::etag, "\"" + std::to_string(r.version) + "\"");
        return res;
      }
      if (is("POST", 5) && p[4] == "sign") {
        load_case_for(p[2], Action::write_consult_report);
        return ok(req, to_json(store_.sign_report(case_id, if_match_version(req), c.actor)));
      }
      if (is("POST", 5) && p[4] == "addenda") {
        load_case_for(p[2], Action::write_consult_report);
        return ok(req, to_json(store_.add_addendum(case_id, text_field(parse_body(req), "text"), c.actor)),
                  http::status::created);
      }
    }
    if (sub == "comparison" && is("GET", 4)) {
      load_case_for(p[2], Action::read_consult_report);
      const auto rec = store_.get_case(case_id);
      const ConsultReport r = store_.report(case_id);
      if (rec->blinded_first_read && c.who.role == Role::consultant && !r.initial_impression) {
        throw RecordError(409, "blinded first read", "record the initial impression before the comparison is shown");
      }
      audit_read("case/" + std::to_string(case_id) + "/comparison");
      json cmp = compare_reports(rec->original_report, r);
      cmp["blinded_first_read"] = rec->blinded_first_read;
      cmp["initial_impression"] = r.initial_impression ? *r.initial_impression : json(nullptr);
      return ok(req, cmp);
    }
    if (sub == "report.pdf" && is("GET", 4)) {
      // The consult report on paper: same rights as reading it; the snapshots read the slides.
      load_case_for(p[2], Action::read_consult_report);
      const auto rec = store_.get_case(case_id);
      if (!rec) throw RecordError(404, "not found", "no case " + std::to_string(case_id));
      const ConsultReport r = store_.report(case_id);
      if (rec->blinded_first_read && c.who.role == Role::consultant && !r.initial_impression) {
        throw RecordError(409, "blinded first read", "record the initial impression before the report is printed");
      }
      ReportDocument doc{*rec, compare_reports(rec->original_report, r), r, {}, {}, utc_now()};
      for (const auto& name : rec->consultants) doc.display_names[name] = "";
      if (!rec->referrer.empty()) doc.display_names[rec->referrer] = "";
      if (r.signed_by) doc.display_names[*r.signed_by] = "";
      for (const auto& a : r.addenda) doc.display_names[a.author] = "";
      for (const auto& ref : r.annotation_refs) {
        const auto a = store_.annotation(ref);
        if (!a || a->case_id != case_id) {
          ReportSnapshot gone;
          gone.annotation_id = ref;
          gone.unavailable = "annotation " + std::to_string(ref) + " is no longer part of this case";
          doc.snapshots.push_back(std::move(gone));
          continue;
        }
        std::string label;
        for (const auto& s : rec->slides) {
          if (s.slide_id == a->slide_id) label = s.label;
        }
        const auto entry = catalog_.find(a->slide_id);
        doc.display_names[a->author] = "";
        doc.snapshots.push_back(snapshot_of(*a, entry && entry->error.empty() ? entry->slide.get() : nullptr, label));
      }
      for (auto& [name, display] : doc.display_names) {
        if (const auto u = store_.find_user(name)) display = u->display_name;
      }
      audit_read("case/" + std::to_string(case_id) + "/report.pdf");
      HttpResponse res = bytes_response(req, render_report_pdf(doc), "application/pdf");
      res.set(http::field::cache_control, "no-store");
      return res;
    }
    if (sub == "slides" && p.size() >= 6 && p[5] == "annotations") {
      const std::string slide_id(p[4]);
      if (!is_slide_id(slide_id)) throw RecordError(404, "unknown slide", "no slide has this ID");
      const auto rec_slides = [&] {
        const auto rec = store_.get_case(case_id);
        if (!rec) throw RecordError(404, "not found", "no case " + std::to_string(case_id));
        for (const auto& s : rec->slides) {
          if (s.slide_id == slide_id) return;
        }
        throw RecordError(404, "not found", "slide " + slide_id + " is not part of case " + std::to_string(case_id));
      };
      const SlideInfo* info = slide_info(slide_id);
      if (is("GET", 6)) {
        load_case_for(p[2], Action::read_annotations);
        rec_slides();
        audit_read("case/" + std::to_string(case_id) + "/slide/" + slide_id + "/annotations");
        json list = json::array();
        for (const auto& a : store_.annotations(case_id, slide_id)) list.push_back(annotation_json(a, info));
        return ok(req, {{"annotations", list}});
      }
      if (is("POST", 6)) {
        load_case_for(p[2], Action::write_annotations);
        rec_slides();
        Annotation a = annotation_from_json(parse_body(req), info);
        a.case_id = case_id;
        a.slide_id = slide_id;
        // A create resent with the client_uid of one already made (the viewer's offline queue after a
        // crash or a lost answer) is 200 with that annotation as it is now, and creates nothing.
        const AnnotationCreation made = store_.create_annotation(a, c.actor);
        HttpResponse res =
            ok(req, annotation_json(made.annotation, info), made.created ? http::status::created : http::status::ok);
        res.set(http::field::etag, "\"" + std::to_string(made.annotation.version) + "\"");
        return res;
      }
      if (p.size() == 7 && (p[6] == "import" || p[6] == "export")) {
        load_case_for(p[2], p[6] == "import" ? Action::write_annotations : Action::read_annotations);
        const std::string format_name = query_value(c.query, "format");
        const auto format = parse_interchange_format(format_name.empty() ? "geojson" : format_name);
        if (!format) {
          throw RecordError(400, "unknown format", "format must be geojson (QuPath), asap or imagescope");
        }
        if (p[6] == "import" && m == "POST") {
          load_case_for(p[2], Action::write_annotations);
          rec_slides();
          if (info == nullptr) throw RecordError(422, "unreadable slide", "the slide cannot be read");
          std::vector<InterchangeAnnotation> imported;
          try {
            imported = import_annotations(req.body(), *format,
                                          ImportLimits{static_cast<double>(info->level_dimensions.front().width),
                                                       static_cast<double>(info->level_dimensions.front().height)});
          } catch (const InterchangeError& e) {
            throw RecordError(400, "invalid import", e.what());
          }
          std::vector<Annotation> rows;
          rows.reserve(imported.size());
          for (auto& ia : imported) {
            Annotation a;
            a.case_id = case_id;
            a.slide_id = slide_id;
            a.geometry = to_geojson(ia.geometry);
            a.class_name = ia.class_name;
            a.class_color = ia.color;
            a.label = ia.label;
            a.comment = ia.comment;
            rows.push_back(std::move(a));
          }
          const auto created = store_.import_annotations(rows, c.actor);
          return ok(req, {{"imported", created.size()}}, http::status::created);
        }
        if (p[6] == "export" && m == "GET") {
          load_case_for(p[2], Action::read_annotations);
          rec_slides();
          std::vector<InterchangeAnnotation> out;
          for (const auto& a : store_.annotations(case_id, slide_id)) {
            out.push_back({parse_geojson_geometry(a.geometry), a.class_name, a.class_color, a.label, a.comment});
          }
          std::string text;
          try {
            text = export_annotations(out, *format);
          } catch (const InterchangeError& e) {
            throw RecordError(422, "cannot export", e.what());
          }
          audit_read("case/" + std::to_string(case_id) + "/slide/" + slide_id + "/annotations");
          return bytes_response(
              req, text, *format == InterchangeFormat::qupath_geojson ? "application/geo+json" : "application/xml");
        }
      }
    }
  }

  if (top == "annotations" && p.size() == 3) {
    const std::int64_t id = parse_id(p[2], "annotation ID");
    const auto current = store_.annotation(id);
    if (!current) throw RecordError(404, "not found", "no annotation " + std::to_string(id));
    const SlideInfo* info = slide_info(current->slide_id);
    if (m == "GET") {
      require(decide(c.who, Action::read_annotations, store_.relation(c.who, current->case_id)),
              "annotation " + std::to_string(id));
      audit_read("annotation/" + std::to_string(id));
      HttpResponse res = ok(req, annotation_json(*current, info));
      res.set(http::field::etag, "\"" + std::to_string(current->version) + "\"");
      return res;
    }
    if (m == "PUT" || m == "DELETE") {
      require(decide(c.who, Action::write_annotations, store_.relation(c.who, current->case_id)),
              "annotation " + std::to_string(id));
      const auto version = if_match_version(req);
      if (!version) {
        throw RecordError(428, "If-Match required", "send If-Match with the version the change is based on");
      }
      if (m == "DELETE") {
        store_.delete_annotation(id, *version, c.actor);
        return ok(req, {{"deleted", id}});
      }
      Annotation a = annotation_from_json(parse_body(req), info);
      check_client_uid_kept(current->client_uid, a.client_uid);
      a.id = id;
      a.client_uid = current->client_uid;
      const Annotation updated = store_.update_annotation(a, *version, c.actor);
      HttpResponse res = ok(req, annotation_json(updated, info));
      res.set(http::field::etag, "\"" + std::to_string(updated.version) + "\"");
      return res;
    }
  }

  if (top == "audit" && is("GET", 2)) {
    require_admin(c.who);
    AuditQuery q;
    const auto opt = [&](const char* key) -> std::optional<std::string> {
      std::string v = query_value(c.query, key);
      return v.empty() ? std::nullopt : std::optional<std::string>(v);
    };
    q.user = opt("user");
    q.action = opt("action");
    q.resource_prefix = opt("resource");
    q.since = opt("since");
    q.until = opt("until");
    if (auto l = opt("limit")) q.limit = static_cast<int>(std::min<std::int64_t>(parse_id(*l, "limit"), 100000));
    json list = json::array();
    for (const auto& e : store_.audit_entries(q)) list.push_back(to_json(e));
    return ok(req, {{"entries", list}});
  }

  // The path names a route with another method, or nothing at all.
  for (const auto& r : server_routes()) {
    const auto tp = split_path(r.path);
    if (tp.size() != p.size()) continue;
    bool match = true;
    for (std::size_t i = 0; i < tp.size() && match; ++i) match = tp[i].starts_with("{") || tp[i] == p[i];
    if (match) return error_response(req, 405, "method not allowed", m + " is not served on " + r.path);
  }
  return error_response(req, 404, "not found", "no such route");
}

}  // namespace reread
