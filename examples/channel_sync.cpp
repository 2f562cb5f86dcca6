// channel_sync — waiting for a goroutine to finish with a channel.
//
// The Go shape:
//
//   func worker(done chan<- bool) {
//       fmt.Println("working...")
//       time.Sleep(10 * time.Millisecond)
//       fmt.Println("finished")
//       done <- true
//   }
//
//   done := make(chan bool, 1)
//   go worker(done)
//   <-done                                    // blocks until the worker sends
//   fmt.Println("main: worker is done")
//
// The receive happens after the send, and the send after everything the
// worker did before it (Go's memory model, kept by csp): main's last line
// always comes last.
#include <csp/go.hpp>

#include <cstdio>

using namespace csp;
using namespace std::chrono_literals;

void worker(send_only<bool> done) {
  std::printf("working...\n");
  time::sleep(10ms);
  std::printf("finished\n");
  done << true;
}

int main() {
  auto done = make_chan<bool>(1);
  go(worker, done);
  done.recv();
  std::printf("main: worker is done\n");
  return 0;
}
