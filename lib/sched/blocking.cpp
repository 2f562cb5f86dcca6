// blocking.cpp — runtime::blocking's helper threads (Go hands its P off
// during a syscall; csp workers never enter a blocking call: it goes here).
//
// A bounded pool: at most CSP_BLOCKING_THREADS helpers (default 64),
// started lazily, one more only when a call finds none idle. Idle helpers
// wait on a condition variable (no CPU) and stay: thread start-up would
// cost more than their stacks' reserved address space.
//
// Why a mutex, a std::deque and a condition variable, the shape
// moodycamel's BlockingConcurrentQueue offers lock-free (issue 21;
// bench/RESULTS.md, "ConcurrentQueue or not"): every job costs a helper's
// wake-up and a ready(), which dwarf the queue. On blocking_calls (100,000
// calls from 1,000 goroutines; medians of 7 interleaved runs on a loaded
// 2-core VM, GOMAXPROCS=2) this pool took 6.8 µs and 0.77 s of CPU; the
// BlockingConcurrentQueue pool 12.1 µs and 1.69 s with its semaphore's
// default 10,000 polls before sleeping (idle helpers polling take the
// cores the workers need), and 8.4 µs and 1.12 s with no polling
// (callgrind: 845 against 787 instructions per call). Nor was it simpler:
// without the lock, "is a helper coming for this job" needs a protocol of
// its own (an idle-minus-queued counter), where mu_ keeps idle_ and the
// queue consistent for free.
//
// A call: the goroutine parks, and park's unlock step (on the worker's g0,
// once the goroutine is switched out: park.hpp) queues its job, which
// lives on the goroutine's stack; so no helper can finish the job and
// ready the goroutine before it is parked. (Queuing first and parking with
// mu_ held would release a std::mutex on g0, another fiber, which TSan
// takes for another thread.) A helper takes the job, runs it with no lock
// held, and readies the goroutine.
//
// Invariants (with mu_ held): idle_ helpers are waiting on cv_ or about to;
// threads_ <= limit_; every queued job's task is parked.
// Each call holds one count in pending_wakers from before it is queued
// until after its task is readied: a goroutine waiting for a helper is not
// deadlocked. The helpers count as runtime threads (never as user threads
// that could still act).
//
// Lock order: mu_ (a ranked_mutex: helpers sleep on it) is taken with no
// runtime lock held; under it, starting a helper counts it with the
// scheduler (lib/debug/lock_rank.hpp).
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include "base/ranked_mutex.hpp"
#include "csp/runtime.hpp"
#include "debug/fatal.hpp"
#include "sched/park.hpp"
#include "sched/scheduler.hpp"

namespace csp::detail {

namespace {

struct blocking_job {
  void (*run)(void*) noexcept;
  void* arg;
  task* waiter;
};

int limit_from_env() {
  if (const char* env = std::getenv("CSP_BLOCKING_THREADS")) {
    char* end = nullptr;
    long v = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && v >= 1 && v <= 10000) return static_cast<int>(v);
  }
  return 64;  // Go's default limit is 10000 threads; 64 calls in flight is plenty for getaddrinfo and file I/O
}

class blocking_pool {
 public:
  static blocking_pool& instance() {
    static blocking_pool* p = new blocking_pool();  // never destroyed: helpers outlive main
    return *p;
  }

  void call(blocking_job* job) {
    // Counted before the park: a deadlock check must never see the
    // goroutine parked without it.
    pending_wakers.fetch_add(1, std::memory_order_seq_cst);
    park(
        wait_reason::syscall, [](void* j) { instance().enqueue(static_cast<blocking_job*>(j)); }, job);
  }

 private:
  // enqueue queues job and finds it a helper. Runs on a worker's g0.
  void enqueue(blocking_job* job) {
    std::lock_guard<ranked_mutex> lock(mu_);
    queue_.push_back(job);
    // idle_ still counts a helper that was notified for an earlier job and
    // has not woken to take it: only a queue longer than idle_ proves this
    // job has no helper coming. (`idle_ == 0` here left a second job
    // queued forever behind a first one that blocks: os_file_test's two
    // blocking pipe ends at GOMAXPROCS=1 hung on it.)
    if (static_cast<int>(queue_.size()) > idle_ && threads_ < limit_) {
      ++threads_;
      // Counted before it exists. Meanwhile the detector would take one
      // user thread for the runtime's, but it does not get that far: this
      // call's count in pending_wakers already keeps it quiet.
      scheduler::instance().add_runtime_threads(1);
      try {
        std::thread([this] { helper(); }).detach();
      } catch (...) {
        --threads_;
        scheduler::instance().add_runtime_threads(-1);
        // With other helpers the job waits for one of them.
        if (threads_ == 0) CSP_FATAL("runtime::blocking could not start a helper thread");
      }
    } else {
      cv_.notify_one();
    }
  }

  void helper() {
    std::unique_lock<ranked_mutex> lock(mu_);
    for (;;) {
      ++idle_;
      mu_.wait(cv_, [&] { return !queue_.empty(); });
      --idle_;
      blocking_job* job = queue_.front();
      queue_.pop_front();
      lock.unlock();
      task* t = job->waiter;  // the job is on t's stack: gone once t runs
      job->run(job->arg);
      ready(t);
      // Dropped after the ready, so no check sees t neither runnable nor
      // counted. But t may have run and blocked for good before the drop,
      // and the check it (or the last idle worker) made then saw our count
      // and stayed quiet: a helper is no worker, nothing would look again.
      // So the drop to zero looks once more (cheap unless everything is
      // asleep). Found by runtime_test's "deadlock_after_blocking" child,
      // which hung under ASan instead of reporting.
      if (pending_wakers.fetch_sub(1, std::memory_order_seq_cst) == 1) check_deadlock();
      lock.lock();
    }
  }

  ranked_mutex mu_{lock_rank::blocking_pool};
  std::condition_variable cv_;
  std::deque<blocking_job*> queue_;  // guarded by mu_
  int idle_ = 0;                     // guarded by mu_
  int threads_ = 0;                  // guarded by mu_
  const int limit_ = limit_from_env();
};

}  // namespace

void blocking_call(void (*run)(void*) noexcept, void* arg) {
  blocking_job job{run, arg, current_task()};
  blocking_pool::instance().call(&job);
}

}  // namespace csp::detail
