// The viewer's client of reread-server: a small synchronous JSON API client for its screens, and the
// keep-alive HTTP connection (with timeouts and reconnection) the tile provider's connections use too.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tile_provider.h"

namespace reread::viewer {

// http://host[:port][/prefix], split.
struct ServerAddress {
  std::string host;
  std::string port = "80";
  std::string prefix;  // "" or "/path", no trailing slash: prepended to every request target
  std::string authority() const { return host + ":" + port; }
};
// Throws std::invalid_argument saying what is wrong (only plain http is spoken).
ServerAddress parse_base_url(const std::string& base_url);

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
  std::string etag;  // the ETag field as sent (e.g. "\"3\""); empty when none
};

// A request beyond a plain GET: any method, a body, extra header fields.
struct OutgoingRequest {
  std::string method = "GET";  // GET, POST, PUT, DELETE, ...
  std::string target;          // below the address's prefix
  std::string token;           // bearer token; none when empty
  std::string body;
  std::string content_type;                                  // of the body, sent when not empty
  std::vector<std::pair<std::string, std::string>> headers;  // more fields, e.g. {"If-Match", "\"3\""}
};

// The ETag / If-Match form of a record version, as reread-server writes it: 3 -> "\"3\"".
std::string version_tag(std::int64_t version);

// The transport failed: no connection, the connection lost, or no answer in time. what() says which, and
// to where.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One HTTP/1.1 keep-alive connection with timeouts, opened on first use and reopened after a loss. Used by
// one thread at a time; interrupt() alone may come from another.
class HttpConnection {
 public:
  HttpConnection(ServerAddress address, std::chrono::milliseconds connect_timeout,
                 std::chrono::milliseconds request_timeout);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // GETs `target` (below the address's prefix) with a bearer token (none when empty). A reused connection
  // the server closed meanwhile is reopened and the request sent again, once. Throws TransportError.
  HttpReply get(const std::string& target, const std::string& token);
  // Any request, with the same reopen-and-send-again-once on a reused connection: a write sent again
  // must be safe to repeat (the record outbox's are: a client_uid on creates, If-Match on the others).
  // Throws TransportError; std::invalid_argument for a method HTTP does not know.
  HttpReply request(const OutgoingRequest& request);
  // Pipelining: send() writes a GET without waiting for its answer (connecting first when closed);
  // receive() reads the answer to the oldest request sent and not yet answered. HTTP/1.1 answers come
  // in request order. Both throw TransportError; after one, the requests sent are lost with the
  // connection and the caller sends them again.
  void send(const std::string& target, const std::string& token);
  HttpReply receive();
  // Opens the connection now, when it is closed (a handshake ahead of the first request).
  void connect();
  bool is_open() const;
  bool interrupted() const;
  void close();
  // From any thread: aborts the operation in progress and fails every later one (for shutdown).
  void interrupt();
  const ServerAddress& address() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Open keep-alive connections to one server, shared by the views: the app opens a few at start, while
// its window comes up, so the first slide's tiles do not wait for handshakes, and a view closed hands
// its connections to the next one opened. Thread-safe.
class ConnectionPool {
 public:
  ConnectionPool(ServerAddress address, std::chrono::milliseconds connect_timeout,
                 std::chrono::milliseconds request_timeout);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;
  // Opens `count` connections on background threads; they join the pool as they connect.
  void prewarm(int count);
  // An open idle connection when there is one, else a new (closed) one that connects on first use.
  std::unique_ptr<HttpConnection> take();
  // Keeps an open connection for the next taker (at most kMaxIdle are kept).
  void give_back(std::unique_ptr<HttpConnection> connection);
  std::size_t idle() const;
  static constexpr std::size_t kMaxIdle = 32;

 private:
  const ServerAddress address_;
  const std::chrono::milliseconds connect_timeout_, request_timeout_;
  mutable std::mutex mutex_;  // guards everything below
  std::vector<std::unique_ptr<HttpConnection>> idle_;
  std::vector<HttpConnection*> opening_;  // owned by their opener threads
  std::vector<std::jthread> openers_;
};

// A sentence for the banner from an HTTP error status and the server's JSON body {"error", "detail"}.
std::string describe_http_error(int status, const std::string& body);

// A failed API call. status 0 and error "unreachable" when the server was not reached at all.
struct ApiError : std::runtime_error {
  int status = 0;
  std::string error, detail;
  ApiError(int status_, std::string error_, std::string detail_, const std::string& message)
      : std::runtime_error(message), status(status_), error(std::move(error_)), detail(std::move(detail_)) {}
};

class ApiClient {
 public:
  // Throws std::invalid_argument for a base_url that is not http://host[:port][/prefix].
  ApiClient(std::string base_url, std::string token, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~ApiClient();
  // GET `path` (e.g. "/api/slides") as JSON. Throws ApiError.
  nlohmann::json get(const std::string& path);
  // GET `path` as bytes (a thumbnail, a label). Throws ApiError.
  std::string get_bytes(const std::string& path);
  // Writes with a JSON body (and DELETE): the reply whatever its status, so that the caller can act on a
  // 4xx itself (the record outbox keeps the status and the server's body). `if_match` is sent as the
  // If-Match field when not empty (see version_tag). Throws ApiError with status 0 ("unreachable") only
  // when no answer came.
  HttpReply post_json(const std::string& path, const nlohmann::json& body, const std::string& if_match = {});
  // A file as the body (an annotation import), same contract as post_json.
  HttpReply post_bytes(const std::string& path, std::string body, const std::string& content_type);
  HttpReply put_json(const std::string& path, const nlohmann::json& body, const std::string& if_match = {});
  HttpReply delete_(const std::string& path, const std::string& if_match = {});
  // Opens the connection ahead of the first request; a server not reached now is reported by that request.
  void connect();
  // From any thread: aborts the request in progress and fails every later one (for shutdown).
  void interrupt();
  // The slide's DeepZoom pyramid and scale from /api/slides/{id}. Throws ApiError.
  SlideLayout slide_layout(const std::string& slide_id);
  const std::string& base_url() const { return base_url_; }

 private:
  HttpReply request(const std::string& path);
  HttpReply send(OutgoingRequest request);

  std::string base_url_, token_;
  std::mutex mutex_;  // serialises use of *connection_: screens may call from more than one thread
  const std::unique_ptr<HttpConnection> connection_;  // interrupt() alone reaches it without mutex_
};

}  // namespace reread::viewer
