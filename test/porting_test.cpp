// porting_test.cpp — the spellings docs/porting.md recommends for Go code
// whose early `return` leaves goroutines running ("Early returns and error
// paths"). Each is the pipelines article's MD5All (or Pike's First()) with
// its early return kept, in one of the three correct C++ spellings:
// errgroup, a shared handle, wait before return. Run under ASan and TSan,
// these fail if a goroutine touches the returning function's frame after
// it is gone; ported naively (a wait_group on the frame) they end the
// process with "fatal error: sync: WaitGroup destroyed while in use"
// (process_test.cpp, crash_child.cpp's wait_group_destroyed_in_use).
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <csp/go.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using namespace csp;

namespace {

// The file system MD5All walks, in memory: a broken file fails to read.
struct fake_file {
  std::string path;
  std::string data;
  bool broken = false;
};

// digest stands in for md5.Sum.
std::size_t digest(const std::string& data) { return std::hash<std::string>{}(data); }

// result is MD5All's per-file result (Go: struct{path; sum; err}).
struct result {
  std::string path;
  std::size_t sum = 0;
  std::error_code err;
};

using sums = std::map<std::string, std::size_t>;

// read_file: Go's ioutil.ReadFile over the fake file system.
std::pair<std::string, std::error_code> read_file(const fake_file& f) {
  time::sleep(100us);  // a little I/O, so digesters interleave
  if (f.broken) return {"", std::make_error_code(std::errc::io_error)};
  return {f.data, {}};
}

std::vector<fake_file> tree(int n, int broken_at) {
  std::vector<fake_file> files;
  for (int i = 0; i < n; ++i) files.push_back({"/f" + std::to_string(i), std::string(i + 1, 'x'), i == broken_at});
  return files;
}

constexpr int digesters = 4;

// Spelling 1, errgroup (Go's x/sync/errgroup pipeline example): the group
// collects the first error and cancels ctx; the results loop drains c, and
// the function returns after g.wait_error(), when no goroutine is left.
std::pair<sums, std::error_code> md5_all_errgroup(const std::vector<fake_file>& root) {
  auto [g, ctx] = errgroup::with_context(context::background());
  auto paths = make_chan<const fake_file*>();
  g.go([&root, paths, ctx = ctx]() -> std::error_code {
    defer close_paths{[&] { paths.close(); }};
    for (const fake_file& f : root)
      if (select(send(paths, &f), recv(ctx.done())) == 1) return ctx.err();
    return {};
  });
  auto c = make_chan<result>();
  for (int i = 0; i < digesters; ++i) {
    g.go([paths, c, ctx = ctx]() -> std::error_code {
      for (const fake_file* f : paths) {
        auto [data, err] = read_file(*f);
        if (err) return err;
        if (select(send(c, result{f->path, digest(data), {}}), recv(ctx.done())) == 1) return ctx.err();
      }
      return {};
    });
  }
  auto closed = make_chan<>();
  go([&g = g, c, closed] {
    (void)g.wait_error();
    c.close();
    closed.close();
  });
  sums m;
  for (result r : c) m[r.path] = r.sum;
  (void)closed.recv();  // the closer's wait_error has returned: g is ours again
  if (std::error_code err = g.wait_error()) return {{}, err};
  return {m, {}};
}

// Spelling 2, a shared handle: what the goroutines use lives on the heap,
// owned jointly (Go's escape analysis, by hand). The early return inside
// the loop is kept as Go wrote it; the digesters finish later, on their own.
std::pair<sums, std::error_code> md5_all_shared(const std::vector<fake_file>& root) {
  auto done = make_chan<>();  // closed on return: tells everyone to stop
  defer close_done{[&] { done.close(); }};
  auto files = std::make_shared<const std::vector<fake_file>>(root);  // the walk owns its input
  auto paths = make_chan<const fake_file*>();
  go([files, paths, done] {
    defer close_paths{[&] { paths.close(); }};
    for (const fake_file& f : *files)
      if (select(send(paths, &f), recv(done)) == 1) return;
  });
  auto c = make_chan<result>();
  auto wg = std::make_shared<sync::wait_group>();
  wg->add(digesters);
  for (int i = 0; i < digesters; ++i) {
    go([files, paths, c, done, wg] {  // files: the pointers in paths point into it
      defer mark_done{[&] { wg->done(); }};
      for (const fake_file* f : paths) {
        auto [data, err] = read_file(*f);
        if (select(send(c, result{f->path, digest(data), err}), recv(done)) == 1) return;
      }
    });
  }
  go([wg, c] {
    wg->wait();
    c.close();
  });
  sums m;
  for (result r : c) {
    if (r.err) return {{}, r.err};  // Go's early return, unchanged
    m[r.path] = r.sum;
  }
  return {m, {}};
}

// Spelling 3, wait before return: the wait group stays on the frame, and
// every path out of the function first stops the goroutines and waits for
// all of them (the closer included: it, too, uses wg).
std::pair<sums, std::error_code> md5_all_wait(const std::vector<fake_file>& root) {
  auto done = make_chan<>();
  auto paths = make_chan<const fake_file*>();
  auto c = make_chan<result>();
  auto closed = make_chan<>();
  sync::wait_group wg;
  defer stop_and_wait{[&] {
    done.close();
    (void)closed.recv();  // the closer returns from wg.wait() only after every digester's done()
  }};
  wg.add(1);
  go([&root, &wg, paths, done] {
    defer mark_done{[&] { wg.done(); }};
    defer close_paths{[&] { paths.close(); }};
    for (const fake_file& f : root)
      if (select(send(paths, &f), recv(done)) == 1) return;
  });
  wg.add(digesters);
  for (int i = 0; i < digesters; ++i) {
    go([&wg, paths, c, done] {
      defer mark_done{[&] { wg.done(); }};
      for (const fake_file* f : paths) {
        auto [data, err] = read_file(*f);
        if (select(send(c, result{f->path, digest(data), err}), recv(done)) == 1) return;
      }
    });
  }
  go([&wg, c, closed] {
    wg.wait();
    c.close();
    closed.close();
  });
  sums m;
  for (result r : c) {
    if (r.err) return {{}, r.err};  // stop_and_wait runs first
    m[r.path] = r.sum;
  }
  return {m, {}};
}

// check_md5_all runs one spelling on a good tree and on trees broken at
// several places, and checks that no goroutine outlives the test.
template <class F>
void check_md5_all(F md5_all) {
  csp_test::with_procs({1, 4}, [&](int) {
    auto good = tree(20, -1);
    auto [m, err] = md5_all(good);
    CHECK_FALSE(err);
    REQUIRE(m.size() == 20);
    CHECK(m["/f3"] == digest("xxxx"));
    for (int broken_at : {0, 7, 19}) {
      auto files = tree(20, broken_at);
      auto [m2, err2] = md5_all(files);
      CHECK(err2 == std::errc::io_error);
      CHECK(m2.empty());
    }  // files is gone here: the shared-handle digesters must not need it
  });
}

}  // namespace

