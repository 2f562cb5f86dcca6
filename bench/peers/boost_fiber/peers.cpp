// peers.cpp — the Boost.Fiber side of csp's side-by-side benchmarks.
//
//   GOMAXPROCS=<N> bf-peers <workload>|all [n]
//
// Same names, default sizes, units and output lines as csp's
// bench/workloads.cpp and the Go peer (bench/peers/go), for the workloads
// Boost.Fiber 1.81 can express. See README.md for the set-up and for how each
// workload maps onto Boost.Fiber.
//
//   g++ -O2 -std=c++20 peers.cpp -o bf-peers -lboost_fiber -lboost_context -pthread
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/fiber/all.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace fibers = boost::fibers;

namespace {

using clock_type = std::chrono::steady_clock;
using i64 = std::int64_t;

int procs = 1;  // GOMAXPROCS: 1 = round_robin, >= 2 = work_stealing(procs)

void report(const char* name, double value, const char* unit) {
  std::printf("BENCH %s_p%d %.1f %s\n", name, procs, value, unit);
  std::fflush(stdout);
}
double ns_since(clock_type::time_point s) {
  return std::chrono::duration<double, std::nano>(clock_type::now() - s).count();
}
double ns_per(clock_type::time_point s, i64 ops) { return ns_since(s) / double(ops); }
double ms_since(clock_type::time_point s) { return ns_since(s) / 1e6; }

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "bf-peers: %s\n", what);
  std::fflush(stdout);
  std::_Exit(1);
}

// stack_cache: a thread-safe LIFO cache of 64 KiB stacks, malloc on a miss,
// never returned to the system. It stands in for Go's goroutine cache:
// without it every fiber mallocs and frees its stack, glibc hands the
// memory back, and each reuse faults fresh pages. (Boost's
// pooled_fixedsize_stack is not thread-safe, so work_stealing cannot use it.)
class stack_cache {
 public:
  static constexpr std::size_t size = 64 * 1024;

  boost::context::stack_context allocate() {
    void* p = nullptr;
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (!free_.empty()) {
        p = free_.back();
        free_.pop_back();
      }
    }
    if (p == nullptr && (p = std::malloc(size)) == nullptr) throw std::bad_alloc();
    boost::context::stack_context sc;
    sc.size = size;
    sc.sp = static_cast<char*>(p) + size;  // stacks grow down
    return sc;
  }
  void deallocate(boost::context::stack_context& sc) noexcept {
    std::lock_guard<std::mutex> lk(mu_);
    free_.push_back(static_cast<char*>(sc.sp) - size);
  }

 private:
  std::mutex mu_;
  std::vector<void*> free_;
};

stack_cache stacks;

// stack_ref adapts the shared cache to Boost's StackAllocator concept.
struct stack_ref {
  boost::context::stack_context allocate() { return stacks.allocate(); }
  void deallocate(boost::context::stack_context& sc) noexcept { stacks.deallocate(sc); }
};

// spawn starts a detached fiber (launch::post: queued, may be stolen).
template <class F>
void spawn(F&& f) {
  fibers::fiber(std::allocator_arg, stack_ref{}, std::forward<F>(f)).detach();
}

// wait_group: Boost.Fiber has none; an atomic counter, and a fiber mutex
// and condition variable for the waiters.
class wait_group {
 public:
  void add(i64 d) {
    if (n_.fetch_add(d, std::memory_order_acq_rel) + d == 0) wake();
  }
  void done() { add(-1); }
  void wait() {
    std::unique_lock<fibers::mutex> lk(mu_);
    cv_.wait(lk, [this] { return n_.load(std::memory_order_acquire) == 0; });
  }

 private:
  void wake() {
    std::lock_guard<fibers::mutex> lk(mu_);  // no lost wake-up with wait()'s check
    cv_.notify_all();
  }
  std::atomic<i64> n_{0};
  fibers::mutex mu_;
  fibers::condition_variable cv_;
};

