// tickers — an event at every interval, until stopped.
//
// The Go shape:
//
//   ticker := time.NewTicker(10 * time.Millisecond)
//   start := time.Now()
//   for i := 1; i <= 3; i++ {
//       t := <-ticker.C
//       fmt.Println("tick", i)
//   }
//   ticker.Stop()
//   select {
//   case <-ticker.C:
//       fmt.Println("tick after stop")
//   case <-time.After(30 * time.Millisecond):
//       fmt.Println("no tick after stop")
//   }
//
// A ticker's channel holds one tick: a slow receiver loses ticks instead
// of falling behind, and a tick is never early, so the third one comes at
// least three periods after the start. What is printed holds however
// loaded the machine is; exact times are not printed.
#include <csp/go.hpp>

#include <cstdio>

using namespace csp;
using namespace std::chrono_literals;

int main() {
  constexpr auto period = 10ms;
  time::time_point start = time::now();
  time::ticker ticker{period};

  time::time_point last = start;
  bool in_order = true;
  for (int i = 1; i <= 3; ++i) {
    time::time_point t = *ticker.c.recv();
    in_order = in_order && t > last;
    last = t;
    std::printf("tick %d\n", i);
  }
  ticker.stop();
  std::printf("ticks in order: %s\n", in_order ? "yes" : "no");
  std::printf("third tick at least 3 periods after the start: %s\n",
              last - start >= 3 * period ? "yes" : "no");

  switch (select(recv(ticker.c), recv(time::after(3 * period)))) {
    case 0: std::printf("tick after stop\n"); break;
    case 1: std::printf("no tick after stop\n"); break;
  }
  return 0;
}
