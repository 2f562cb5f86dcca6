// bounded_parallelism — at most N goroutines at once, and the first error
// cancels the rest: errgroup with SetLimit.
//
// The Go shape (golang.org/x/sync/errgroup):
//
//   g, ctx := errgroup.WithContext(context.Background())
//   g.SetLimit(3)                             // g.Go blocks while 3 are running
//   for _, item := range items {
//       item := item
//       g.Go(func() error {
//           if item == 7 { return fmt.Errorf("item %d failed", item) }
//           select {
//           case <-ctx.Done():                // another item failed: give up
//               return ctx.Err()
//           case <-time.After(time.Millisecond):
//               return nil
//           }
//       })
//   }
//   if err := g.Wait(); err != nil { fmt.Println("error:", err) }
//
// Go's error is std::error_code in csp (docs/porting.md): a function
// given to go() returns one, and wait_error() returns the first that was
// not zero. An error code carries no formatted text, so fmt.Errorf's
// "item 7 failed" becomes the code item_errc::failed ("item failed").
// The program counts how many items run at once and prints whether the
// limit held. Which items were still running when item 7 failed (and so
// gave up) depends on timing, so that is not printed.
#include <csp/go.hpp>

#include <atomic>
#include <cstdio>
#include <string>
#include <system_error>

using namespace csp;
using namespace std::chrono_literals;

// item_errc is the program's error, as Go's `var errFailed = errors.New(...)`:
// an enum with its own category, so callers compare `err == item_errc::failed`.
enum class item_errc { failed = 1 };

const std::error_category& item_category() {
  struct category : std::error_category {
    const char* name() const noexcept override { return "item"; }
    std::string message(int) const override { return "item failed"; }
  };
  static const category c;
  return c;
}
std::error_code make_error_code(item_errc e) { return {static_cast<int>(e), item_category()}; }

template <>
struct std::is_error_code_enum<item_errc> : std::true_type {};

// active_counter tracks how many goroutines are inside a scope and the most
// that ever were.
struct active_counter {
  std::atomic<int> now{0};
  std::atomic<int> max{0};
  void enter() {
    int n = ++now;
    int m = max.load();
    while (n > m && !max.compare_exchange_weak(m, n)) {
    }
  }
  void leave() { --now; }
};

// run processes items 1..n with at most `limit` at a time; the item equal
// to fail_item (0: none) fails. Returns the first error (Go: g.Wait()).
std::error_code run(int n, int limit, int fail_item, active_counter& active, std::atomic<int>& completed) {
  auto [g, ctx] = errgroup::with_context(context::background());
  g.set_limit(limit);
  for (int item = 1; item <= n; ++item) {
    g.go([ctx = ctx, item, fail_item, &active, &completed]() -> std::error_code {
      active.enter();
      defer d{[&] { active.leave(); }};
      if (item == fail_item) return item_errc::failed;
      if (select(recv(ctx.done()), recv(time::after(1ms))) == 0) return ctx.err();  // another failed
      completed++;
      return {};
    });
  }
  return g.wait_error();
}

int main() {
  constexpr int limit = 3;

  active_counter active;
  std::atomic<int> completed{0};
  std::error_code err = run(12, limit, 0, active, completed);
  std::printf("all ok: %d of 12 completed, error: %s\n", completed.load(), err ? err.message().c_str() : "none");
  std::printf("at most %d at once: %s\n", limit, active.max <= limit ? "yes" : "no");

  active_counter active2;
  std::atomic<int> completed2{0};
  err = run(12, limit, 7, active2, completed2);
  std::printf("one fails: error: %s\n", err ? err.message().c_str() : "none");
  std::printf("at most %d at once: %s\n", limit, active2.max <= limit ? "yes" : "no");
  return 0;
}