TEST_CASE("porting: MD5All's early return, spelled with errgroup") { check_md5_all(md5_all_errgroup); }

TEST_CASE("porting: MD5All's early return, spelled with a shared handle") { check_md5_all(md5_all_shared); }

TEST_CASE("porting: MD5All's early return, spelled as wait before return") { check_md5_all(md5_all_wait); }

namespace {

using search = std::function<std::string(const std::string&)>;

// first is Pike's Google Search First(): ask every replica, keep the
// fastest. The losers outlive the call, so they own everything they use:
// the query and the replica by copy, the channel by handle, buffered so a
// loser's send never blocks (Go's own fix for the leak).
std::string first(const std::string& query, const std::vector<search>& replicas) {
  auto c = make_chan<std::string>(replicas.size());
  for (const search& r : replicas) go([c, query, r] { c << r(query); });
  return c.recv().value_or("");
}

search fake_search(std::string kind, std::chrono::milliseconds latency) {
  return [kind = std::move(kind), latency](const std::string& query) {
    time::sleep(latency);
    return kind + " result for " + query;
  };
}

}  // namespace

TEST_CASE("porting: Pike's First(): the losing replicas own what they use") {
  csp_test::with_procs({1, 4}, [](int) {
    std::string got;
    {
      std::vector<search> replicas{fake_search("slow", 200ms), fake_search("fast", 0ms),
                                   fake_search("slower", 300ms)};
      got = first(std::string("golang"), replicas);
    }  // the replicas vector and the query are gone; the losers still run
    CHECK(got == "fast result for golang");
  });
}
