// timeouts — giving up on a result that takes too long.
//
// The Go shape:
//
//   c1 := make(chan string, 1)                // buffered: the late sender never blocks
//   go func() { time.Sleep(time.Hour); c1 <- "result 1" }()
//   select {
//   case res := <-c1:
//       fmt.Println(res)
//   case <-time.After(20 * time.Millisecond):
//       fmt.Println("timeout 1")
//   }
//
//   c2 := make(chan string, 1)
//   go func() { time.Sleep(10 * time.Millisecond); c2 <- "result 2" }()
//   select {
//   case res := <-c2:
//       fmt.Println(res)
//   case <-time.After(time.Minute):
//       fmt.Println("timeout 2")
//   }
//
// The first call is far slower than its timeout, the second far faster, so
// the output is the same on any machine however loaded. The slow goroutine
// is still asleep when main returns; it is abandoned, as in Go. A timer
// from after() that nobody waits on any more is released (Go 1.23's rule),
// so the minute-long one costs nothing once the select is over.
#include <csp/go.hpp>

#include <cstdio>
#include <optional>
#include <string>

using namespace csp;
using namespace std::chrono_literals;

int main() {
  auto c1 = make_chan<std::string>(1);
  go([c1] {
    time::sleep(1h);
    c1 << "result 1";
  });
  std::optional<std::string> res;
  switch (select(recv(c1, res), recv(time::after(20ms)))) {
    case 0: std::printf("%s\n", res->c_str()); break;
    case 1: std::printf("timeout 1\n"); break;
  }

  auto c2 = make_chan<std::string>(1);
  go([c2] {
    time::sleep(10ms);
    c2 << "result 2";
  });
  switch (select(recv(c2, res), recv(time::after(1min)))) {
    case 0: std::printf("%s\n", res->c_str()); break;
    case 1: std::printf("timeout 2\n"); break;
  }
  return 0;
}
