// The HTTP/1.1 front end (Boost.Beast): a listener that only accepts, and one session per
// connection driven by completion handlers on its own strand. Requests go to a Handler, which may
// answer later from another thread; I/O threads never wait for a tile.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "http_types.h"

namespace reread {

struct HttpLimits {
  std::uint32_t header_bytes = 8 * 1024;
  std::uint64_t body_bytes = 1024 * 1024;
  // Routes that take up to large_body_bytes instead (annotation imports of up to 1,000,000 vertices).
  std::function<bool(std::string_view target)> large_body_route;
  std::uint64_t large_body_bytes = 128ull * 1024 * 1024;
  std::chrono::seconds request_timeout{10};  // to receive one whole request: slow clients are cut off
  std::chrono::seconds idle_timeout{60};     // between requests on a kept-alive connection
};

using Handler = std::function<void(HttpRequest&&, const RequestContext&, Respond)>;

struct ConnectionObserver {
  std::function<void()> opened, closed;
};

class HttpServer {
 public:
  // Binds and listens at once (throws boost::system::system_error with the address on failure).
  HttpServer(boost::asio::io_context& io, const std::string& host, std::uint16_t port, HttpLimits limits,
             Handler handler, ConnectionObserver observer = {});
  ~HttpServer();
  std::uint16_t port() const;
  void start();
  // Stops accepting and closes idle connections; busy ones finish the request in hand, then close.
  void stop();
  // Connections still open (after stop(): those still finishing a request).
  std::size_t open_connections() const;

  struct State;  // shared with the sessions

 private:
  std::shared_ptr<State> state_;
};

}  // namespace reread
