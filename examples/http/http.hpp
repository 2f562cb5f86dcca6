// http.hpp — just enough HTTP/1.1 for the examples, on csp::net.
//
// Not a general HTTP library: a server that answers requests on a
// connection in order (keep-alive and pipelining, a goroutine per
// connection, as Go's net/http does), and a GET client with a timeout.
// Parsing is Debian's libhttp-parser (the parser Node.js used for years),
// so the examples do not carry a hand-written one.
#pragma once

#include <csp/net.hpp>
#include <csp/time.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

namespace http {

struct request {
  std::string method;  // "GET"
  std::string target;  // "/plaintext?x=1", as sent
  std::string path;    // "/plaintext"
};

struct response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// A handler fills in the response; it runs on the connection's goroutine and
// may block (sleep, channels, I/O) like any goroutine.
using handler = std::function<void(const request&, response&)>;

// server routes requests by exact path (Go's ServeMux without patterns);
// other paths get 404. Set the routes up before serve().
class server {
 public:
  void handle(std::string path, handler h) { routes_[std::move(path)] = std::move(h); }

  // serve accepts connections until the listener is closed and serves each
  // on its own goroutine. Returns the error that ended the accept loop.
  std::error_code serve(csp::net::listener ln) const;

  // serve_conn answers the requests on one connection, in order, until the
  // peer closes it, asks to (Connection: close), sends garbage, or a read or
  // write fails. Closes the connection.
  void serve_conn(csp::net::conn c) const;

 private:
  void dispatch(const request& req, response& resp) const;

  std::unordered_map<std::string, handler> routes_;
};

// get_result is what get() found: a status and body, or the error that
// stopped it (err set; status 0). `what` says where it failed, for messages:
// "dial tcp 127.0.0.1:9: connection refused".
struct get_result {
  int status = 0;
  std::string body;
  std::error_code err;
  std::string what;
};

// get fetches an http:// URL, like Go's http.Client{Timeout: timeout}.Get:
// the whole exchange (dial, request, response) must finish within timeout.
get_result get(std::string_view url, std::chrono::nanoseconds timeout);

// status_text is the reason phrase for a status code ("Not Found").
std::string_view status_text(int status) noexcept;

}  // namespace http
