// http_server — the TechEmpower "plaintext" test: GET /plaintext answers
// "Hello, World!", with keep-alive and pipelining, a goroutine per
// connection. The same program as the Go anchor server
// (shared/anchors/go-http/main.go):
//
//   func main() {
//       addr := flag.String("addr", "127.0.0.1:8080", "listen address")
//       flag.Parse()
//       body := []byte("Hello, World!")
//       http.HandleFunc("/plaintext", func(w http.ResponseWriter, r *http.Request) {
//           w.Header().Set("Content-Type", "text/plain")
//           w.Write(body)
//       })
//       log.Printf("listening on http://%s/plaintext", *addr)
//       log.Fatal(http.ListenAndServe(*addr, nil))
//   }
//
// Usage: http_server [-addr HOST:PORT]   (GOMAXPROCS from the environment)
// With port 0 the kernel picks one; the log line says which.
#include <csp/go.hpp>
#include <csp/net.hpp>

#include <cstdio>
#include <cstring>
#include <string>

#include "http/http.hpp"

using namespace csp;

int main(int argc, char** argv) {
  std::string addr = "127.0.0.1:8080";
  for (int i = 1; i < argc; ++i) {
    // Go's flag package accepts -addr V, --addr V, -addr=V and --addr=V.
    std::string_view arg = argv[i];
    if (arg.starts_with("--")) arg.remove_prefix(1);
    if (arg == "-addr" && i + 1 < argc) {
      addr = argv[++i];
    } else if (arg.starts_with("-addr=")) {
      addr = arg.substr(std::strlen("-addr="));
    } else {
      std::fprintf(stderr, "usage: %s [-addr HOST:PORT]\n", argv[0]);
      return 2;
    }
  }

  http::server mux;
  mux.handle("/plaintext", [](const http::request&, http::response& w) {
    w.content_type = "text/plain";
    w.body = "Hello, World!";
  });
  auto [ln, err] = net::listen("tcp", addr);
  if (err) {
    std::fprintf(stderr, "listen tcp %s: %s\n", addr.c_str(), err.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "listening on http://%s/plaintext\n", ln.addr().c_str());
  std::error_code serve_err = mux.serve(ln);
  std::fprintf(stderr, "serve: %s\n", serve_err.message().c_str());
  return 1;
}
