// workloads.cpp — the side-by-side runner: csp's side of the comparison with
// Go and Boost.Fiber (bench/peers/, bench/run.py).
//
//   GOMAXPROCS=<N> workloads <name>|all [n]
//
// prints one line per metric, `BENCH <name>_p<N> <value> <unit>`, with the
// names, default sizes, units and definitions of the Go anchor program
// (shared/anchors/go/README.md), so the three implementations' lines can be
// compared one for one.
//
// Go's main is goroutine 1 and counts against GOMAXPROCS; csp's main is a
// plain OS thread. So each workload body runs in a goroutine that main waits
// for (run_body), and the measured code runs on the worker threads exactly
// as Go's runs on its Ps. main only sleeps in wait_group::wait meanwhile.
//
// Extra, csp-only metrics (also in the Go peer, for reference):
//   context_switch  ns per goroutine switch: two goroutines take turns with
//                   runtime::gosched(); meaningful at GOMAXPROCS=1, where
//                   each gosched is one switch to the other goroutine.
//   tcp_pingpong    ns per round trip of one byte over a loopback TCP
//                   connection between two goroutines (net::, the
//                   netpoller); tcp_pingpong_threads is the same with two
//                   plain threads on blocking sockets, for reference.
//   udp_pingpong    ns per round trip of a one-byte datagram between a
//                   client goroutine on a connected UDP socket (dial) and a
//                   server goroutine in read_from/write_to (listen_packet),
//                   over loopback. In the Go peer too: the comparison.
//   unix_pingpong   the same over a unix stream socket (listen/dial "unix").
//   idle_cpu        CPU time (getrusage, all threads) the process uses while
//                   the runtime's workers are started and have nothing to
//                   run, over n seconds (default 10): an idle runtime must
//                   not spin.
//
// Differences from Go, on purpose:
//   - mem_parked reports mem_parked_rss only. Go's mem_parked_sys is the
//     growth of MemStats.Sys (memory obtained from the OS); csp's nearest
//     figure would be the growth of VmSize, which counts every stack's whole
//     reserved range (256 KiB of address space each, committed lazily), so
//     it measures reservations, not memory. RSS is the comparable figure.
//   - mem_parked's "let the last few reach <-ch" pause yields with
//     runtime::gosched() for 100 ms instead of sleeping: time::sleep is not
//     implemented yet, and a sleeping thread would hold the only worker at
//     GOMAXPROCS=1.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <csp/go.hpp>

namespace {

using namespace csp;
using clock_type = std::chrono::steady_clock;

int procs = 1;  // runtime::gomaxprocs(), the _p<N> suffix
bool in_goroutine_body = true;  // the workload runs in run_body's goroutine

void report(const char* name, double value, const char* unit) {
  std::printf("BENCH %s_p%d %.1f %s\n", name, procs, value, unit);
  std::fflush(stdout);
}

double ns_since(clock_type::time_point start) {
  return std::chrono::duration<double, std::nano>(clock_type::now() - start).count();
}
double ns_per(clock_type::time_point start, std::int64_t ops) { return ns_since(start) / double(ops); }
double ms_since(clock_type::time_point start) { return ns_since(start) / 1e6; }

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "workloads: %s\n", what);
  std::exit(1);
}

// run_body runs f on a goroutine and blocks main until it returns: the
// analogue of Go's main goroutine.
template <class F>
void run_body(F f) {
  sync::wait_group wg;
  wg.add(1);
  go([&] {
    f();
    wg.done();
  });
  wg.wait();
}

// ---------------------------------------------------------------------------

// spawn_join: spawn n goroutines that each call wg.done(); wait for all.
// Two rounds: the first pays for fresh stacks (page faults), the second
// reuses the pooled ones.
void spawn_join(std::int64_t n) {
  for (const char* name : {"spawn_join", "spawn_join_warm"}) {
    sync::wait_group wg;
    auto start = clock_type::now();
    wg.add(int(n));
    for (std::int64_t i = 0; i < n; ++i) go([&wg] { wg.done(); });
    wg.wait();
    report(name, ns_per(start, n), "ns/goroutine");
  }
}

// pingpong_unbuffered: two goroutines bounce an int over two unbuffered
// channels.
void pingpong_unbuffered(std::int64_t n) {
  auto ping = make_chan<std::int64_t>(), pong = make_chan<std::int64_t>();
  sync::wait_group wg;
  wg.add(2);
  auto start = clock_type::now();
  go([&] {
    for (std::int64_t i = 0; i < n; ++i) {
      ping.send(i);
      pong.recv();
    }
    ping.close();
    wg.done();
  });
  go([&] {
    for (std::int64_t v : ping) pong.send(v);
    wg.done();
  });
  wg.wait();
  report("pingpong_unbuffered", ns_per(start, n), "ns/roundtrip");
}

