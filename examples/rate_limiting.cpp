// rate_limiting — serving requests no faster than a ticker allows, with
// and without bursts.
//
// The Go shape:
//
//   limiter := time.Tick(10 * time.Millisecond)
//   for req := range requests {
//       <-limiter                             // one request per tick
//       serve(req)
//   }
//
//   bursty := make(chan time.Time, 3)         // up to 3 requests at once...
//   for i := 0; i < 3; i++ { bursty <- time.Now() }
//   go func() {
//       for t := range time.Tick(10 * time.Millisecond) { bursty <- t }  // ...then one per tick
//   }()
//   for req := range burstyRequests {
//       <-bursty
//       serve(req)
//   }
//
// Exact service times depend on the machine's load, so the program checks
// the limiter's promise itself and prints the verdict: request k is never
// served before k ticks have passed (steady), or k - 3 ticks (bursty).
// Ticks are never early, so the verdicts hold on any machine.
#include <csp/go.hpp>

#include <cstdio>
#include <vector>

using namespace csp;
using namespace std::chrono_literals;

constexpr auto period = 10ms;
constexpr int num_requests = 5;
constexpr int burst = 3;

// queue_requests returns a closed channel holding requests 1..n.
recv_only<int> queue_requests(int n) {
  auto requests = make_chan<int>(n);
  for (int i = 1; i <= n; ++i) requests << i;
  requests.close();
  return requests;
}

// report prints the order requests were served in and whether request k
// waited for at least k - free ticks from start.
void report(const char* name, const std::vector<int>& order, const std::vector<time::time_point>& served,
            time::time_point start, int free) {
  std::printf("%s: served", name);
  for (int r : order) std::printf(" %d", r);
  bool within_limit = true;
  for (int k = 1; k <= static_cast<int>(served.size()); ++k)
    if (k > free && served[k - 1] - start < (k - free) * period) within_limit = false;
  std::printf("; never faster than the limit: %s\n", within_limit ? "yes" : "no");
}

int main() {
  // Steady: one request per tick.
  time::time_point start = time::now();
  recv_only<time::time_point> limiter = time::tick(period);
  std::vector<int> order;
  std::vector<time::time_point> served;
  for (int req : queue_requests(num_requests)) {
    limiter.recv();
    order.push_back(req);
    served.push_back(time::now());
  }
  report("steady", order, served, start, 0);

  // Bursty: a bucket of `burst` tokens, refilled one per tick.
  start = time::now();
  auto bursty = make_chan<time::time_point>(burst);
  for (int i = 0; i < burst; ++i) bursty << time::now();
  go([bursty] {
    for (time::time_point t : time::tick(period)) bursty << t;  // runs until main returns
  });
  order.clear();
  served.clear();
  for (int req : queue_requests(num_requests)) {
    bursty.recv();
    order.push_back(req);
    served.push_back(time::now());
  }
  report("bursty", order, served, start, burst);
  return 0;
}
