// client.cpp — http::get: one request per connection (Connection: close),
// the response parsed by libhttp-parser. See http.hpp.
#include <http_parser.h>

#include <array>
#include <cstddef>

#include "http.hpp"

namespace http {

namespace {

// url_parts is an http:// URL split for dialing and for the request line.
struct url_parts {
  std::string host_port;  // "127.0.0.1:8080" (port 80 added when absent)
  std::string host;       // for the Host header, as written in the URL
  std::string target;     // "/path?query"
};

bool split_url(std::string_view url, url_parts& out) {
  http_parser_url u;
  http_parser_url_init(&u);
  if (http_parser_parse_url(url.data(), url.size(), 0, &u) != 0) return false;
  auto field = [&](int f) {
    return (u.field_set & (1 << f)) ? url.substr(u.field_data[f].off, u.field_data[f].len)
                                    : std::string_view{};
  };
  if (field(UF_SCHEMA) != "http" || field(UF_HOST).empty()) return false;
  std::string_view host = field(UF_HOST);
  std::string_view port = field(UF_PORT);
  // An IPv6 literal comes without its brackets; dialing needs them back.
  // (Built with append: g++ 12 warns falsely on "[" + std::string.)
  bool v6 = host.find(':') != std::string_view::npos;
  out.host.clear();
  if (v6) out.host += '[';
  out.host += host;
  if (v6) out.host += ']';
  out.host_port = out.host;
  out.host_port += ':';
  out.host_port += port.empty() ? std::string_view("80") : port;
  if (!port.empty()) {
    out.host += ':';
    out.host += port;
  }
  out.target = field(UF_PATH).empty() ? std::string_view("/") : field(UF_PATH);
  if (std::string_view q = field(UF_QUERY); !q.empty()) {
    out.target += '?';
    out.target += q;
  }
  return true;
}

// response_state is what the parser callbacks fill in.
struct response_state {
  int status = 0;
  std::string body;
  bool complete = false;
};

}  // namespace

get_result get(std::string_view url, std::chrono::nanoseconds timeout) {
  get_result result;
  url_parts parts;
  if (!split_url(url, parts)) {
    result.err = std::make_error_code(std::errc::invalid_argument);
    result.what = "unsupported URL";
    return result;
  }
  auto deadline = csp::time::time_point::clock::now() + timeout;
  auto [c, dial_err] = csp::net::dial_timeout("tcp", parts.host_port, timeout);
  if (dial_err) {
    result.err = dial_err;
    result.what = "dial tcp " + parts.host_port;
    return result;
  }
  c.set_deadline(deadline);
  std::string req = "GET " + parts.target + " HTTP/1.1\r\nHost: " + parts.host +
                    "\r\nUser-Agent: csp-example\r\nConnection: close\r\n\r\n";
  if (auto [n, err] = c.write(req); err) {
    result.err = err;
    result.what = "write request";
    c.close();
    return result;
  }

  static const http_parser_settings settings = [] {
    http_parser_settings s{};
    s.on_headers_complete = [](http_parser* p) {
      static_cast<response_state*>(p->data)->status = static_cast<int>(p->status_code);
      return 0;
    };
    s.on_body = [](http_parser* p, const char* at, std::size_t n) {
      static_cast<response_state*>(p->data)->body.append(at, n);
      return 0;
    };
    s.on_message_complete = [](http_parser* p) {
      static_cast<response_state*>(p->data)->complete = true;
      return 0;
    };
    return s;
  }();
  response_state st;
  http_parser parser;
  http_parser_init(&parser, HTTP_RESPONSE);
  parser.data = &st;
  std::array<std::byte, 4096> buf;
  while (!st.complete) {
    auto [n, err] = c.read(buf);
    if (err == csp::net::errc::eof) {
      http_parser_execute(&parser, &settings, nullptr, 0);  // a body that ends at EOF
      if (st.complete) break;
    }
    if (err) {
      result.err = err;
      result.what = "read response";
      break;
    }
    std::size_t parsed =
        http_parser_execute(&parser, &settings, reinterpret_cast<const char*>(buf.data()), n);
    if (parsed != n) {
      result.err = std::make_error_code(std::errc::protocol_error);
      result.what = http_errno_description(HTTP_PARSER_ERRNO(&parser));
      break;
    }
  }
  c.close();
  if (!result.err) {
    result.status = st.status;
    result.body = std::move(st.body);
  }
  return result;
}

}  // namespace http