template <class T>
using bchan = fibers::buffered_channel<T>;
template <class T>
using uchan = fibers::unbuffered_channel<T>;
using fibers::channel_op_status;

// ---------------------------------------------------------------------------

void spawn_join(i64 n) {
  for (const char* name : {"spawn_join", "spawn_join_warm"}) {
    wait_group wg;
    auto start = clock_type::now();
    wg.add(n);
    for (i64 i = 0; i < n; ++i) spawn([&wg] { wg.done(); });
    wg.wait();
    report(name, ns_per(start, n), "ns/goroutine");
  }
}

void pingpong_unbuffered(i64 n) {
  uchan<i64> ping, pong;
  wait_group wg;
  wg.add(2);
  auto start = clock_type::now();
  spawn([&] {
    i64 v;
    for (i64 i = 0; i < n; ++i) {
      ping.push(i);
      pong.pop(v);
    }
    ping.close();
    wg.done();
  });
  spawn([&] {
    i64 v;
    while (ping.pop(v) == channel_op_status::success) pong.push(v);
    wg.done();
  });
  wg.wait();
  report("pingpong_unbuffered", ns_per(start, n), "ns/roundtrip");
}

// Capacity 128: Boost's buffered_channel needs a power of two and holds
// capacity - 1 values, so this one holds 127 (Go's 128).
void chan_buffered_spsc(i64 n) {
  bchan<i64> ch(128);
  uchan<i64> done;
  auto start = clock_type::now();
  spawn([&] {
    for (i64 i = 0; i < n; ++i) ch.push(i);
    ch.close();
  });
  spawn([&] {
    i64 v, sum = 0;
    while (ch.pop(v) == channel_op_status::success) sum += v;
    done.push(sum);
  });
  i64 sum = -1;
  done.pop(sum);
  if (sum != n * (n - 1) / 2) fail("chan_buffered_spsc: bad sum");
  report("chan_buffered_spsc", ns_per(start, n), "ns/item");
}

template <class Chan>
double mpmc(i64 n, Chan& ch) {
  constexpr int P = 4, C = 4;
  const i64 each = n / P;
  wait_group prod, cons;
  std::atomic<i64> total{0};
  prod.add(P);
  cons.add(C);
  auto start = clock_type::now();
  for (int p = 0; p < P; ++p) {
    spawn([&] {
      for (i64 i = 0; i < each; ++i) ch.push(i);
      prod.done();
    });
  }
  for (int c = 0; c < C; ++c) {
    spawn([&] {
      i64 v, sum = 0;
      while (ch.pop(v) == channel_op_status::success) sum += v;
      total.fetch_add(sum);
      cons.done();
    });
  }
  prod.wait();
  // Close only once every push has returned (Boost 1.81's unbuffered
  // close with a push still blocked leaves a dangling slot behind).
  ch.close();
  cons.wait();
  double r = ns_per(start, each * P);
  if (total.load() != P * (each * (each - 1) / 2)) fail("mpmc: bad sum");
  return r;
}

void chan_mpmc(i64 n) {
  bchan<i64> ch(1024);  // holds 1023
  report("chan_mpmc", mpmc(n, ch), "ns/item");
}
void chan_unbuffered_mpmc(i64 n) {
  uchan<i64> ch;
  report("chan_unbuffered_mpmc", mpmc(n, ch), "ns/item");
}

i64 vm_rss() {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == "VmRSS:") {
      i64 kb = 0;
      f >> kb;
      return kb * 1024;
    }
    f.ignore(1 << 20, '\n');
  }
  fail("VmRSS not found");
}

// mem_parked: fibers blocked in pop() on one unbuffered channel; RSS growth
// per fiber (64 KiB malloc'ed stacks, touched only near their top).
void mem_parked(i64 n) {
  const i64 rss0 = vm_rss();
  uchan<int> ch;
  wait_group parked, exited;
  parked.add(n);
  exited.add(n);
  for (i64 i = 0; i < n; ++i) {
    spawn([&] {
      parked.done();
      int v;
      ch.pop(v);
      exited.done();
    });
  }
  parked.wait();
  boost::this_fiber::sleep_for(std::chrono::milliseconds(100));
  report("mem_parked_rss", double(vm_rss() - rss0) / double(n), "bytes/goroutine");
  ch.close();  // no push is pending: every pop wakes with `closed`
  exited.wait();
}

