// server.cpp — http::server: a goroutine per connection, requests answered
// in order. See http.hpp.
//
// Pipelining: every request the parser completes in one read is answered
// into one output buffer, written with one write() after the read's bytes
// are parsed, so N pipelined requests cost one read and one write, and
// responses leave in request order by construction.
#include <http_parser.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <span>

#include <csp/goroutine.hpp>

#include "http.hpp"

namespace http {

namespace {

// date_header returns the current "Date: ..." value (RFC 7231 IMF-fixdate),
// formatted at most once per second per thread.
std::string_view date_header() {
  thread_local std::time_t cached_second = -1;
  thread_local char text[40];
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    cached_second = now;
  }
  return text;
}

void append_response(std::string& out, const response& resp) {
  out += "HTTP/1.1 ";
  out += std::to_string(resp.status);
  out += ' ';
  out += status_text(resp.status);
  out += "\r\nContent-Type: ";
  out += resp.content_type;
  out += "\r\nDate: ";
  out += date_header();
  out += "\r\nContent-Length: ";
  out += std::to_string(resp.body.size());
  out += "\r\n\r\n";
  out += resp.body;
}

// connection_state is what the parser callbacks see of one connection.
struct connection_state {
  const server* srv;
  request req;
  std::string out;        // responses not yet written
  bool keep_alive = true;  // false once a request said Connection: close
};

}  // namespace

std::string_view status_text(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    default: return "Unknown";
  }
}

void server::dispatch(const request& req, response& resp) const {
  auto route = routes_.find(req.path);
  if (route == routes_.end()) {
    resp.status = 404;
    resp.body = "404 page not found\n";
    return;
  }
  route->second(req, resp);
}

void server::serve_conn(csp::net::conn c) const {
  static const http_parser_settings settings = [] {
    http_parser_settings s{};
    s.on_message_begin = [](http_parser* p) {
      static_cast<connection_state*>(p->data)->req = request{};
      return 0;
    };
    s.on_url = [](http_parser* p, const char* at, std::size_t n) {
      static_cast<connection_state*>(p->data)->req.target.append(at, n);
      return 0;
    };
    s.on_message_complete = [](http_parser* p) {
      auto* st = static_cast<connection_state*>(p->data);
      st->req.method = http_method_str(static_cast<http_method>(p->method));
      st->req.path = st->req.target.substr(0, st->req.target.find('?'));
      response resp;
      st->srv->dispatch(st->req, resp);
      append_response(st->out, resp);
      if (!http_should_keep_alive(p)) {
        st->keep_alive = false;
        http_parser_pause(p, 1);  // ignore anything sent after "Connection: close"
      }
      return 0;
    };
    return s;
  }();

  connection_state st{this, {}, {}, true};
  http_parser parser;
  http_parser_init(&parser, HTTP_REQUEST);
  parser.data = &st;
  std::array<std::byte, 8192> buf;
  while (st.keep_alive) {
    auto [n, err] = c.read(buf);
    if (err) break;  // end of stream, reset, or closed
    std::size_t parsed =
        http_parser_execute(&parser, &settings, reinterpret_cast<const char*>(buf.data()), n);
    bool bad = parsed != n && HTTP_PARSER_ERRNO(&parser) != HPE_PAUSED;
    if (bad) {
      append_response(st.out, response{400, "text/plain; charset=utf-8", "400 Bad Request\n"});
      st.keep_alive = false;
    }
    if (!st.out.empty()) {
      if (c.write(st.out).err) break;
      st.out.clear();
    }
  }
  c.close();
}

std::error_code server::serve(csp::net::listener ln) const {
  using namespace std::chrono_literals;
  auto backoff = 5ms;
  for (;;) {
    auto [c, err] = ln.accept();
    if (err == std::errc::too_many_files_open || err == std::errc::too_many_files_open_in_system) {
      // Out of descriptors: wait for connections to finish rather than
      // give up (Go's Server.Serve backs off the same way, up to 1 s).
      std::fprintf(stderr, "http: accept: %s; retrying in %lld ms\n", err.message().c_str(),
                   static_cast<long long>(backoff.count()));
      csp::time::sleep(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      continue;
    }
    if (err) return err;
    backoff = 5ms;
    csp::go([this, c] { serve_conn(c); });
  }
}

}  // namespace http
