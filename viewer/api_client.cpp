// reread-server's API over Boost.Beast: one keep-alive connection per caller, each operation run to
// completion on the caller's thread under a deadline (Beast's timeouts only apply to async operations).
#include "api_client.h"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>
#include <thread>

namespace reread::viewer {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

ServerAddress parse_base_url(const std::string& base_url) {
  constexpr std::string_view scheme = "http://";
  if (base_url.rfind("https://", 0) == 0) {
    throw std::invalid_argument("server URL '" + base_url + "': https is not supported, use http://");
  }
  if (base_url.rfind(scheme, 0) != 0) {
    throw std::invalid_argument("server URL '" + base_url + "' must start with http://");
  }
  std::string rest = base_url.substr(scheme.size());
  ServerAddress a;
  const auto slash = rest.find('/');
  if (slash != std::string::npos) {
    a.prefix = rest.substr(slash);
    rest.resize(slash);
    while (!a.prefix.empty() && a.prefix.back() == '/') a.prefix.pop_back();
  }
  const auto colon = rest.rfind(':');
  if (colon != std::string::npos && rest.find(']', colon) == std::string::npos) {
    a.port = rest.substr(colon + 1);
    rest.resize(colon);
    int port = 0;
    const auto [end, ec] = std::from_chars(a.port.data(), a.port.data() + a.port.size(), port);
    if (ec != std::errc() || end != a.port.data() + a.port.size() || port < 1 || port > 65535) {
      throw std::invalid_argument("server URL '" + base_url + "': bad port '" + a.port + "'");
    }
  }
  if (rest.size() > 2 && rest.front() == '[' && rest.back() == ']') rest = rest.substr(1, rest.size() - 2);
  if (rest.empty()) throw std::invalid_argument("server URL '" + base_url + "' names no host");
  a.host = rest;
  return a;
}

struct HttpConnection::Impl {
  ServerAddress address;
  std::chrono::milliseconds connect_timeout, request_timeout;
  net::io_context io;
  std::optional<beast::tcp_stream> stream;  // engaged while connected
  beast::flat_buffer buffer;
  std::atomic<bool> interrupted{false};

  // Starts one asynchronous operation and runs the io_context until it completes: the caller waits as a
  // synchronous call would, but the deadline set on the stream (or a timer) applies. After interrupt()
  // the io_context is never run again, so the abandoned operation's handler, which refers to this
  // frame, is destroyed with the io_context without being called.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code result;
    bool done = false;
    io.restart();
    if (interrupted.load()) return net::error::operation_aborted;
    start([&](beast::error_code ec) {
      result = ec;
      done = true;
    });
    io.run();
    return done ? result : beast::error_code(net::error::operation_aborted);
  }

  [[noreturn]] void fail(const std::string& what, beast::error_code ec) {
    close();
    if (interrupted.load()) throw TransportError("connection to " + address.authority() + " closed (shutting down)");
    throw TransportError(what + ": " + ec.message());
  }

  void connect() {
    tcp::resolver resolver(io);
    tcp::resolver::results_type endpoints;
    net::steady_timer deadline(io);
    auto ec = run([&](auto done) {
      // The resolver has no deadline of its own: a timer cancels it.
      deadline.expires_after(connect_timeout);
      deadline.async_wait([&](beast::error_code e) {
        if (!e) resolver.cancel();
      });
      resolver.async_resolve(address.host, address.port, [&, done](beast::error_code e, tcp::resolver::results_type r) {
        deadline.cancel();
        endpoints = std::move(r);
        done(e);
      });
    });
    if (ec) fail("cannot resolve " + address.host, ec);
    stream.emplace(io);
    stream->expires_after(connect_timeout);
    ec = run([&](auto done) {
      stream->async_connect(endpoints, [done](beast::error_code e, const tcp::endpoint&) { done(e); });
    });
    if (ec) fail("cannot connect to " + address.authority(), ec);
  }

  void write_request(const std::string& target, const std::string& token) {
    write_request(OutgoingRequest{"GET", target, token, {}, {}, {}});
  }

  void write_request(const OutgoingRequest& r) {
    const http::verb method = http::string_to_verb(r.method);
    if (method == http::verb::unknown) throw std::invalid_argument("unknown HTTP method '" + r.method + "'");
    http::request<http::string_body> req{method, address.prefix + r.target, 11};
    req.set(http::field::host, address.authority());
    req.set(http::field::user_agent, "reread-viewer");
    if (!r.token.empty()) req.set(http::field::authorization, "Bearer " + r.token);
    for (const auto& [name, value] : r.headers) req.set(name, value);
    if (!r.body.empty() && !r.content_type.empty()) req.set(http::field::content_type, r.content_type);
    req.body() = r.body;
    req.keep_alive(true);
    req.prepare_payload();
    stream->expires_after(request_timeout);
    auto ec =
        run([&](auto done) { http::async_write(*stream, req, [done](beast::error_code e, std::size_t) { done(e); }); });
    if (ec) fail("connection to " + address.authority() + " lost", ec);
  }