// mem_parked_real: fibers parked through the common operations from
// ordinary lambdas, a fifth each, as csp's and Go's: ranging over a channel
// of strings (pop until closed), a wait on a quit channel in place of the
// select over jobs and quit (Boost.Fiber has no select), a sleep loop, a
// fiber mutex the body holds, a wait_group's wait. RSS growth per fiber.
void mem_parked_real(i64 n) {
  const i64 rss0 = vm_rss();
  uchan<std::string> jobs;
  uchan<int> quit;
  fibers::mutex mu;
  wait_group gate, parked, exited;
  std::atomic<bool> stop{false};
  std::atomic<i64> total{0};
  gate.add(1);
  parked.add(n);
  exited.add(n);
  mu.lock();
  for (i64 i = 0; i < n; ++i) {
    switch (i % 5) {
      case 0:
        spawn([&] {
          parked.done();
          std::size_t bytes = 0;
          std::string job;
          while (jobs.pop(job) == channel_op_status::success) bytes += job.size();
          total += i64(bytes);
          exited.done();
        });
        break;
      case 1:
        spawn([&] {
          parked.done();
          int v;
          (void)quit.pop(v);
          exited.done();
        });
        break;
      case 2:
        spawn([&] {
          parked.done();
          int rounds = 0;
          while (!stop.load(std::memory_order_relaxed)) {
            boost::this_fiber::sleep_for(std::chrono::seconds(1));
            ++rounds;
          }
          total += rounds;
          exited.done();
        });
        break;
      case 3:
        spawn([&, i] {
          parked.done();
          {
            std::lock_guard<fibers::mutex> lock(mu);
            total += i;
          }
          exited.done();
        });
        break;
      default:
        spawn([&] {
          parked.done();
          gate.wait();
          exited.done();
        });
        break;
    }
  }
  parked.wait();
  boost::this_fiber::sleep_for(std::chrono::milliseconds(100));
  report("mem_parked_real_rss", double(vm_rss() - rss0) / double(n), "bytes/goroutine");
  stop = true;
  quit.close();  // no push is pending: every pop wakes with `closed`
  jobs.close();
  mu.unlock();
  gate.done();
  exited.wait();
}

// mutex_contended: fibers::mutex. With one thread and no preemption a fiber
// never yields while holding it, so p1 is uncontended, as in Go's p1.
void mutex_contended(i64 n) {
  constexpr int G = 4;
  fibers::mutex mu;
  wait_group wg;
  i64 counter = 0;
  wg.add(G);
  auto start = clock_type::now();
  for (int g = 0; g < G; ++g) {
    spawn([&] {
      for (i64 i = 0; i < n; ++i) {
        mu.lock();
        ++counter;
        mu.unlock();
      }
      wg.done();
    });
  }
  wg.wait();
  if (counter != G * n) fail("mutex_contended: lost increments");
  report("mutex_contended", ns_per(start, G * n), "ns/lockunlock");
}

// prime_sieve: as Go; the fibers stay blocked and the process ends with
// _Exit after the report (a Boost scheduler will not shut down with
// blocked fibers), so no teardown is timed.
void prime_sieve(i64 n) {
  auto start = clock_type::now();
  std::vector<std::unique_ptr<uchan<i64>>> chans;  // kept alive: fibers stay parked on them
  chans.push_back(std::make_unique<uchan<i64>>());
  uchan<i64>* ch = chans.back().get();
  spawn([ch] {
    for (i64 i = 2;; ++i) ch->push(i);
  });
  i64 last = 0;
  for (i64 i = 0; i < n; ++i) {
    ch->pop(last);
    chans.push_back(std::make_unique<uchan<i64>>());
    uchan<i64>* next = chans.back().get();
    spawn([in = ch, out = next, p = last] {
      i64 v;
      for (;;) {
        in->pop(v);
        if (v % p != 0) out->push(v);
      }
    });
    ch = next;
  }
  if (n == 5000 && last != 48611) fail("prime_sieve: wrong 5000th prime");
  report("prime_sieve", ms_since(start), "ms");
  std::fflush(stdout);
  std::_Exit(0);
}

