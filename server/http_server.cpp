// Beast sessions: read one request (size and time limited), hand it to the handler, write the
// answer when it comes, repeat while the connection is kept alive.
#include "http_server.h"

#include <algorithm>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <mutex>
#include <optional>
#include <vector>

namespace reread {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

struct HttpServer::State {
  State(net::io_context& io_context, HttpLimits l, Handler h, ConnectionObserver o)
      : io(io_context),
        acceptor(net::make_strand(io_context)),
        limits(l),
        handler(std::move(h)),
        observer(std::move(o)) {}
  net::io_context& io;
  tcp::acceptor acceptor;
  HttpLimits limits;
  Handler handler;
  ConnectionObserver observer;
  std::atomic<bool> stopping{false};
  std::atomic<std::size_t> open{0};
  std::mutex sessions_mutex;  // guards sessions
  // Per session: whether it is alive, and how to close it if idle (for shutdown).
  std::vector<std::pair<std::weak_ptr<void>, std::function<void()>>> sessions;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<HttpServer::State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {
    beast::error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) context_.remote_address = endpoint.address().to_string();
    ++state_->open;
    if (state_->observer.opened) state_->observer.opened();
  }
  ~Session() {
    --state_->open;
    if (state_->observer.closed) state_->observer.closed();
  }

  void run() {
    std::weak_ptr<Session> weak = shared_from_this();
    {
      std::lock_guard lock(state_->sessions_mutex);
      std::erase_if(state_->sessions, [](const auto& s) { return s.first.expired(); });
      state_->sessions.emplace_back(weak, [weak] {
        if (auto self = weak.lock()) net::post(self->stream_.get_executor(), [self] { self->close_if_idle(); });
      });
    }
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(state_->limits.header_bytes);
    // Beast checks a Content-Length against the body limit while it reads the header, before the target is
    // known: the larger limit applies until on_header chooses the route's.
    parser_->body_limit(std::max(state_->limits.body_bytes, state_->limits.large_body_bytes));
    stream_.expires_after(served_ == 0 ? state_->limits.request_timeout : state_->limits.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  // Some routes take large bodies (annotation imports); the limit is chosen once the target is known.
  void on_header(beast::error_code ec) {
    if (ec) return on_read(ec);
    const auto target = parser_->get().target();
    const bool large = state_->limits.large_body_route &&
                       state_->limits.large_body_route(std::string_view(target.data(), target.size()));
    const std::uint64_t limit = large ? state_->limits.large_body_bytes : state_->limits.body_bytes;
    if (const auto length = parser_->content_length(); length && *length > limit) {
      return on_read(http::error::body_limit);
    }
    parser_->body_limit(limit);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code e, std::size_t) { self->on_read(e); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return close();
    }
    if (ec) {
      // The request itself is malformed or too large: say so, then hang up.
      HttpRequest stub;
      stub.version(11);
      stub.keep_alive(false);
      if (ec == http::error::header_limit) {
        return send(json_error(stub, http::status::request_header_fields_too_large, "headers too large",
                               "request headers exceed " + std::to_string(state_->limits.header_bytes) + " bytes"));
      }
      if (ec == http::error::body_limit) {
        return send(json_error(stub, http::status::payload_too_large, "body too large",
                               "request body exceeds the limit for this route (" +
                                   std::to_string(state_->limits.body_bytes) + " bytes; annotation imports " +
                                   std::to_string(state_->limits.large_body_bytes) + ")"));
      }
      return send(json_error(stub, http::status::bad_request, "malformed request", ec.message()));
    }
    ++served_;
    busy_ = true;
    // Bound the time the answer may take to write; rendering itself is bounded by the worker pool.
    stream_.expires_never();
    auto self = shared_from_this();
    const bool head = parser_->get().method() == http::verb::head;
    state_->handler(parser_->release(), context_, [self, head](HttpResponse&& res) {
      // HEAD: the headers of the GET answer, no body (routes that know it send none already).
      if (head && !res.body().empty()) {
        const auto size = res.body().size();
        res.body().clear();
        res.content_length(size);
      }
      auto owned = std::make_shared<HttpResponse>(std::move(res));
      net::post(self->stream_.get_executor(), [self, owned] { self->send(std::move(*owned)); });
    });
  }

  void send(HttpResponse&& res) {
    response_ = std::make_shared<HttpResponse>(std::move(res));
    if (state_->stopping) response_->keep_alive(false);
    const bool close_after = !response_->keep_alive();
    stream_.expires_after(std::chrono::seconds(60));
    http::async_write(stream_, *response_, [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
      self->response_.reset();
      if (ec || close_after) return self->close();
      self->read();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // On shutdown: a connection waiting for its next request is closed now; one with a request in
  // hand finishes it (its response goes out with Connection: close).
  void close_if_idle() {
    if (busy_) return;
    beast::error_code ec;
    stream_.socket().cancel(ec);
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> response_;
  std::shared_ptr<HttpServer::State> state_;
  RequestContext context_;
  std::uint64_t served_ = 0;
  bool busy_ = false;  // a request is being answered (touched only on the strand)
};

void accept(const std::shared_ptr<HttpServer::State>& state) {
  state->acceptor.async_accept(net::make_strand(state->io), [state](beast::error_code ec, tcp::socket socket) {
    if (state->stopping || !state->acceptor.is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), state)->run();
    accept(state);
  });
}

}  // namespace

HttpServer::HttpServer(net::io_context& io, const std::string& host, std::uint16_t port, HttpLimits limits,
                       Handler handler, ConnectionObserver observer)
    : state_(std::make_shared<State>(io, limits, std::move(handler), std::move(observer))) {
  const tcp::endpoint endpoint(net::ip::make_address(host), port);
  auto& a = state_->acceptor;
  a.open(endpoint.protocol());
  a.set_option(net::socket_base::reuse_address(true));
  a.bind(endpoint);
  a.listen(net::socket_base::max_listen_connections);
}

HttpServer::~HttpServer() { stop(); }

std::uint16_t HttpServer::port() const { return state_->acceptor.local_endpoint().port(); }

void HttpServer::start() { accept(state_); }

void HttpServer::stop() {
  if (state_->stopping.exchange(true)) return;
  net::post(state_->acceptor.get_executor(), [state = state_] {
    beast::error_code ec;
    state->acceptor.close(ec);
  });
  std::vector<std::pair<std::weak_ptr<void>, std::function<void()>>> sessions;
  {
    std::lock_guard lock(state_->sessions_mutex);
    sessions.swap(state_->sessions);
  }
  for (auto& [alive, close_if_idle] : sessions) close_if_idle();
}

std::size_t HttpServer::open_connections() const { return state_->open; }

}  // namespace reread