// chan_buffered_spsc: one producer, one consumer, capacity 128.
void chan_buffered_spsc(std::int64_t n) {
  auto ch = make_chan<std::int64_t>(128);
  auto done = make_chan<std::int64_t>();
  auto start = clock_type::now();
  go([=] {
    for (std::int64_t i = 0; i < n; ++i) ch.send(i);
    ch.close();
  });
  go([=] {
    std::int64_t sum = 0;
    for (std::int64_t v : ch) sum += v;
    done.send(sum);
  });
  if (done.recv().value_or(-1) != n * (n - 1) / 2) fail("chan_buffered_spsc: bad sum");
  report("chan_buffered_spsc", ns_per(start, n), "ns/item");
}

// mpmc: 4 producers (n/4 items each) and 4 consumers share one channel of
// the given capacity; closed once every producer is done. ns per item.
double mpmc(std::int64_t n, std::size_t capacity) {
  constexpr int P = 4, C = 4;
  const std::int64_t each = n / P;
  auto ch = make_chan<std::int64_t>(capacity);
  sync::wait_group prod, cons;
  std::atomic<std::int64_t> total{0};
  prod.add(P);
  cons.add(C);
  auto start = clock_type::now();
  for (int p = 0; p < P; ++p) {
    go([&] {
      for (std::int64_t i = 0; i < each; ++i) ch.send(i);
      prod.done();
    });
  }
  for (int c = 0; c < C; ++c) {
    go([&] {
      std::int64_t sum = 0;
      for (std::int64_t v : ch) sum += v;
      total.fetch_add(sum, std::memory_order_relaxed);
      cons.done();
    });
  }
  prod.wait();
  ch.close();
  cons.wait();
  double r = ns_per(start, each * P);
  if (total.load() != P * (each * (each - 1) / 2)) fail("mpmc: bad sum");
  return r;
}

void chan_mpmc(std::int64_t n) { report("chan_mpmc", mpmc(n, 1024), "ns/item"); }
void chan_unbuffered_mpmc(std::int64_t n) { report("chan_unbuffered_mpmc", mpmc(n, 0), "ns/item"); }

// select_4: one goroutine selects over 4 receive channels (capacity 128
// each), each fed by its own producer; a closed channel is set to nil so it
// is never chosen again. The clock starts after the producers are launched.
void select_4(std::int64_t n) {
  std::array<chan<std::int64_t>, 4> chs;
  for (auto& c : chs) {
    c = make_chan<std::int64_t>(128);
    go([c, n] {
      for (std::int64_t j = 0; j < n / 4; ++j) c.send(j);
      c.close();
    });
  }
  auto start = clock_type::now();
  auto [c0, c1, c2, c3] = chs;
  std::int64_t sum = 0, got = 0;
  std::optional<std::int64_t> v;
  for (int open = 4; open > 0;) {
    int i = select(recv(c0, v), recv(c1, v), recv(c2, v), recv(c3, v));
    if (!v) {
      (i == 0 ? c0 : i == 1 ? c1 : i == 2 ? c2 : c3) = nullptr;
      --open;
      continue;
    }
    sum += *v;
    ++got;
  }
  if (got != n / 4 * 4) fail("select_4: lost items");
  report("select_4", ns_per(start, got), "ns/item");
}

// select_timeout: `ch <- i` on a capacity-1 channel, then a select between
// receiving it and time::after(1h), which never fires. Each iteration makes
// a timer that nobody can receive from afterwards; it is released with its
// channel (Go 1.23's rule), so memory stays flat.
void select_timeout(std::int64_t n) {
  using namespace std::chrono_literals;
  auto ch = make_chan<std::int64_t>(1);
  std::int64_t sum = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    ch.send(i);
    std::optional<std::int64_t> v;
    if (select(recv(ch, v), recv(time::after(1h))) == 0) sum += *v;
  }
  if (sum != n * (n - 1) / 2) fail("select_timeout: lost items");
  report("select_timeout", ns_per(start, n), "ns/op");
}