void wg_fanout(i64 n) {
  constexpr int rounds = 100;
  auto start = clock_type::now();
  for (int r = 0; r < rounds; ++r) {
    uchan<i64> res;
    wait_group wg, closer;
    wg.add(n);
    closer.add(1);
    for (i64 i = 0; i < n; ++i) {
      spawn([&, i] {
        res.push(i);
        wg.done();
      });
    }
    spawn([&] {
      wg.wait();  // every push has returned: safe to close
      res.close();
      closer.done();
    });
    i64 v, sum = 0;
    while (res.pop(v) == channel_op_status::success) sum += v;
    closer.wait();  // res and wg live on this frame
    if (sum != n * (n - 1) / 2) fail("wg_fanout: bad sum");
  }
  report("wg_fanout", ns_per(start, rounds * n), "ns/goroutine");
}

void skynet_node(uchan<i64>* c, i64 num, i64 size, i64 div) {
  if (size == 1) {
    c->push(num);
    return;
  }
  uchan<i64> rc;
  for (i64 i = 0; i < div; ++i)
    spawn([&rc, sub = num + i * (size / div), size, div] { skynet_node(&rc, sub, size / div, div); });
  i64 sum = 0, v;
  for (i64 i = 0; i < div; ++i) {
    rc.pop(v);
    sum += v;
  }
  // rc may be destroyed now: every child's push has returned (its value
  // was taken), though a child may still be finishing; it no longer
  // touches rc.
  c->push(sum);
}

void skynet(i64 n) {
  auto start = clock_type::now();
  uchan<i64> c;
  spawn([&c, n] { skynet_node(&c, 0, n, 10); });
  i64 got = -1;
  c.pop(got);
  if (got != n * (n - 1) / 2) fail("skynet: wrong sum");
  report("skynet", ms_since(start), "ms");
}

void context_switch(i64 n) {
  wait_group wg;
  wg.add(2);
  auto start = clock_type::now();
  for (int g = 0; g < 2; ++g) {
    spawn([&] {
      for (i64 i = 0; i < n; ++i) boost::this_fiber::yield();
      wg.done();
    });
  }
  wg.wait();
  report("context_switch", ns_per(start, 2 * n), "ns/switch");
}

double cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& tv) { return double(tv.tv_sec) * 1e3 + double(tv.tv_usec) / 1e3; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

// idle_cpu: the body fiber sleeps (this_fiber::sleep_for) with nothing
// else to run. work_stealing without suspend busy-polls, so p2 is expected
// to burn CPU.
void idle_cpu(double seconds) {
  boost::this_fiber::sleep_for(std::chrono::milliseconds(50));
  const double before = cpu_ms();
  boost::this_fiber::sleep_for(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds)));
  report("idle_cpu", cpu_ms() - before, "ms_cpu");
}


// ---------------------------------------------------------------------------
// Program shapes of ported Go programs (csp runs these on its plain main
// thread; here, as in Go, they run in the main thread's fiber). doubleselect
// needs select: not expressible.

double status_mib(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string k;
  while (f >> k) {
    if (k == key) {
      i64 kb = 0;
      f >> kb;
      return double(kb) / 1024.0;
    }
    f.ignore(1 << 20, '\n');
  }
  fail("/proc/self/status: key not found");
}

long minor_faults() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

