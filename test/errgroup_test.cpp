// errgroup_test.cpp — errgroup::group and with_context.
//
// Cases named "(Go: Test...)" port the behaviour of that test in
// golang.org/x/sync/errgroup/errgroup_test.go, in our own words. A Go
// function's returned error is a returned std::error_code (the porting
// guide's spelling of Go's error) or a thrown exception.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include <csp/go.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using namespace csp;

namespace {

std::string what(std::exception_ptr e) {
  try {
    if (e) std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  }
  return "";
}

}  // namespace

TEST_CASE("errgroup: an empty group waits for nothing and reports no error") {
  errgroup::group g;
  CHECK_FALSE(g.wait());
}

TEST_CASE("errgroup: wait returns the first error; later ones are dropped (Go: TestZeroGroup)") {
  csp_test::with_procs({1, 4}, [](int) {
    errgroup::group g;
    std::atomic<int> ran{0};
    g.go([&] { ++ran; });
    g.go([&] {
      ++ran;
      throw std::runtime_error("first");
    });
    CHECK(what(g.wait()) == "first");
    // A later failure does not replace the first.
    auto release = make_chan<>();
    g.go([&, release] {
      release.recv();
      throw std::runtime_error("second");
    });
    release.send({});
    CHECK(what(g.wait()) == "first");
    CHECK(ran.load() == 2);
  });
}

TEST_CASE("errgroup: wait waits for every goroutine, failing or not") {
  errgroup::group g;
  std::atomic<int> finished{0};
  for (int i = 0; i < 20; ++i)
    g.go([&, i] {
      time::sleep(std::chrono::milliseconds(i % 5));
      ++finished;
      if (i == 3) throw std::runtime_error("three");
    });
  CHECK(what(g.wait()) == "three");
  CHECK(finished.load() == 20);
}

TEST_CASE("errgroup: with_context cancels its context on the first error (Go: TestWithContext)") {
  auto [g, ctx] = errgroup::with_context(context::background());
  auto blocked = make_chan<>();
  std::atomic<bool> saw_cancel{false};
  g.go([&, ctx = ctx] {
    // Blocks until the sibling's failure cancels the context.
    if (select(recv(blocked), recv(ctx.done())) == 1) saw_cancel = true;
  });
  g.go([] { throw std::runtime_error("boom"); });
  CHECK(what(g.wait()) == "boom");
  CHECK(saw_cancel.load());
  CHECK(ctx.err() == context::canceled);
}

TEST_CASE("errgroup: with_context's context is cancelled when wait returns, even without errors") {
  auto [g, ctx] = errgroup::with_context(context::background());
  g.go([] {});
  CHECK_FALSE(ctx.err());
  CHECK_FALSE(g.wait());
  CHECK(ctx.err() == context::canceled);
}

TEST_CASE("errgroup: with_context derives from its parent") {
  auto [parent, cancel] = context::with_cancel(context::background());
  auto [g, ctx] = errgroup::with_context(parent);
  cancel();
  CHECK(ctx.err() == context::canceled);
  CHECK_FALSE(g.wait());
}

TEST_CASE("errgroup: set_limit bounds the active goroutines (Go: TestGoLimit)") {
  csp_test::with_procs({1, 4}, [](int) {
    const int limit = 3;
    errgroup::group g;
    g.set_limit(limit);
    std::atomic<int> active{0}, max_active{0};
    const int n = static_cast<int>(std::max<long>(10, 200 / csp_test::sanitizer_scale));
    for (int i = 0; i < n; ++i)
      g.go([&] {
        int a = ++active;
        int m = max_active.load();
        while (a > m && !max_active.compare_exchange_weak(m, a)) {
        }
        time::sleep(200us);
        --active;
      });
    CHECK_FALSE(g.wait());
    CHECK(max_active.load() <= limit);
    CHECK(max_active.load() >= 1);
  });
}

