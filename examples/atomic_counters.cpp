// atomic_counters — a counter many goroutines increment without a lock.
//
// The Go shape:
//
//   var ops atomic.Uint64
//   var wg sync.WaitGroup
//   for i := 0; i < 50; i++ {
//       wg.Add(1)
//       go func() {
//           defer wg.Done()
//           for c := 0; c < 1000; c++ { ops.Add(1) }
//       }()
//   }
//   wg.Wait()
//   fmt.Println("ops:", ops.Load())           // 50000
//
// Go's sync/atomic is C++'s std::atomic. With a plain `ops++` instead the
// total would be wrong (and ThreadSanitizer would report the race).
#include <csp/go.hpp>

#include <atomic>
#include <cstdint>
#include <cstdio>

using namespace csp;

int main() {
  std::atomic<std::uint64_t> ops{0};
  sync::wait_group wg;
  for (int i = 0; i < 50; ++i) {
    wg.add(1);
    go([&ops, &wg] {
      defer d{[&] { wg.done(); }};
      for (int c = 0; c < 1000; ++c) ops.fetch_add(1, std::memory_order_relaxed);
    });
  }
  wg.wait();  // orders every goroutine's adds before this load
  std::printf("ops: %llu\n", static_cast<unsigned long long>(ops.load(std::memory_order_relaxed)));
  return 0;
}