// select_timeout_stop: the idiomatic form, a time::timer stopped once the
// select is won.
void select_timeout_stop(std::int64_t n) {
  using namespace std::chrono_literals;
  auto ch = make_chan<std::int64_t>(1);
  std::int64_t sum = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    ch.send(i);
    time::timer t{1h};
    std::optional<std::int64_t> v;
    if (select(recv(ch, v), recv(t.c)) == 0) sum += *v;
    t.stop();
  }
  if (sum != n * (n - 1) / 2) fail("select_timeout_stop: lost items");
  report("select_timeout_stop", ns_per(start, n), "ns/op");
}

// status_kib returns a "Key:  N kB" field of /proc/self/status, in KiB.
std::int64_t status_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    if (key == field) {
      std::int64_t kb = 0;
      f >> kb;
      return kb;
    }
    f.ignore(1 << 20, '\n');
  }
  fail("/proc/self/status: field not found");
}

// vm_rss returns the resident set size in bytes (VmRSS).
std::int64_t vm_rss() { return status_kib("VmRSS:") * 1024; }

// mem_parked: n goroutines blocked receiving on one shared channel; the
// growth of RSS per goroutine, measured once all have started; then
// released by closing the channel.
void mem_parked(std::int64_t n) {
  const std::int64_t rss0 = vm_rss();
  auto ch = make_chan<>();
  sync::wait_group parked, exited;
  parked.add(int(n));
  exited.add(int(n));
  for (std::int64_t i = 0; i < n; ++i) {
    go([&, ch] {
      parked.done();
      ch.recv();
      exited.done();
    });
  }
  parked.wait();
  // Let the last few reach ch.recv() (see the header: yield, not sleep).
  for (auto until = clock_type::now() + std::chrono::milliseconds(100); clock_type::now() < until;)
    runtime::gosched();
  const std::int64_t rss1 = vm_rss();
  report("mem_parked_rss", double(rss1 - rss0) / double(n), "bytes/goroutine");
  ch.close();
  exited.wait();
}

// mem_parked_real: n goroutines parked through the common operations from
// ordinary lambdas, a fifth each: ranging over a channel of strings, a
// select loop over that channel and a quit channel, a sleep loop, a
// sync::mutex the body holds, a wait_group's wait. The growth of RSS per
// goroutine, measured once all have parked; then each is released.
void mem_parked_real(std::int64_t n) {
  const std::int64_t rss0 = vm_rss();
  auto jobs = make_chan<std::string>();
  auto quit = make_chan<>();
  sync::mutex mu;
  sync::wait_group gate, parked, exited;
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> total{0};
  gate.add(1);
  parked.add(int(n));
  exited.add(int(n));
  mu.lock();
  for (std::int64_t i = 0; i < n; ++i) {
    switch (int(i % 5)) {
      case 0:  // a worker ranging over its jobs
        go([&, jobs] {
          parked.done();
          std::size_t bytes = 0;
          for (std::string job : jobs) bytes += job.size();
          total += std::int64_t(bytes);
          exited.done();
        });
        break;
      case 1:  // a worker selecting between jobs and quit
        go([&, jobs, quit] {
          parked.done();
          std::size_t bytes = 0;
          for (bool done = false; !done;) {
            select(on_recv(jobs, [&](std::optional<std::string> job) {
                     if (job) bytes += job->size();
                     else done = true;
                   }),
                   on_recv(quit, [&](std::optional<unit>) { done = true; }));
          }
          total += std::int64_t(bytes);
          exited.done();
        });
        break;
      case 2:  // a poller sleeping between checks
        go([&] {
          parked.done();
          int rounds = 0;
          while (!stop.load(std::memory_order_relaxed)) {
            time::sleep(std::chrono::seconds(1));
            ++rounds;
          }
          total += rounds;
          exited.done();
        });
        break;
      case 3:  // a counter under a mutex
        go([&, i] {
          parked.done();
          {
            std::lock_guard<sync::mutex> lock(mu);
            total += i;
          }
          exited.done();
        });
        break;
      default:  // waiting for a start signal
        go([&] {
          parked.done();
          gate.wait();
          exited.done();
        });
        break;
    }
  }
  parked.wait();
  // Let the last few reach their park (see the header: yield, not sleep).
  for (auto until = clock_type::now() + std::chrono::milliseconds(100); clock_type::now() < until;)
    runtime::gosched();
  const std::int64_t rss1 = vm_rss();
  report("mem_parked_real_rss", double(rss1 - rss0) / double(n), "bytes/goroutine");
  stop = true;
  quit.close();
  jobs.close();
  mu.unlock();
  gate.done();
  exited.wait();
}