TEST_CASE("errgroup: try_go refuses beyond the limit (Go: TestTryGo)") {
  errgroup::group g;
  g.set_limit(1);
  auto release = make_chan<>();
  CHECK(g.try_go([release] { release.recv(); }));
  CHECK_FALSE(g.try_go([] {}));
  release.send({});
  CHECK_FALSE(g.wait());
  CHECK(g.try_go([] {}));
  CHECK_FALSE(g.wait());
}

TEST_CASE("errgroup: set_limit while goroutines are active panics, as Go's") {
  errgroup::group g;
  g.set_limit(2);
  auto release = make_chan<>();
  g.go([release] { release.recv(); });
  CHECK_THROWS_WITH_AS(g.set_limit(4), "errgroup: modify limit while 1 goroutines in the group are still active",
                       csp::panic);
  release.send({});
  CHECK_FALSE(g.wait());
  g.set_limit(-1);  // idle again: allowed; negative lifts the limit
  for (int i = 0; i < 10; ++i) CHECK(g.try_go([] {}));
  CHECK_FALSE(g.wait());
}

TEST_CASE("errgroup: the group may be moved while its goroutines run") {
  errgroup::group a;
  auto release = make_chan<>();
  a.go([release] {
    release.recv();
    throw std::runtime_error("moved");
  });
  errgroup::group b = std::move(a);
  release.send({});
  CHECK(what(b.wait()) == "moved");
}

// ---- errors as values (issue 17) -----------------------------------------

namespace {
// A sentinel error, as docs/porting.md spells Go's errors.New: an enum
// with its own category.
enum class fetch_errc { not_found = 1 };
class fetch_category_impl : public std::error_category {
 public:
  const char* name() const noexcept override { return "fetch"; }
  std::string message(int) const override { return "not found"; }
};
const std::error_category& fetch_category() {
  static const fetch_category_impl c;
  return c;
}
std::error_code make_error_code(fetch_errc e) { return {static_cast<int>(e), fetch_category()}; }
}  // namespace

template <>
struct std::is_error_code_enum<fetch_errc> : std::true_type {};

TEST_CASE("errgroup: functions may return std::error_code, Go's `return err`; wait_error reports the first") {
  csp_test::with_procs({1, 4}, [](int) {
    // Go: g.Go(func() error { ...; return errNotFound }); if err := g.Wait(); err != nil
    errgroup::group g;
    std::atomic<int> ran{0};
    for (int i = 0; i < 8; ++i) {
      g.go([&ran, i]() -> std::error_code {
        ran++;
        if (i == 5) return fetch_errc::not_found;
        return {};
      });
    }
    std::error_code err = g.wait_error();
    CHECK(ran == 8);
    CHECK(err == fetch_errc::not_found);
    CHECK(err.message() == "not found");
  });
  errgroup::group ok;
  ok.go([] { return std::error_code{}; });
  CHECK_FALSE(ok.wait_error());
  CHECK_FALSE(ok.wait());
}

TEST_CASE("errgroup: a returned error cancels with_context's context and reads back from wait() too") {
  auto [g, ctx] = errgroup::with_context(context::background());
  g.go([c = ctx]() -> std::error_code {
    (void)c.done().recv();  // until a sibling fails
    return c.err();
  });
  g.go([] { return std::make_error_code(std::errc::connection_refused); });
  std::exception_ptr e = g.wait();
  REQUIRE(e);
  try {
    std::rethrow_exception(e);
  } catch (const std::system_error& x) {
    CHECK(x.code() == std::errc::connection_refused);  // first, not the sibling's canceled
  }
  CHECK(ctx.err() == context::canceled);
}

TEST_CASE("errgroup: the exception form still works beside it; wait_error rethrows a non-error exception") {
  errgroup::group g;
  g.go([] { throw std::runtime_error("boom"); });
  CHECK_THROWS_WITH_AS((void)g.wait_error(), "boom", std::runtime_error);
  errgroup::group g2;
  g2.go([] { throw std::system_error(make_error_code(fetch_errc::not_found)); });
  CHECK(g2.wait_error() == fetch_errc::not_found);
  errgroup::group g3;
  g3.set_limit(1);
  CHECK(g3.try_go([] { return std::error_code{}; }));
  CHECK_FALSE(g3.wait_error());
}
