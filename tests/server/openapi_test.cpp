// server/api/openapi.json against the server: the document lists exactly the routes the server registers,
// the server serves the document it was built with, and every documented route answers on a live server.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "record_routes.h"
#include "server_process.h"
#include "synthetic_slide_writer.h"
#include "test_environment.h"

namespace reread {
namespace {

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using nlohmann::json;
using test::http_request;

using Route = std::pair<std::string, std::string>;  // METHOD, path template

json source_document() {
  const fs::path file = test::source_dir() / "server/api/openapi.json";
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  return json::parse(in);
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool is_http_method(const std::string& key) {
  static const std::set<std::string> methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
  return methods.contains(key);
}

std::set<Route> documented_routes(const json& doc) {
  std::set<Route> out;
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [key, operation] : item.items()) {
      if (is_http_method(key)) out.insert({upper(key), path});
    }
  }
  return out;
}

std::string list(const std::set<Route>& routes) {
  std::string out;
  for (const auto& [method, path] : routes) out += "\n  " + method + " " + path;
  return out;
}

TEST(OpenApiDocument, every_registered_route_is_documented_and_every_documented_route_is_registered) {
  const std::set<Route> documented = documented_routes(source_document());
  std::set<Route> registered;
  for (const auto& r : server_routes()) registered.insert({r.method, r.path});

  std::set<Route> undocumented, unregistered;
  std::ranges::set_difference(registered, documented, std::inserter(undocumented, undocumented.end()));
  std::ranges::set_difference(documented, registered, std::inserter(unregistered, unregistered.end()));
  EXPECT_TRUE(undocumented.empty()) << "registered in server_routes() but missing from openapi.json:"
                                    << list(undocumented);
  EXPECT_TRUE(unregistered.empty()) << "documented in openapi.json but not registered in server_routes():"
                                    << list(unregistered);
}

// A server with one synthetic slide, a case holding it and an annotation on it, all made through the API.
class OpenApiServer : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    fs::create_directories(dir_->path() / "slides");
    SyntheticSlideOptions o;
    o.spec = {2000, 1500, 7, 0.25};
    write_synthetic_slide(dir_->path() / "slides/openapi.svs", o);
    server_ = new test::ServerProcess({"--listen", "127.0.0.1:0", "--slides", (dir_->path() / "slides").string(),
                                       "--workers", "2", "--log-level", "warn"});
    const json slides = json::parse(get("/api/slides").body)["slides"];
    ASSERT_EQ(slides.size(), 1u) << slides.dump();
    slide_id_ = slides[0]["id"];

    const json new_case = {{"accession", "OPENAPI-1"},
                           {"patient_ref", "P-1"},
                           {"question", "Grade?"},
                           {"requested_at", "2024-05-02"},
                           {"original_report", {{"diagnosis", "Invasive ductal carcinoma"}}},
                           {"slides", {slide_id_}}};
    const auto c = send(http::verb::post, "/api/cases", new_case.dump());
    ASSERT_EQ(c.status, 201) << c.body;
    case_id_ = std::to_string(json::parse(c.body)["id"].get<std::int64_t>());