// mutex_contended: 4 goroutines each increment a shared counter n times
// under one sync::mutex.
void mutex_contended(std::int64_t n) {
  constexpr int G = 4;
  sync::mutex mu;
  sync::wait_group wg;
  std::int64_t counter = 0;
  wg.add(G);
  auto start = clock_type::now();
  for (int g = 0; g < G; ++g) {
    go([&] {
      for (std::int64_t i = 0; i < n; ++i) {
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

// prime_sieve: the classic daisy-chained sieve, one filter goroutine per
// prime over unbuffered channels; time to receive n primes. The goroutines
// stay blocked afterwards, as in the classic program (they are abandoned
// when main returns).
void prime_sieve(std::int64_t n) {
  auto start = clock_type::now();
  auto ch = make_chan<std::int64_t>();
  go([](send_only<std::int64_t> out) {
    for (std::int64_t i = 2;; ++i) out.send(i);
  }, ch);
  std::int64_t last = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    last = ch.recv().value();
    auto next = make_chan<std::int64_t>();
    go([](recv_only<std::int64_t> in, send_only<std::int64_t> out, std::int64_t prime) {
      for (;;) {
        std::int64_t v = in.recv().value();
        if (v % prime != 0) out.send(v);
      }
    }, ch, next, last);
    ch = next;
  }
  if (n == 5000 && last != 48611) fail("prime_sieve: wrong 5000th prime");
  report("prime_sieve", ms_since(start), "ms");
}

// wg_fanout: n goroutines each send one value on an unbuffered channel and
// call wg.done(); a goroutine closes the channel after wg.wait(); the body
// sums. 100 rounds.
void wg_fanout(std::int64_t n) {
  constexpr int rounds = 100;
  auto start = clock_type::now();
  for (int r = 0; r < rounds; ++r) {
    auto res = make_chan<std::int64_t>();
    sync::wait_group wg;
    wg.add(int(n));
    for (std::int64_t i = 0; i < n; ++i) {
      go([&wg, res, i] {
        res.send(i);
        wg.done();
      });
    }
    go([&wg, res] {
      wg.wait();
      res.close();
    });
    std::int64_t sum = 0;
    for (std::int64_t v : res) sum += v;
    if (sum != n * (n - 1) / 2) fail("wg_fanout: bad sum");
  }
  report("wg_fanout", ns_per(start, rounds * n), "ns/goroutine");
}

// skynet: a 10-ary tree of goroutines down to n leaves; each leaf sends its
// ordinal to its parent over the parent's unbuffered channel, each inner
// node sums its 10 children and sends the sum up (github.com/atemerev/skynet).
void skynet_node(send_only<std::int64_t> c, std::int64_t num, std::int64_t size, std::int64_t div) {
  if (size == 1) {
    c.send(num);
    return;
  }
  auto rc = make_chan<std::int64_t>();
  for (std::int64_t i = 0; i < div; ++i) go(skynet_node, rc, num + i * (size / div), size / div, div);
  std::int64_t sum = 0;
  for (std::int64_t i = 0; i < div; ++i) sum += rc.recv().value();
  c.send(sum);
}

void skynet(std::int64_t n) {
  auto start = clock_type::now();
  auto c = make_chan<std::int64_t>();
  go(skynet_node, c, std::int64_t{0}, n, std::int64_t{10});
  std::int64_t got = c.recv().value();
  if (got != n * (n - 1) / 2) {
    std::fprintf(stderr, "skynet: got %lld, want %lld\n", (long long)got, (long long)(n * (n - 1) / 2));
    std::exit(1);
  }
  report("skynet", ms_since(start), "ms");
}

// context_switch: two goroutines take turns via runtime::gosched(), n
// yields each; ns per switch (2n switches).
void context_switch(std::int64_t n) {
  sync::wait_group wg;
  wg.add(2);
  auto start = clock_type::now();
  for (int g = 0; g < 2; ++g) {
    go([&] {
      for (std::int64_t i = 0; i < n; ++i) runtime::gosched();
      wg.done();
    });
  }
  wg.wait();
  report("context_switch", ns_per(start, 2 * n), "ns/switch");
}

// cpu_ms is the CPU time (user + system) of every thread of the process.
double cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& tv) { return double(tv.tv_sec) * 1e3 + double(tv.tv_usec) / 1e3; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

// idle_cpu: start every worker, then let the runtime sit idle for `seconds`
// while main sleeps; the CPU it used meanwhile (should be ~0).
void idle_cpu(double seconds) {
  // Wake every worker at least once: procs goroutines that each wait for
  // all to be running, so none can finish before the others started.
  std::atomic<int> arrived{0};
  sync::wait_group wg;
  wg.add(procs);
  for (int i = 0; i < procs; ++i) {
    go([&] {
      arrived.fetch_add(1);
      for (auto until = clock_type::now() + std::chrono::milliseconds(200);
           arrived.load() < procs && clock_type::now() < until;)
        runtime::gosched();
      wg.done();
    });
  }
  wg.wait();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let workers go idle
  const double before = cpu_ms();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  report("idle_cpu", cpu_ms() - before, "ms_cpu");
}

// tcp_pingpong: see the header comment.
void tcp_pingpong(std::int64_t n) {
  auto [ln, err] = net::listen("tcp", "127.0.0.1:0");
  if (err) fail("tcp_pingpong: listen");
  sync::wait_group wg;
  wg.add(1);
  go([&, ln] {
    auto [c, aerr] = ln.accept();
    std::array<std::byte, 1> b{};
    while (!aerr && !c.read(b).err && !c.write(b).err) {
    }
    c.close();
    wg.done();
  });
  auto [c, derr] = net::dial("tcp", ln.addr());
  if (derr) fail("tcp_pingpong: dial");
  std::array<std::byte, 1> b{};
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    if (c.write(b).err || c.read(b).err) fail("tcp_pingpong: i/o");
  }
  report("tcp_pingpong", ns_per(start, n), "ns/roundtrip");
  c.close();
  wg.wait();
  ln.close();

  // The same with plain threads and blocking sockets.
  int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(lfd, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(lfd, 1) != 0 ||
      ::getsockname(lfd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    fail("tcp_pingpong_threads: listen");
  int cfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(cfd, reinterpret_cast<sockaddr*>(&sa), len) != 0) fail("tcp_pingpong_threads: connect");
  int sfd = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
  int one = 1;
  ::setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::thread server([sfd] {
    char x;
    while (::read(sfd, &x, 1) == 1 && ::send(sfd, &x, 1, MSG_NOSIGNAL) == 1) {
    }
  });
  char x = 0;
  start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    if (::send(cfd, &x, 1, MSG_NOSIGNAL) != 1 || ::read(cfd, &x, 1) != 1) fail("tcp_pingpong_threads: i/o");
  }
  report("tcp_pingpong_threads", ns_per(start, n), "ns/roundtrip");
  ::close(cfd);
  server.join();
  ::close(sfd);
  ::close(lfd);
}


// ---------------------------------------------------------------------------
// Program shapes that ported Go programs have (issue: real programs). These
// run on the plain main thread, as a line-for-line port's main does, unless
// the name says otherwise; Go's run in its main goroutine.

// peak_rss_mib returns the process's peak resident set size (VmHWM), MiB.
double peak_rss_mib() { return double(status_kib("VmHWM:")) / 1024.0; }

// minor_faults returns the process's minor page faults so far.
long minor_faults() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_minflt;
}

// daisy_chain: Pike's daisy chain. main starts n goroutines, each doing
// `left <- 1 + <-right`, sends 1 into the rightmost and receives n + 1 from
// the leftmost. Time per link, peak RSS and minor faults.
void daisy_chain(std::int64_t n) {
  const long faults0 = minor_faults();
  auto start = clock_type::now();
  auto leftmost = make_chan<std::int64_t>();
  auto right = leftmost, left = leftmost;
  for (std::int64_t i = 0; i < n; ++i) {
    right = make_chan<std::int64_t>();
    go([](send_only<std::int64_t> l, recv_only<std::int64_t> r) { l.send(1 + r.recv().value()); },
       left, right);
    left = right;
  }
  go([](send_only<std::int64_t> c) { c.send(1); }, right);
  if (leftmost.recv().value() != n + 1) fail("daisy_chain: wrong sum");
  report("daisy_chain", ns_per(start, n), "ns/link");
  report("daisy_chain_rss", peak_rss_mib(), "MiB");
  report("daisy_chain_faults", double(minor_faults() - faults0), "faults");
}

// main_recv: goroutine producers, the plain main thread consuming: 4
// producers send n/4 items each over one channel, unbuffered and then with
// capacity 128.
void main_recv(std::int64_t n) {
  for (int cap : {0, 128}) {
    auto ch = make_chan<std::int64_t>(cap);
    constexpr int producers = 4;
    sync::wait_group wg;
    wg.add(producers);
    auto start = clock_type::now();
    for (int p = 0; p < producers; ++p) {
      go([&, ch] {
        for (std::int64_t i = 0; i < n / producers; ++i) ch.send(i);
        wg.done();
      });
    }
    go([&, ch] {
      wg.wait();
      ch.close();
    });
    std::int64_t sum = 0, got = 0;
    for (std::int64_t v : ch) sum += v, ++got;
    if (got != n / producers * producers) fail("main_recv: lost items");
    report(cap == 0 ? "main_recv_unbuffered" : "main_recv_buffered", ns_per(start, got), "ns/item");
  }
}

// spawn_from_main: the plain main thread starts n goroutines that each park
// receiving on their own channel, waits until all have started, then
// releases them three ways (a third each: a send on their own channel, one
// shared close, a select that also waits on a one-hour timer) and waits for
// all to end. Total time, peak RSS and minor faults.
void spawn_from_main(std::int64_t n) {
  using namespace std::chrono_literals;
  const long faults0 = minor_faults();
  auto start = clock_type::now();
  auto shared = make_chan<>();
  std::vector<chan<int>> own(static_cast<std::size_t>(n));
  sync::wait_group started, ended;
  started.add(int(n));
  ended.add(int(n));
  for (std::int64_t i = 0; i < n; ++i) {
    auto c = own[std::size_t(i)] = make_chan<int>();
    switch (i % 3) {
      case 0:
        go([&, c] {
          started.done();
          c.recv();
          ended.done();
        });
        break;
      case 1:
        go([&, shared] {
          started.done();
          shared.recv();
          ended.done();
        });
        break;
      default:
        go([&, c] {
          started.done();
          std::optional<int> v;
          select(recv(c, v), recv(time::after(1h)));
          ended.done();
        });
    }
  }
  started.wait();
  for (std::int64_t i = 0; i < n; ++i)
    if (i % 3 != 1) own[std::size_t(i)].send(1);
  shared.close();
  ended.wait();
  report("spawn_from_main", ms_since(start), "ms");
  report("spawn_from_main_rss", peak_rss_mib(), "MiB");
  report("spawn_from_main_faults", double(minor_faults() - faults0), "faults");
}

// blocking_calls: 1,000 goroutines make n runtime::blocking calls in all
// (n/1,000 each), each a short call (a few instructions): the hand-off to
// the helper pool and back, with the pool's queue contended by every
// worker's g0 (producers) and every helper (consumers). ns per call.
void blocking_calls(std::int64_t n) {
  constexpr int callers = 1000;
  const std::int64_t per = std::max<std::int64_t>(1, n / callers);
  std::atomic<std::int64_t> sum{0};
  sync::wait_group wg;
  wg.add(callers);
  auto start = clock_type::now();
  for (int c = 0; c < callers; ++c) {
    go([&, c] {
      std::int64_t local = 0;
      for (std::int64_t i = 0; i < per; ++i) local += runtime::blocking([&] { return c + i; });
      sum.fetch_add(local, std::memory_order_relaxed);
      wg.done();
    });
  }
  wg.wait();
  const std::int64_t want = per * (std::int64_t(callers) * (callers - 1) / 2) + callers * (per * (per - 1) / 2);
  if (sum.load() != want) fail("blocking_calls: wrong sum");
  report("blocking_calls", ns_per(start, per * callers), "ns/call");
}

// plain_threads: 4 plain threads ready goroutines at once, the way
// callbacks from a C library or an I/O thread do. First each thread starts
// n/4 goroutines with go() (plain_threads_spawn); then n goroutines park
// on their own channels and each thread wakes a quarter of them with a
// send (plain_threads_ready). Both go through the global run queue, which
// is where the threads meet. ns per goroutine.
void plain_threads(std::int64_t n) {
  constexpr int threads = 4;
  const std::int64_t per = std::max<std::int64_t>(1, n / threads);
  {
    sync::wait_group wg;
    wg.add(int(per * threads));
    auto start = clock_type::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&] {
        for (std::int64_t i = 0; i < per; ++i) go([&wg] { wg.done(); });
      });
    for (auto& t : ts) t.join();
    wg.wait();
    report("plain_threads_spawn", ns_per(start, per * threads), "ns/goroutine");
  }
  {
    std::vector<chan<int>> own(static_cast<std::size_t>(per * threads));
    sync::wait_group started, ended;
    started.add(int(own.size()));
    ended.add(int(own.size()));
    for (auto& c : own) {
      c = make_chan<int>();
      go([&, c] {
        started.done();
        c.recv();
        ended.done();
      });
    }
    started.wait();
    auto start = clock_type::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        for (std::int64_t i = t * per; i < (t + 1) * per; ++i) own[std::size_t(i)].send(1);
      });
    for (auto& t : ts) t.join();
    ended.wait();
    report("plain_threads_ready", ns_per(start, per * threads), "ns/goroutine");
  }
}

