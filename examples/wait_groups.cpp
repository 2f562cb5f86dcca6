// wait_groups — waiting for a set of goroutines to finish.
//
// The Go shape:
//
//   var wg sync.WaitGroup
//   results := make([]int, 5)
//   for i := 0; i < 5; i++ {
//       wg.Add(1)
//       go func(i int) {                      // i passed by value: each goroutine its own
//           defer wg.Done()
//           time.Sleep(time.Duration(5-i) * time.Millisecond)
//           results[i] = i * 10               // each goroutine writes its own slot
//       }(i)
//   }
//   wg.Wait()                                 // all writes happen before this returns
//
// The goroutines finish in any order (the sleeps even reverse it); after
// wait() returns, main reads every slot without a lock, because each done()
// happens before the wait() it releases.
#include <csp/go.hpp>

#include <cstdio>
#include <vector>

using namespace csp;
using namespace std::chrono_literals;

int main() {
  constexpr int n = 5;
  std::vector<int> results(n);
  sync::wait_group wg;

  for (int i = 0; i < n; ++i) {
    wg.add(1);
    // Capture i by value ([i] or an argument), never [&]: by the time the
    // goroutine runs, the loop's i has moved on (or is gone).
    go([&wg, &results, i] {
      defer d{[&] { wg.done(); }};
      time::sleep((n - i) * 1ms);
      results[i] = i * 10;
    });
  }
  wg.wait();

  for (int i = 0; i < n; ++i) std::printf("worker %d: %d\n", i, results[i]);

  // Go 1.25's wg.Go(f) does the add and the done: the same, shorter.
  std::vector<int> squares(n);
  sync::wait_group wg2;
  for (int i = 0; i < n; ++i) wg2.go([&squares, i] { squares[i] = i * i; });
  wg2.wait();
  int sum = 0;
  for (int s : squares) sum += s;
  std::printf("sum of squares: %d\n", sum);
  return 0;
}
