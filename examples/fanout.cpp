// fanout — fetch a list of URLs concurrently: one goroutine per URL, the
// results through a buffered channel, a WaitGroup that closes it when the
// last fetch is done. The Go program it ports, line for line:
//
//   func main() {
//       urls := []string{ ... }
//       client := &http.Client{Timeout: timeout}
//       results := make(chan string, len(urls))
//       var wg sync.WaitGroup
//       for _, url := range urls {
//           wg.Add(1)
//           go func(url string) {
//               defer wg.Done()
//               resp, err := client.Get(url)
//               if err != nil {
//                   results <- fmt.Sprintf("ERROR: %s: %v", url, err)
//                   return
//               }
//               defer resp.Body.Close()
//               results <- fmt.Sprintf("OK %d: %s", resp.StatusCode, url)
//           }(url)
//       }
//       go func() {
//           wg.Wait()
//           close(results)
//       }()
//       for r := range results {
//           fmt.Println(r)
//       }
//   }
//
// So that it runs anywhere, with no internet, the program first starts its
// own HTTP server on a loopback port, and fetches from it: pages that
// answer 200 and 404, one that answers too slowly (the client's timeout
// fires), and a port nobody listens on (connection refused). Lines come
// out in the order the fetches finish.
//
// Usage: fanout [URL...]   (no arguments: the built-in list above)
#include <csp/go.hpp>
#include <csp/net.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "http/http.hpp"

using namespace csp;
using namespace std::chrono_literals;

namespace {

constexpr auto timeout = 500ms;

// start_local_server serves a few pages on 127.0.0.1 and returns its
// "127.0.0.1:port".
std::string start_local_server() {
  static http::server site;
  site.handle("/", [](const http::request&, http::response& w) { w.body = "home\n"; });
  site.handle("/about", [](const http::request&, http::response& w) { w.body = "about\n"; });
  site.handle("/slow", [](const http::request&, http::response& w) {
    time::sleep(10 * timeout);  // longer than the client waits
    w.body = "finally\n";
  });
  auto [ln, err] = net::listen("tcp", "127.0.0.1:0");
  if (err) {
    std::fprintf(stderr, "listen: %s\n", err.message().c_str());
    std::exit(1);
  }
  go([ln] { site.serve(ln); });
  return ln.addr();
}

// refusing_address is a loopback port with nothing listening on it: a
// listener's port, just closed.
std::string refusing_address() {
  auto [ln, err] = net::listen("tcp", "127.0.0.1:0");
  if (err) return "127.0.0.1:1";
  std::string addr = ln.addr();
  ln.close();
  return addr;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> urls(argv + 1, argv + argc);
  if (urls.empty()) {
    std::string site = "http://" + start_local_server();
    urls = {site + "/", site + "/about", site + "/missing", site + "/slow",
            "http://" + refusing_address() + "/"};
  }

  auto results = make_chan<std::string>(urls.size());
  sync::wait_group wg;
  for (const std::string& url : urls) {
    wg.add(1);
    go([&wg, results, url] {
      defer done{[&] { wg.done(); }};
      http::get_result resp = http::get(url, timeout);
      if (resp.err) {
        results << "ERROR: " + url + ": " + resp.what + ": " + resp.err.message();
        return;
      }
      results << "OK " + std::to_string(resp.status) + ": " + url;
    });
  }
  go([&wg, results] {
    wg.wait();
    results.close();
  });
  for (std::string r : results) {
    std::printf("%s\n", r.c_str());
  }
}
