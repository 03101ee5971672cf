// The HTTP vocabulary shared by the server's routes: Beast request/response types and JSON errors.
#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <string>
#include <string_view>

namespace reread {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;
// Routes answer through this, now or later from a worker thread; it must be called exactly once.
using Respond = std::function<void(HttpResponse&&)>;

struct RequestContext {
  std::string remote_address;
  // Set by the access gate for users who may see only some slides: the slide list keeps those.
  std::function<bool(const std::string& slide_id)> slide_visible;
};

// Every error the server sends: {"error": <short reason>, "detail": <what exactly was wrong>}.
HttpResponse json_error(const HttpRequest& req, http::status status, std::string_view error, std::string_view detail);
HttpResponse json_response(const HttpRequest& req, http::status status, std::string body);
HttpResponse bytes_response(const HttpRequest& req, std::string body, std::string_view content_type);

}  // namespace reread