  HttpReply read_response() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{256} << 20);
    stream->expires_after(request_timeout);
    auto ec = run([&](auto done) {
      http::async_read(*stream, buffer, parser, [done](beast::error_code e, std::size_t) { done(e); });
    });
    if (ec == beast::error::timeout) {
      fail("no answer from " + address.authority() + " within " + std::to_string(request_timeout.count()) + " ms", ec);
    }
    if (ec) fail("connection to " + address.authority() + " lost", ec);
    auto& res = parser.get();
    HttpReply reply;
    reply.status = static_cast<int>(res.result_int());
    reply.content_type = std::string(res[http::field::content_type]);
    reply.etag = std::string(res[http::field::etag]);
    reply.body = std::move(res.body());
    if (!res.keep_alive()) close();
    return reply;
  }

  HttpReply exchange(const OutgoingRequest& r) {
    write_request(r);
    return read_response();
  }

  void close() {
    if (!stream) return;
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream->close();
    stream.reset();
    buffer.clear();
  }
};

HttpConnection::HttpConnection(ServerAddress address, std::chrono::milliseconds connect_timeout,
                               std::chrono::milliseconds request_timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->connect_timeout = connect_timeout;
  impl_->request_timeout = request_timeout;
}

HttpConnection::~HttpConnection() {
  if (impl_) impl_->close();
}

HttpReply HttpConnection::get(const std::string& target, const std::string& token) {
  return request(OutgoingRequest{"GET", target, token, {}, {}, {}});
}

HttpReply HttpConnection::request(const OutgoingRequest& r) {
  const bool reused = impl_->stream.has_value();
  if (!reused) impl_->connect();
  try {
    return impl_->exchange(r);
  } catch (const TransportError&) {
    // A keep-alive connection the server closed while idle fails on first use: one fresh try.
    if (!reused || impl_->interrupted.load()) throw;
  }
  impl_->connect();
  return impl_->exchange(r);
}

void HttpConnection::connect() {
  if (!impl_->stream) impl_->connect();
}

void HttpConnection::send(const std::string& target, const std::string& token) {
  if (!impl_->stream) impl_->connect();
  impl_->write_request(target, token);
}

HttpReply HttpConnection::receive() {
  if (!impl_->stream) {
    throw TransportError("connection to " + impl_->address.authority() + " closed before the answer came");
  }
  return impl_->read_response();
}

bool HttpConnection::is_open() const { return impl_->stream.has_value(); }
void HttpConnection::close() { impl_->close(); }
void HttpConnection::interrupt() {
  // The flag first: run() checks it after restart(), so a stop() that lands before restart() is not lost.
  impl_->interrupted.store(true);
  impl_->io.stop();
}
bool HttpConnection::interrupted() const { return impl_->interrupted.load(); }
const ServerAddress& HttpConnection::address() const { return impl_->address; }

ConnectionPool::ConnectionPool(ServerAddress address, std::chrono::milliseconds connect_timeout,
                               std::chrono::milliseconds request_timeout)
    : address_(std::move(address)), connect_timeout_(connect_timeout), request_timeout_(request_timeout) {}

ConnectionPool::~ConnectionPool() {
  std::vector<std::jthread> openers;
  {
    std::lock_guard lock(mutex_);
    openers.swap(openers_);
    for (HttpConnection* c : opening_) c->interrupt();
  }
  openers.clear();  // joins
}

void ConnectionPool::prewarm(int count) {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < count; ++i) {
    auto connection = std::make_unique<HttpConnection>(address_, connect_timeout_, request_timeout_);
    HttpConnection* raw = connection.get();
    opening_.push_back(raw);
    openers_.emplace_back([this, c = std::move(connection)]() mutable {
      try {
        c->connect();
      } catch (const TransportError&) {
        // Not reached now: whoever takes it connects on first use and reports what is wrong then.
      }
      std::lock_guard joined(mutex_);
      std::erase(opening_, c.get());
      if (c->is_open()) idle_.push_back(std::move(c));
    });
  }
}

std::unique_ptr<HttpConnection> ConnectionPool::take() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
  }
  return std::make_unique<HttpConnection>(address_, connect_timeout_, request_timeout_);
}

void ConnectionPool::give_back(std::unique_ptr<HttpConnection> connection) {
  if (!connection || !connection->is_open() || connection->interrupted()) return;
  std::lock_guard lock(mutex_);
  if (idle_.size() < kMaxIdle) idle_.push_back(std::move(connection));
}

std::size_t ConnectionPool::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

std::string version_tag(std::int64_t version) { return "\"" + std::to_string(version) + "\""; }

