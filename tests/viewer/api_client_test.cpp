// The viewer's HTTP client alone: server URLs, error sentences for the banner, and a keep-alive
// connection the server closed while idle, reopened without the caller seeing a failure.
#include "api_client.h"

#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>

namespace reread::viewer {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

TEST(ApiClient, parses_server_urls_and_refuses_what_it_cannot_speak) {
  const ServerAddress a = parse_base_url("http://viewer.example:8081/reread/");
  EXPECT_EQ(a.host, "viewer.example");
  EXPECT_EQ(a.port, "8081");
  EXPECT_EQ(a.prefix, "/reread");
  const ServerAddress b = parse_base_url("http://127.0.0.1");
  EXPECT_EQ(b.port, "80");
  EXPECT_EQ(b.prefix, "");
  EXPECT_EQ(parse_base_url("http://[::1]:9000").host, "::1");
  EXPECT_THROW(parse_base_url("https://example.org"), std::invalid_argument);
  EXPECT_THROW(parse_base_url("127.0.0.1:8080"), std::invalid_argument);
  EXPECT_THROW(parse_base_url("http://host:http"), std::invalid_argument);
  EXPECT_THROW(parse_base_url("http://:8080"), std::invalid_argument);
}

TEST(ApiClient, error_sentences_say_what_the_user_can_act_on) {
  const std::string body = R"({"error": "forbidden", "detail": "the slide is not part of any case this user may see"})";
  EXPECT_EQ(describe_http_error(403, body),
            "this user may not see it (403 forbidden: the slide is not part of any case this user may see)");
  EXPECT_NE(describe_http_error(401, "{}").find("did not accept the token"), std::string::npos);
  EXPECT_NE(describe_http_error(503, "not json").find("server error (503)"), std::string::npos);
  EXPECT_EQ(describe_http_error(418, ""), "HTTP 418");
}

// A server that answers one request per connection, then closes it without saying so (no
// "Connection: close"), as a server does with a keep-alive connection idle past its timeout.
class OneShotServer {
 public:
  explicit OneShotServer(int connections) : acceptor_(io_, {net::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, connections] {
      for (int i = 1; i <= connections; ++i) {
        tcp::socket socket(io_);
        acceptor_.accept(socket);
        boost::beast::flat_buffer buffer;
        http::request<http::string_body> req;
        http::read(socket, buffer, req);
        http::response<http::string_body> res{http::status::ok, 11};
        res.body() = "connection " + std::to_string(i) + " " + std::string(req.target());
        res.keep_alive(true);
        res.prepare_payload();
        http::write(socket, res);
        socket.close();
      }
    });
  }
  ~OneShotServer() { thread_.join(); }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }

 private:
  net::io_context io_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

TEST(HttpConnection, a_kept_alive_connection_the_server_closed_is_reopened_and_the_request_sent_again) {
  OneShotServer server(2);
  HttpConnection c({"127.0.0.1", std::to_string(server.port()), ""}, std::chrono::seconds(2), std::chrono::seconds(2));
  EXPECT_EQ(c.get("/a", "").body, "connection 1 /a");
  EXPECT_TRUE(c.is_open()) << "the server asked to keep the connection";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the server's close reaches us
  EXPECT_EQ(c.get("/b", "").body, "connection 2 /b") << "the request went again on a fresh connection";
}

}  // namespace
}  // namespace reread::viewer