// doubleselect: Go's test/chan/doubleselect.go: a sender selects over four
// unbuffered channels, four muxes copy them into one, and a receiver checks
// every value arrives once. `doubleselect_main` keeps the receive loop in
// the plain main thread as Go's program does; `doubleselect` runs it in a
// goroutine (the csp::run shape).
void doubleselect(std::int64_t n) {
  auto c1 = make_chan<std::int64_t>(), c2 = make_chan<std::int64_t>(),
       c3 = make_chan<std::int64_t>(), c4 = make_chan<std::int64_t>();
  auto done = make_chan<bool>();
  auto cmux = make_chan<std::int64_t>();
  auto start = clock_type::now();
  go([=] {
    for (std::int64_t i = 0; i < n; ++i) select(send(c1, i), send(c2, i), send(c3, i), send(c4, i));
    c1.close(), c2.close(), c3.close(), c4.close();
  });
  for (auto c : {c1, c2, c3, c4}) {
    go([=] {
      for (std::int64_t v : c) cmux.send(v);
      done.send(true);
    });
  }
  go([=] {
    for (int i = 0; i < 4; ++i) done.recv();
    cmux.close();
  });
  std::vector<bool> seen(static_cast<std::size_t>(n));
  for (std::int64_t v : cmux) {
    if (seen[std::size_t(v)]) fail("doubleselect: duplicate value");
    seen[std::size_t(v)] = true;
  }
  report(in_goroutine_body ? "doubleselect" : "doubleselect_main", ns_per(start, n), "ns/item");
}