void daisy_chain(i64 n) {
  const long faults0 = minor_faults();
  auto start = clock_type::now();
  std::vector<std::unique_ptr<uchan<i64>>> chans;
  chans.push_back(std::make_unique<uchan<i64>>());
  uchan<i64>* leftmost = chans.back().get();
  uchan<i64>* left = leftmost;
  for (i64 i = 0; i < n; ++i) {
    chans.push_back(std::make_unique<uchan<i64>>());
    uchan<i64>* right = chans.back().get();
    spawn([left, right] {
      i64 v = 0;
      right->pop(v);
      left->push(1 + v);
    });
    left = right;
  }
  spawn([left] { left->push(1); });
  i64 got = 0;
  leftmost->pop(got);
  if (got != n + 1) fail("daisy_chain: wrong sum");
  report("daisy_chain", ns_per(start, n), "ns/link");
  report("daisy_chain_rss", status_mib("VmHWM:"), "MiB");
  report("daisy_chain_faults", double(minor_faults() - faults0), "faults");
}

void main_recv(i64 n) {
  for (int cap : {0, 128}) {
    constexpr int producers = 4;
    std::unique_ptr<uchan<i64>> u;
    std::unique_ptr<bchan<i64>> b;
    if (cap == 0) u = std::make_unique<uchan<i64>>();
    else b = std::make_unique<bchan<i64>>(cap);
    auto push = [&](i64 v) { return u ? u->push(v) : b->push(v); };
    auto pop = [&](i64& v) { return u ? u->pop(v) : b->pop(v); };
    auto close = [&] { u ? u->close() : b->close(); };
    wait_group wg;
    wg.add(producers);
    auto start = clock_type::now();
    for (int p = 0; p < producers; ++p) {
      spawn([&] {
        for (i64 i = 0; i < n / producers; ++i) push(i);
        wg.done();
      });
    }
    spawn([&] {
      wg.wait();
      close();
    });
    i64 v = 0, sum = 0, got = 0;
    while (pop(v) == channel_op_status::success) sum += v, ++got;
    if (got != n / producers * producers) fail("main_recv: lost items");
    report(cap == 0 ? "main_recv_unbuffered" : "main_recv_buffered", ns_per(start, got), "ns/item");
  }
}

void spawn_from_main(i64 n) {
  const long faults0 = minor_faults();
  auto start = clock_type::now();
  uchan<int> shared;
  std::vector<std::unique_ptr<uchan<int>>> own;
  own.reserve(static_cast<std::size_t>(n));
  wait_group started, ended;
  started.add(n);
  ended.add(n);
  for (i64 i = 0; i < n; ++i) {
    own.push_back(std::make_unique<uchan<int>>());
    uchan<int>* c = own.back().get();
    switch (i % 3) {
      case 0:
        spawn([&, c] {
          started.done();
          int v;
          c->pop(v);
          ended.done();
        });
        break;
      case 1:
        spawn([&] {
          started.done();
          int v;
          shared.pop(v);  // closed: returns channel_op_status::closed
          ended.done();
        });
        break;
      default:
        spawn([&, c] {
          started.done();
          int v;
          c->pop_wait_for(v, std::chrono::hours(1));  // Go's select with time.After
          ended.done();
        });
    }
  }
  started.wait();
  for (i64 i = 0; i < n; ++i)
    if (i % 3 != 1) own[std::size_t(i)]->push(1);
  shared.close();
  ended.wait();
  report("spawn_from_main", ms_since(start), "ms");
  report("spawn_from_main_rss", status_mib("VmHWM:"), "MiB");
  report("spawn_from_main_faults", double(minor_faults() - faults0), "faults");
}

// ---------------------------------------------------------------------------

struct workload {
  double default_n;
  void (*run)(i64);  // null: not expressible with Boost.Fiber
};

