// context_pipeline — pipeline stages that stop when the consumer cancels.
//
// The Go shape:
//
//   func gen(ctx context.Context) <-chan int {
//       out := make(chan int)
//       go func() {
//           defer close(out)
//           for n := 1; ; n++ {
//               select {
//               case out <- n:
//               case <-ctx.Done():
//                   return
//               }
//           }
//       }()
//       return out
//   }
//
//   func sq(ctx context.Context, in <-chan int) <-chan int { ... same shape: out <- n * n ... }
//
//   ctx, cancel := context.WithCancel(context.Background())
//   for n := range sq(ctx, gen(ctx)) {
//       if n > 50 { break }
//       fmt.Println(n)
//   }
//   cancel()                                  // gen and sq return; nothing leaks
//
// The generator is endless; the consumer takes what it needs and cancels.
// Every stage sends inside a select with <-ctx.Done(), so it never blocks on
// a send nobody will receive. A wait group here proves both stages returned.
// The second part gives a slow operation a deadline with
// context.WithTimeout.
#include <csp/go.hpp>

#include <cstdio>

using namespace csp;
using namespace std::chrono_literals;

recv_only<int> gen(context::context ctx, sync::wait_group& stages) {
  auto out = make_chan<int>();
  stages.go([ctx, out] {
    defer d{[&] { out.close(); }};
    for (int n = 1;; ++n) {
      if (select(send(out, n), recv(ctx.done())) == 1) return;
    }
  });
  return out;
}

recv_only<int> sq(context::context ctx, recv_only<int> in, sync::wait_group& stages) {
  auto out = make_chan<int>();
  stages.go([ctx, in, out] {
    defer d{[&] { out.close(); }};
    for (int n : in) {
      if (select(send(out, n * n), recv(ctx.done())) == 1) return;
    }
  });
  return out;
}

// slow_operation waits an hour for its result, or until ctx is done.
std::error_code slow_operation(context::context ctx) {
  switch (select(recv(time::after(1h)), recv(ctx.done()))) {
    case 0: return {};
    default: return ctx.err();
  }
}

int main() {
  sync::wait_group stages;
  {
    auto [ctx, cancel] = context::with_cancel(context::background());
    defer d{[&] { cancel(); }};  // Go: defer cancel()
    for (int n : sq(ctx, gen(ctx, stages), stages)) {
      if (n > 50) break;
      std::printf("%d\n", n);
    }
  }  // cancel() runs here; both stages see ctx.done() and return
  stages.wait();
  std::printf("both stages returned\n");

  auto [ctx, cancel] = context::with_timeout(context::background(), 20ms);
  defer d{[&] { cancel(); }};
  std::error_code err = slow_operation(ctx);
  std::printf("slow operation: %s\n", err ? err.message().c_str() : "done");
  std::printf("deadline exceeded: %s\n", err == context::deadline_exceeded ? "yes" : "no");
  return 0;
}
