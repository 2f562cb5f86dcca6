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
// In C++ a function given to go() fails by throwing; wait() returns the
// first exception as an std::exception_ptr. The program counts how many
// items run at once and prints whether the limit held. Which items were
// still running when item 7 failed (and so gave up) depends on timing, so
// that is not printed.
#include <csp/go.hpp>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <string>

using namespace csp;
using namespace std::chrono_literals;

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
// to fail_item (0: none) fails. Returns the first error's message, or "".
std::string run(int n, int limit, int fail_item, active_counter& active, std::atomic<int>& completed) {
  auto [g, ctx] = errgroup::with_context(context::background());
  g.set_limit(limit);
  for (int item = 1; item <= n; ++item) {
    g.go([ctx = ctx, item, fail_item, &active, &completed] {
      active.enter();
      defer d{[&] { active.leave(); }};
      if (item == fail_item) throw std::runtime_error("item " + std::to_string(item) + " failed");
      if (select(recv(ctx.done()), recv(time::after(1ms))) == 0) return;  // cancelled
      completed++;
    });
  }
  if (std::exception_ptr e = g.wait()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      return ex.what();
    }
  }
  return "";
}

int main() {
  constexpr int limit = 3;

  active_counter active;
  std::atomic<int> completed{0};
  std::string err = run(12, limit, 0, active, completed);
  std::printf("all ok: %d of 12 completed, error: %s\n", completed.load(), err.empty() ? "none" : err.c_str());
  std::printf("at most %d at once: %s\n", limit, active.max <= limit ? "yes" : "no");

  active_counter active2;
  std::atomic<int> completed2{0};
  err = run(12, limit, 7, active2, completed2);
  std::printf("one fails: error: %s\n", err.c_str());
  std::printf("at most %d at once: %s\n", limit, active2.max <= limit ? "yes" : "no");
  return 0;
}