const std::map<std::string, workload>& workloads() {
  static const std::map<std::string, workload> w = {
      {"spawn_join", {1e6, spawn_join}},
      {"pingpong_unbuffered", {5e6, pingpong_unbuffered}},
      {"chan_buffered_spsc", {1e7, chan_buffered_spsc}},
      {"chan_mpmc", {2e7, chan_mpmc}},
      {"chan_unbuffered_mpmc", {5e6, chan_unbuffered_mpmc}},
      {"select_4", {1e7, nullptr}},             // no select in Boost.Fiber
      {"select_timeout", {2e6, nullptr}},       // no select
      {"select_timeout_stop", {4e6, nullptr}},  // no select
      {"mem_parked", {1e6, mem_parked}},
      {"mem_parked_real", {5e5, mem_parked_real}},
      {"mutex_contended", {1e6, mutex_contended}},
      {"prime_sieve", {5e3, prime_sieve}},
      {"wg_fanout", {1e4, wg_fanout}},
      {"skynet", {1e6, skynet}},
      {"context_switch", {5e6, context_switch}},
      {"idle_cpu", {10, nullptr}},  // seconds
      {"daisy_chain", {1e5, daisy_chain}},
      {"main_recv", {1e6, main_recv}},
      {"spawn_from_main", {1e5, spawn_from_main}},
      {"doubleselect", {3e5, nullptr}},       // no select
      {"doubleselect_main", {3e5, nullptr}},  // no select
  };
  return w;
}

// run_threads sets up the scheduler on this thread (and procs - 1 helper
// threads for work_stealing), runs body in a fiber, and waits for it.
template <class F>
void run_threads(F body) {
  std::atomic<bool> finished{false};
  std::vector<std::thread> helpers;
  if (procs > 1) {
    // suspend = false: an idle thread busy-polls for work to steal. With
    // suspend = true a sleeping helper is never woken to steal, and these
    // workloads degenerate to one thread. work_stealing's constructor is a
    // barrier for all procs threads: start the helpers, then join in.
    for (int i = 1; i < procs; ++i) {
      helpers.emplace_back([&] {
        fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(procs);
        // The helper's main fiber (pinned) yields until the body is done,
        // so its dispatcher keeps running stolen fibers.
        while (!finished.load(std::memory_order_acquire)) boost::this_fiber::yield();
      });
    }
    fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(procs);
  }
  fibers::fiber(std::allocator_arg, stack_ref{}, body).join();
  finished.store(true, std::memory_order_release);
  for (auto& t : helpers) t.join();
}

int run_one(const std::string& name, const workload& w, const char* arg) {
  double n = w.default_n;
  if (arg != nullptr) {
    char* end = nullptr;
    n = std::strtod(arg, &end);
    if (end == arg || *end != '\0' || !(n > 0)) {
      std::fprintf(stderr, "bf-peers: bad n %s\n", arg);
      return 2;
    }
  }
  if (name == "idle_cpu") {
    run_threads([n] { idle_cpu(n); });
    return 0;
  }
  if (w.run == nullptr) {
    std::fprintf(stderr, "bf-peers: %s: not expressible with Boost.Fiber (no select)\n", name.c_str());
    return 3;
  }
  run_threads([&] { w.run(static_cast<i64>(n)); });
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* env = std::getenv("GOMAXPROCS")) procs = std::max(1, std::atoi(env));
  const auto& all = workloads();
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: GOMAXPROCS=N %s <workload> [n]\n", argv[0]);
    return 2;
  }
  const std::string sel = argv[1];
  const char* arg = argc > 2 ? argv[2] : nullptr;
  if (sel == "all") {
    // work_stealing can be set up once per thread, and prime_sieve ends the
    // process: run one workload per process (run.py does).
    std::fprintf(stderr, "bf-peers: `all` is not supported; run one workload per process\n");
    return 2;
  }
  auto it = all.find(sel);
  if (it == all.end()) {
    std::fprintf(stderr, "bf-peers: unknown workload \"%s\"\n", sel.c_str());
    return 2;
  }
  int rc = run_one(it->first, it->second, arg);
  std::fflush(stdout);
  std::_Exit(rc);  // skip teardown: fibers may still be parked (see prime_sieve)
}
