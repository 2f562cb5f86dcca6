// timers — one event in the future, which can be stopped or moved.
//
// The Go shape:
//
//   timer1 := time.NewTimer(20 * time.Millisecond)
//   <-timer1.C                                // blocks until it fires
//   fmt.Println("timer 1 fired")
//
//   timer2 := time.NewTimer(time.Minute)
//   go func() { <-timer2.C; fmt.Println("timer 2 fired") }()
//   if timer2.Stop() { fmt.Println("timer 2 stopped") }
//
//   timer2.Reset(5 * time.Millisecond)        // re-arm a stopped timer
//   <-timer2.C
//
//   fired := make(chan string, 1)
//   time.AfterFunc(5*time.Millisecond, func() { fired <- "after func ran" })
//   fmt.Println(<-fired)
//
// A timer fires once; time.Sleep would do for a plain wait, but a timer
// can be stopped before it fires and waited on in a select. The times are
// chosen so that the order cannot change: a timer never fires early, and
// the stopped one is a minute away.
#include <csp/go.hpp>

#include <cstdio>
#include <string>

using namespace csp;
using namespace std::chrono_literals;

int main() {
  time::time_point start = time::now();
  time::timer timer1{20ms};
  time::time_point fired_at = *timer1.c.recv();  // the value is the time it fired
  std::printf("timer 1 fired, not early: %s\n", fired_at - start >= 20ms ? "yes" : "no");

  time::timer timer2{1min};
  auto fired2 = make_chan<>(1);
  go([c = timer2.c, fired2] {
    c.recv();
    fired2 << unit{};
  });
  if (timer2.stop()) std::printf("timer 2 stopped\n");

  // Reset re-arms it; the goroutine waiting on its channel now wakes.
  timer2.reset(5ms);
  fired2.recv();
  std::printf("timer 2 fired after reset\n");

  auto fired = make_chan<std::string>(1);
  time::after_func(5ms, [fired] { fired << "after func ran"; });
  std::printf("%s\n", fired.recv()->c_str());
  return 0;
}