    const json annotation = {{"geometry", {{"type", "Point"}, {"coordinates", {100, 100}}}}, {"label", "here"}};
    const auto a =
        send(http::verb::post, "/api/cases/" + case_id_ + "/slides/" + slide_id_ + "/annotations", annotation.dump());
    ASSERT_EQ(a.status, 201) << a.body;
    annotation_id_ = std::to_string(json::parse(a.body)["id"].get<std::int64_t>());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
  }
  static test::HttpResult get(const std::string& target, const std::map<std::string, std::string>& headers = {}) {
    return http_request(server_->port(), target, headers);
  }
  static test::HttpResult send(http::verb method, const std::string& target, const std::string& body) {
    return http_request(server_->port(), target, {{"Content-Type", "application/json"}}, method, body);
  }

  // The documented path with real values in place of its placeholders; fails on one it cannot fill.
  static std::string concrete(const std::string& path) {
    const bool iiif = path.starts_with("/iiif/");
    const std::map<std::string, std::string> values = {
        {"slide_id", slide_id_},
        {"case_id", case_id_},
        {"annotation_id", annotation_id_},
        {"user", "admin"},
        {"token_id", "999999"},  // revoking a real token would succeed; this one is 404
        {"level", "0"},
        {"col", "0"},
        {"row", "0"},
        {"format", iiif ? "jpg" : "jpeg"},
        {"name", "macro"},
        {"region", "full"},
        {"size", "64,"},
        {"rotation", "0"},
        {"quality", "default"},
    };
    static const std::regex placeholder(R"(\{([a-z_]+)\})");
    std::string out;
    std::size_t last = 0;
    for (std::sregex_iterator it(path.begin(), path.end(), placeholder), end; it != end; ++it) {
      const std::string name = (*it)[1];
      const auto v = values.find(name);
      if (v == values.end()) {
        ADD_FAILURE() << path << ": the test has no value for {" << name << "}";
        return path;
      }
      out += path.substr(last, static_cast<std::size_t>(it->position()) - last) + v->second;
      last = static_cast<std::size_t>(it->position() + it->length());
    }
    return out + path.substr(last);
  }

  static test::TempDir* dir_;
  static test::ServerProcess* server_;
  static std::string slide_id_, case_id_, annotation_id_;
};
test::TempDir* OpenApiServer::dir_ = nullptr;
test::ServerProcess* OpenApiServer::server_ = nullptr;
std::string OpenApiServer::slide_id_, OpenApiServer::case_id_, OpenApiServer::annotation_id_;

TEST_F(OpenApiServer, the_server_serves_the_document_it_was_built_with) {
  const auto r = get("/api/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("Content-Type"), "application/json");
  const json served = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(served.is_discarded()) << "the served document is not JSON";
  // On a difference, name where the documents part rather than printing both.
  const json differences = json::diff(source_document(), served);
  std::string where;
  for (std::size_t i = 0; i < differences.size() && i < 10; ++i) {
    where += "\n  " + differences[i]["op"].get<std::string>() + " " + differences[i]["path"].get<std::string>();
  }
  EXPECT_TRUE(differences.empty()) << "the server serves another openapi.json than the source tree's (rebuild it); "
                                   << differences.size() << " differences, first:" << where;
}

TEST_F(OpenApiServer, each_documented_route_answers_on_a_live_server) {
  const json doc = source_document();
  for (const auto& [path, item] : doc.at("paths").items()) {
    for (const auto& [key, operation] : item.items()) {
      if (!is_http_method(key)) continue;
      const std::string method = upper(key);
      const std::string target = concrete(path);
      const std::string what = method + " " + path + " as " + target;
      // Public routes are asked without a token, to show they need none.
      const bool is_public = operation.contains("security") && operation["security"].empty();
      std::map<std::string, std::string> headers;
      if (is_public) headers["Authorization"] = "";
      // Every route that takes a body gets an invalid one: the route must exist and refuse it.
      const bool takes_body = operation.contains("requestBody");
      if (takes_body) headers["Content-Type"] = "application/json";
      const auto r =
          http_request(server_->port(), target, headers, http::string_to_verb(method), takes_body ? "{not json" : "");

      EXPECT_NE(r.status, 405) << what << ": " << r.body;
      const json body = json::parse(r.body, nullptr, false);
      if (r.status >= 400) {
        EXPECT_EQ(r.header("Content-Type"), "application/json") << what;
        if (!body.is_object() || !body.contains("error") || !body.contains("detail")) {
          ADD_FAILURE() << what << ": " << r.status << " without a JSON error: " << r.body.substr(0, 200);
          continue;
        }
        EXPECT_FALSE(r.status == 404 && body["detail"] == "no such route") << what << ": the server has no such route";
      }
      if (method == "GET") {
        EXPECT_EQ(r.status / 100, 2) << what << ": " << r.status << " " << r.body.substr(0, 200);
      } else if (takes_body) {
        EXPECT_EQ(r.status / 100, 4) << what << ": an invalid body got " << r.status << " " << r.body.substr(0, 200);
      }
      EXPECT_TRUE(operation["responses"].contains(std::to_string(r.status)))
          << what << ": answered " << r.status << ", which the document does not list for it";
    }
  }
}

}  // namespace
}  // namespace reread
