// A real reread-server in a child process on an ephemeral loopback port, and a real HTTP client.
#pragma once

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_environment.h"

extern char** environ;

namespace reread::test {

// The token http_request sends when the caller names none: the admin of the last server started
// without an explicit --data (tests of rights pass their own users' tokens).
inline std::string& default_token() {
  static std::string token;
  return token;
}

// reread-server's own command line on a data directory: `user add` then `token create`. Returns the token.
inline std::string add_user_with_token(const std::filesystem::path& data, const std::string& name,
                                       const std::string& role, const std::string& extra = {}) {
  const std::string bin = REREAD_SERVER_BIN;
  const std::string d = "'" + data.string() + "'";
  const auto add = run_command(bin + " user add " + name + " --role " + role + " --data " + d + " " + extra);
  if (add.exit_code != 0) throw std::runtime_error("user add " + name + ": " + add.output);
  // stdout only: the token is printed alone there.
  FILE* p = ::popen((bin + " token create " + name + " --data " + d + " 2>/dev/null").c_str(), "r");
  std::string token;
  char buf[256];
  while (p != nullptr && std::fgets(buf, sizeof buf, p) != nullptr) token += buf;
  if (p == nullptr || ::pclose(p) != 0) throw std::runtime_error("token create " + name + " failed");
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  return token;
}

// A child process started with its stdout on a pipe, and the first line it printed there.
struct ChildWithLine {
  pid_t pid = -1;
  int stdout_fd = -1;
  std::string first_line;
};

// Starts args[0] with `args`, waits for its first line on stdout (servers and proxies announce their port
// so). Throws naming `what` when it cannot start.
inline ChildWithLine spawn_until_first_line(std::vector<std::string> args, const std::string& what) {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ChildWithLine child;
  const int spawned = posix_spawn(&child.pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (spawned != 0) {
    ::close(out[0]);
    throw std::runtime_error("cannot start " + what);
  }
  char c;
  while (::read(out[0], &c, 1) == 1 && c != '\n') child.first_line += c;
  child.stdout_fd = out[0];
  return child;
}

class ServerProcess {
 public:
  // Without --data among `args`, the server gets a fresh data directory with an admin user, whose
  // token becomes default_token().
  explicit ServerProcess(std::vector<std::string> args) {
    bool has_data = false;
    for (const auto& a : args) has_data = has_data || a == "--data";
    if (!has_data) {
      own_data_ = std::make_unique<TempDir>();
      admin_token_ = add_user_with_token(own_data_->path(), "admin", "admin");
      default_token() = admin_token_;
      args.push_back("--data");
      args.push_back(own_data_->path().string());
    }
    args.insert(args.begin(), REREAD_SERVER_BIN);
    // The server prints "listening on http://HOST:PORT" once it accepts connections.
    const ChildWithLine child = spawn_until_first_line(args, "reread-server");
    pid_ = child.pid;
    out_fd_ = child.stdout_fd;
    const std::string& line = child.first_line;
    const auto colon = line.rfind(':');
    if (line.find("listening on") == std::string::npos || colon == std::string::npos) {
      stop(SIGKILL);
      throw std::runtime_error("reread-server did not start: '" + line + "'");
    }
    port_ = static_cast<unsigned short>(std::stoi(line.substr(colon + 1)));
  }
  ~ServerProcess() {
    if (pid_ > 0) stop(SIGKILL);
    if (out_fd_ >= 0) ::close(out_fd_);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  unsigned short port() const { return port_; }
  const std::string& admin_token() const { return admin_token_; }
  // The data directory the server was given when the test did not name one.
  std::filesystem::path data_dir() const { return own_data_ ? own_data_->path() : std::filesystem::path(); }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0; }
  // Sends `sig` and waits; returns the exit status (128 + signal when killed by one).
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, sig);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  std::unique_ptr<TempDir> own_data_;
  std::string admin_token_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  unsigned short port_ = 0;
};

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;
  std::string body;
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// One GET (or other method) on a fresh connection.
inline HttpResult http_request(unsigned short port, const std::string& target,
                               const std::map<std::string, std::string>& headers = {},
                               boost::beast::http::verb method = boost::beast::http::verb::get,
                               const std::string& body = {}) {
  namespace net = boost::asio;
  namespace http = boost::beast::http;
  net::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{method, target, 11};
  req.body() = body;
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  for (const auto& [k, v] : headers) req.set(k, v);
  if (headers.find("Authorization") == headers.end() && !default_token().empty()) {
    req.set(http::field::authorization, "Bearer " + default_token());
  }
  req.prepare_payload();
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 << 20);
  http::read(stream, buffer, parser);
  HttpResult r;
  r.status = static_cast<int>(parser.get().result_int());
  for (const auto& f : parser.get()) r.headers[std::string(f.name_string())] = std::string(f.value());
  r.body = parser.get().body();
  boost::beast::error_code ec;
  stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  return r;
}

}  // namespace reread::test