// udp_pingpong: see the header comment.
void udp_pingpong(std::int64_t n) {
  auto [pc, err] = net::listen_packet("udp", "127.0.0.1:0");
  if (err) fail("udp_pingpong: listen_packet");
  sync::wait_group wg;
  wg.add(1);
  go([&, pc = pc] {
    std::array<std::byte, 1> b{};
    for (;;) {
      auto [m, from, rerr] = pc.read_from(b);
      if (rerr || pc.write_to(std::span(b.data(), m), from).err) break;
    }
    wg.done();
  });
  auto [c, derr] = net::dial("udp", pc.local_addr());
  if (derr) fail("udp_pingpong: dial");
  std::array<std::byte, 1> b{};
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    if (c.write(b).err || c.read(b).err) fail("udp_pingpong: i/o");
  }
  report("udp_pingpong", ns_per(start, n), "ns/roundtrip");
  c.close();
  pc.close();
  wg.wait();
}

// unix_pingpong: see the header comment.
void unix_pingpong(std::int64_t n) {
  char dir[] = "/tmp/csp-bench-XXXXXX";
  if (::mkdtemp(dir) == nullptr) fail("unix_pingpong: mkdtemp");
  std::string path = std::string(dir) + "/pingpong.sock";
  auto [ln, err] = net::listen("unix", path);
  if (err) fail("unix_pingpong: listen");
  sync::wait_group wg;
  wg.add(1);
  go([&, ln = ln] {
    auto [c, aerr] = ln.accept();
    std::array<std::byte, 1> b{};
    while (!aerr && !c.read(b).err && !c.write(b).err) {
    }
    c.close();
    wg.done();
  });
  auto [c, derr] = net::dial("unix", path);
  if (derr) fail("unix_pingpong: dial");
  std::array<std::byte, 1> b{};
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    if (c.write(b).err || c.read(b).err) fail("unix_pingpong: i/o");
  }
  report("unix_pingpong", ns_per(start, n), "ns/roundtrip");
  c.close();
  wg.wait();
  ln.close();  // removes the socket file
  ::rmdir(dir);
}

