// crawler — the porting guide's larger program (docs/porting.md): a
// concurrent crawler over an in-memory web. examples/go/crawler.go is the
// Go original; this is its port, line for line where Go allows it.
//
// What it shows together: a goroutine per link, a mutex-guarded set, a wait
// group counting goroutines that start more goroutines, a buffered channel
// as a semaphore (at most two fetches at once), a per-fetch deadline with
// context::with_timeout and select on ctx.done(), Go-style error values as
// std::error_code, and the "close the results when the wait group is done"
// idiom. Output is sorted, so it is the same on every run (and the same as
// `go run examples/go/crawler.go`).
#include <csp/go.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace csp;
using namespace std::chrono_literals;

struct page {
  std::string title;
  std::vector<std::string> links;
};

// web is the fake internet. "/gone" is missing; "/slow" never answers.
const std::map<std::string, page> web = {
    {"/", {"home", {"/about", "/blog", "/slow"}}},
    {"/about", {"about us", {"/", "/team", "/gone"}}},
    {"/blog", {"the blog", {"/blog/1", "/blog/2", "/about"}}},
    {"/blog/1", {"first post", {"/blog/2"}}},
    {"/blog/2", {"second post", {"/blog/1", "/team"}}},
    {"/team", {"the team", {}}},
    {"/slow", {"never seen", {}}},
};

// Go's `var errNotFound = errors.New("not found")`: a sentinel error a
// caller can compare against, spelled as an error-code enum with its own
// category (context::errc is built the same way).
enum class crawl_errc { not_found = 1 };

const std::error_category& crawl_category() {
  struct category : std::error_category {
    const char* name() const noexcept override { return "crawl"; }
    std::string message(int) const override { return "not found"; }
  };
  static const category c;
  return c;
}
std::error_code make_error_code(crawl_errc e) { return {static_cast<int>(e), crawl_category()}; }
template <>
struct std::is_error_code_enum<crawl_errc> : std::true_type {};

// fetch returns the page at url after a short delay, or an error — Go's
// (page, error) as a pair.
std::pair<page, std::error_code> fetch(context::context ctx, const std::string& url) {
  if (url == "/slow") {
    switch (select(recv(time::after(1h)), recv(ctx.done()))) {
      case 0: break;
      case 1: return {page{}, ctx.err()};
    }
  }
  time::sleep(1ms);
  auto it = web.find(url);
  if (it == web.end()) return {page{}, crawl_errc::not_found};
  return {it->second, {}};
}

struct result {
  std::string url, line;
};

struct crawler {
  sync::mutex mu;
  std::set<std::string> seen;  // guarded by mu
  sync::wait_group wg;
  chan<> fetches;  // a semaphore: at most fetches.cap() at once
  send_only<result> results;
  time::duration timeout;

  // first_visit reports whether url has not been seen yet, and marks it seen.
  bool first_visit(const std::string& url) {
    std::lock_guard lock(mu);
    return seen.insert(url).second;
  }

  // crawl fetches url, reports it, and crawls its links in new goroutines.
  void crawl(context::context ctx, std::string url) {
    defer done{[&] { wg.done(); }};
    if (!first_visit(url)) return;
    fetches << unit{};
    auto [fctx, cancel] = context::with_timeout(ctx, timeout);
    auto [p, err] = fetch(fctx, url);
    cancel();
    fetches.recv();
    if (err) {
      results << result{url, "error: " + err.message()};
      return;
    }
    results << result{url, "\"" + p.title + "\", links: " + std::to_string(p.links.size())};
    for (const std::string& link : p.links) {
      wg.add(1);
      go(&crawler::crawl, this, ctx, link);  // go c.crawl(ctx, link)
    }
  }
};

int main() {
  auto results = make_chan<result>();
  crawler c;  // lives on main's stack: main outlives every crawl (see below)
  c.fetches = make_chan<>(2);
  c.results = results;
  c.timeout = 100ms;
  c.wg.add(1);
  go(&crawler::crawl, &c, context::background(), std::string("/"));
  go([&c, results] {
    c.wg.wait();
    results.close();
  });

  std::vector<result> all;
  for (result r : results) all.push_back(std::move(r));  // ends when the closer closes results
  std::sort(all.begin(), all.end(), [](const result& a, const result& b) { return a.url < b.url; });
  for (const result& r : all) std::printf("%-8s %s\n", r.url.c_str(), r.line.c_str());
  std::printf("%zu pages\n", all.size());
  return 0;
}
