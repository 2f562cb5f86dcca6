// closing_channels — close tells receivers that no more values will come.
//
// The Go shape:
//
//   jobs := make(chan int, 5)
//   done := make(chan []int)
//   go func() {
//       var got []int
//       for {
//           j, more := <-jobs                 // more is false once closed and drained
//           if !more { done <- got; return }
//           got = append(got, j)
//       }
//   }()
//   for j := 1; j <= 3; j++ { jobs <- j }
//   close(jobs)
//   fmt.Println(<-done)
//   _, ok := <-jobs                           // a closed channel: zero value, ok == false
//
// Values sent before close are still received; then every receive returns
// at once with "closed" (an empty optional in csp). Sending on, or closing,
// a closed channel panics (csp::panic, with Go's message).
#include <csp/go.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

using namespace csp;

int main() {
  auto jobs = make_chan<int>(5);
  auto done = make_chan<std::vector<int>>();

  go([jobs, done] {
    std::vector<int> got;
    for (;;) {
      int j;
      bool more = jobs >> j;  // j, more := <-jobs
      if (!more) {
        done << got;
        return;
      }
      got.push_back(j);
    }
  });

  for (int j = 1; j <= 3; ++j) {
    jobs << j;
    std::printf("sent job %d\n", j);
  }
  jobs.close();
  std::printf("sent all jobs\n");

  std::vector<int> got = *done.recv();
  std::printf("worker received %zu jobs:", got.size());
  for (int j : got) std::printf(" %d", j);
  std::printf("\n");

  std::optional<int> v = jobs.recv();
  std::printf("receive after close: ok=%s\n", v ? "true" : "false");

  try {
    jobs << 4;
  } catch (const csp::panic& p) {
    std::printf("send after close: panic: %s\n", p.what());
  }
  return 0;
}
