// worker_pool — a fixed pool of goroutines draining a jobs channel.
//
// The Go program it ports (Go by Example, "Worker Pools"):
//
//   func worker(id int, jobs <-chan int, results chan<- result, wg *sync.WaitGroup) {
//       defer wg.Done()
//       for j := range jobs {
//           results <- result{job: j, value: j * j, worker: id}
//       }
//   }
//
//   func main() {
//       jobs := make(chan int, numJobs)
//       results := make(chan result, numJobs)
//       var wg sync.WaitGroup
//       for w := 1; w <= 3; w++ {
//           wg.Add(1)
//           go worker(w, jobs, results, &wg)
//       }
//       for j := 1; j <= numJobs; j++ { jobs <- j }
//       close(jobs)
//       wg.Wait()
//       close(results)
//       for r := range results { ... }
//   }
//
// Which worker takes which job varies from run to run; the output does not:
// results are printed in job order, then their sum.
#include <csp/go.hpp>

#include <cstdio>
#include <functional>
#include <vector>

using namespace csp;

struct result {
  int job = 0;
  int value = 0;
  int worker = 0;
};

// worker squares every job it receives until jobs is closed and drained.
// Direction-restricted handles (recv_only / send_only) convert implicitly
// from chan<T>, as Go's <-chan and chan<- do.
void worker(int id, recv_only<int> jobs, send_only<result> results, sync::wait_group& wg) {
  defer done{[&] { wg.done(); }};
  for (int j : jobs) {
    results << result{j, j * j, id};
  }
}

int main() {
  constexpr int num_jobs = 12;
  constexpr int num_workers = 3;

  auto jobs = make_chan<int>(num_jobs);
  auto results = make_chan<result>(num_jobs);
  sync::wait_group wg;

  for (int w = 1; w <= num_workers; ++w) {
    wg.add(1);
    // Arguments are decay-copied, as std::thread's are: pass the wait group
    // by std::ref, as Go passes &wg.
    go(worker, w, jobs, results, std::ref(wg));
  }
  for (int j = 1; j <= num_jobs; ++j) jobs << j;
  jobs.close();

  wg.wait();
  results.close();

  std::vector<result> by_job(num_jobs + 1);
  std::vector<int> per_worker(num_workers + 1);
  for (result r : results) {
    by_job[r.job] = r;
    per_worker[r.worker]++;
  }

  long sum = 0;
  for (int j = 1; j <= num_jobs; ++j) {
    std::printf("job %2d -> %3d\n", j, by_job[j].value);
    sum += by_job[j].value;
  }
  int handled = 0;
  for (int w = 1; w <= num_workers; ++w) handled += per_worker[w];
  std::printf("%d jobs, %d workers, %d results, sum %ld\n", num_jobs, num_workers, handled, sum);
  return 0;
}
