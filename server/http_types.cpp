#include "http_types.h"

#include <nlohmann/json.hpp>

namespace reread {

namespace {

HttpResponse make(const HttpRequest& req, http::status status, std::string body, std::string_view content_type) {
  HttpResponse res{status, req.version()};
  res.set(http::field::server, "Reread");
  res.set(http::field::content_type, std::string(content_type));
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

}  // namespace

HttpResponse json_error(const HttpRequest& req, http::status status, std::string_view error, std::string_view detail) {
  const nlohmann::json body = {{"error", error}, {"detail", detail}};
  HttpResponse res = make(req, status, body.dump(), "application/json");
  res.set(http::field::cache_control, "no-store");
  return res;
}

HttpResponse json_response(const HttpRequest& req, http::status status, std::string body) {
  return make(req, status, std::move(body), "application/json");
}

HttpResponse bytes_response(const HttpRequest& req, std::string body, std::string_view content_type) {
  return make(req, http::status::ok, std::move(body), content_type);
}

}  // namespace reread