// ---------------------------------------------------------------------------

struct workload {
  double default_n;
  void (*run)(std::int64_t n);  // null: not implemented yet
  bool on_main = false;         // run on the plain main thread, not in a goroutine
};

// `all` runs them in name order, as the Go program does.
const std::map<std::string, workload>& workloads() {
  static const std::map<std::string, workload> w = {
      {"spawn_join", {1'000'000, spawn_join}},                  // n = goroutines
      {"pingpong_unbuffered", {5'000'000, pingpong_unbuffered}},  // n = round trips
      {"chan_buffered_spsc", {10'000'000, chan_buffered_spsc}},   // n = items
      {"chan_mpmc", {20'000'000, chan_mpmc}},                     // n = items (total)
      {"chan_unbuffered_mpmc", {5'000'000, chan_unbuffered_mpmc}},  // n = items (total)
      {"select_4", {10'000'000, select_4}},                       // n = items (total)
      {"select_timeout", {2'000'000, select_timeout}},            // n = ops
      {"select_timeout_stop", {4'000'000, select_timeout_stop}},  // n = ops
      {"mem_parked", {1'000'000, mem_parked}},                    // n = goroutines
      {"mem_parked_real", {500'000, mem_parked_real}},            // n = goroutines
      {"mutex_contended", {1'000'000, mutex_contended}},          // n = per goroutine
      {"prime_sieve", {5'000, prime_sieve}},                      // n = primes
      {"wg_fanout", {10'000, wg_fanout}},                         // n = goroutines per round
      {"skynet", {1'000'000, skynet}},                            // n = leaves (a power of 10)
      {"context_switch", {5'000'000, context_switch}},            // n = yields per goroutine
      {"tcp_pingpong", {100'000, tcp_pingpong}},                  // n = round trips
      {"daisy_chain", {100'000, daisy_chain, true}},              // n = links
      {"main_recv", {1'000'000, main_recv, true}},                // n = items per run
      {"spawn_from_main", {100'000, spawn_from_main, true}},      // n = goroutines
      {"doubleselect", {300'000, doubleselect}},                  // n = items
      {"doubleselect_main", {300'000, doubleselect, true}},       // n = items
      {"udp_pingpong", {100'000, udp_pingpong}},                  // n = round trips
      {"unix_pingpong", {100'000, unix_pingpong}},                // n = round trips
      {"blocking_calls", {100'000, blocking_calls}},              // n = calls (total, from 1,000 goroutines)
      {"plain_threads", {400'000, plain_threads, true}},          // n = goroutines (total, 4 threads)
      {"idle_cpu", {10, nullptr}},                                // n = seconds (fractional ok)
  };
  return w;
}

int run_one(const std::string& name, const workload& w, const char* n_arg) {
  double n = w.default_n;
  if (n_arg != nullptr) {
    char* end = nullptr;
    n = std::strtod(n_arg, &end);
    if (end == n_arg || *end != '\0' || !(n > 0)) {
      std::fprintf(stderr, "workloads: bad n %s\n", n_arg);
      return 2;
    }
  }
  if (name == "idle_cpu") {
    idle_cpu(n);
    return 0;
  }
  if (w.run == nullptr) {
    std::fprintf(stderr, "workloads: %s: not implemented\n", name.c_str());
    return 3;
  }
  const auto size = static_cast<std::int64_t>(n);
  in_goroutine_body = !w.on_main;
  if (w.on_main) w.run(size);
  else run_body([&] { w.run(size); });
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto& all = workloads();
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: GOMAXPROCS=N %s <workload>|all [n]\nworkloads:", argv[0]);
    for (const auto& [name, w] : all) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  procs = runtime::gomaxprocs(0);
  const std::string sel = argv[1];
  const char* n_arg = argc > 2 ? argv[2] : nullptr;
  if (sel == "all") {
    for (const auto& [name, w] : all) {
      if (w.run == nullptr && name != "idle_cpu") {
        std::fprintf(stderr, "workloads: %s: skipped, not yet implemented\n", name.c_str());
        continue;
      }
      // n sizes the workloads; idle_cpu's argument is seconds, so it keeps
      // its default rather than sleeping for n seconds.
      if (int rc = run_one(name, w, name == "idle_cpu" ? nullptr : n_arg); rc != 0) return rc;
    }
    return 0;
  }
  auto it = all.find(sel);
  if (it == all.end()) {
    std::fprintf(stderr, "workloads: unknown workload \"%s\"\n", sel.c_str());
    return 2;
  }
  int rc = run_one(it->first, it->second, n_arg);
  // CSP_BENCH_STATS=1: the scheduler's counters after the run, for
  // profiling (how often work crossed workers or went through the global
  // queue).
  if (std::getenv("CSP_BENCH_STATS") != nullptr) {
    auto st = runtime::stats();
    std::fprintf(stderr,
                 "stats: created %llu switches %llu steals %llu global_pushes %llu wakeups %llu "
                 "parks %llu\n",
                 (unsigned long long)st.goroutines_created, (unsigned long long)st.context_switches,
                 (unsigned long long)st.steals, (unsigned long long)st.global_queue_pushes,
                 (unsigned long long)st.wakeups, (unsigned long long)st.parks);
  }
  return rc;
}