std::string describe_http_error(int status, const std::string& body) {
  std::string error, detail;
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("error") && j["error"].is_string()) error = j["error"].get<std::string>();
    if (j.contains("detail") && j["detail"].is_string()) detail = j["detail"].get<std::string>();
  }
  std::string said = std::to_string(status);
  if (!error.empty()) said += " " + error;
  if (!detail.empty()) said += ": " + detail;
  if (status == 401) return "the server did not accept the token (" + said + ")";
  if (status == 403) return "this user may not see it (" + said + ")";
  if (status == 404) return "not found (" + said + ")";
  if (status >= 500) return "server error (" + said + ")";
  return "HTTP " + said;
}

ApiClient::ApiClient(std::string base_url, std::string token, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)),
      token_(std::move(token)),
      connection_(std::make_unique<HttpConnection>(parse_base_url(base_url_), timeout, timeout)) {}

ApiClient::~ApiClient() = default;

void ApiClient::connect() {
  std::lock_guard lock(mutex_);
  try {
    connection_->connect();
  } catch (const TransportError&) {
  }
}

HttpReply ApiClient::request(const std::string& path) {
  HttpReply reply;
  try {
    std::lock_guard lock(mutex_);
    reply = connection_->get(path, token_);
  } catch (const TransportError& e) {
    throw ApiError(0, "unreachable", e.what(), std::string("server unreachable: ") + e.what());
  }
  if (reply.status / 100 != 2) {
    std::string error = "http_" + std::to_string(reply.status), detail;
    const auto j = nlohmann::json::parse(reply.body, nullptr, false);
    if (j.is_object() && j.contains("error") && j["error"].is_string()) error = j["error"].get<std::string>();
    if (j.is_object() && j.contains("detail") && j["detail"].is_string()) detail = j["detail"].get<std::string>();
    throw ApiError(reply.status, error, detail, "GET " + path + ": " + describe_http_error(reply.status, reply.body));
  }
  return reply;
}

nlohmann::json ApiClient::get(const std::string& path) {
  const HttpReply reply = request(path);
  auto j = nlohmann::json::parse(reply.body, nullptr, false);
  if (j.is_discarded()) {
    throw ApiError(reply.status, "bad_response", "not JSON", "GET " + path + ": the server's answer is not JSON");
  }
  return j;
}

std::string ApiClient::get_bytes(const std::string& path) { return request(path).body; }

HttpReply ApiClient::send(OutgoingRequest r) {
  r.token = token_;
  try {
    std::lock_guard lock(mutex_);
    return connection_->request(r);
  } catch (const TransportError& e) {
    throw ApiError(0, "unreachable", e.what(), r.method + " " + r.target + ": server unreachable: " + e.what());
  }
}

HttpReply ApiClient::post_json(const std::string& path, const nlohmann::json& body, const std::string& if_match) {
  OutgoingRequest r{"POST", path, {}, body.dump(), "application/json", {}};
  if (!if_match.empty()) r.headers.emplace_back("If-Match", if_match);
  return send(std::move(r));
}

HttpReply ApiClient::post_bytes(const std::string& path, std::string body, const std::string& content_type) {
  return send({"POST", path, {}, std::move(body), content_type, {}});
}

HttpReply ApiClient::put_json(const std::string& path, const nlohmann::json& body, const std::string& if_match) {
  OutgoingRequest r{"PUT", path, {}, body.dump(), "application/json", {}};
  if (!if_match.empty()) r.headers.emplace_back("If-Match", if_match);
  return send(std::move(r));
}

HttpReply ApiClient::delete_(const std::string& path, const std::string& if_match) {
  OutgoingRequest r{"DELETE", path, {}, {}, {}, {}};
  if (!if_match.empty()) r.headers.emplace_back("If-Match", if_match);
  return send(std::move(r));
}

void ApiClient::interrupt() { connection_->interrupt(); }

SlideLayout ApiClient::slide_layout(const std::string& slide_id) {
  const std::string path = "/api/slides/" + slide_id;
  const nlohmann::json j = get(path);
  if (j.value("status", "ok") != "ok") {
    const std::string why = j.value("error", "unreadable");
    throw ApiError(200, "unreadable", why, "slide " + slide_id + " cannot be read by the server: " + why);
  }
  const auto number = [&](const char* key) -> std::optional<double> {
    if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
    return j[key].get<double>();
  };
  SlideLayout s;
  try {
    s.layout.width = j.at("width").get<std::int64_t>();
    s.layout.height = j.at("height").get<std::int64_t>();
    if (j.contains("deepzoom") && j["deepzoom"].is_object()) {
      s.layout.tile_size = j["deepzoom"].value("tile_size", s.layout.tile_size);
      s.layout.overlap = j["deepzoom"].value("overlap", s.layout.overlap);
    }
  } catch (const nlohmann::json::exception& e) {
    throw ApiError(200, "bad_response", e.what(), "GET " + path + ": no slide size in the answer (" + e.what() + ")");
  }
  s.mpp_x = number("mpp_x");
  s.mpp_y = number("mpp_y");
  s.objective_power = number("objective_power");
  return s;
}

}  // namespace reread::viewer
