// crash_child.cpp — programs that end the way Go programs end: by panic,
// deadlock, stack overflow, SIGQUIT, or main returning with goroutines still
// running. process_test.cpp runs each mode and checks status and output.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <csp/go.hpp>

#include "base/spin_mutex.hpp"
#include "park_event.hpp"
#include "sched/goroutine.hpp"
#include "sched/scheduler.hpp"

using namespace std::chrono_literals;

namespace {

// block_forever parks the caller with no way to be woken.
void block_forever(csp::detail::wait_reason why = csp::detail::wait_reason::chan_receive) {
  csp::detail::park(why, nullptr, nullptr);
}

// The listener a SIGALRM handler connects to (no_deadlock_io): the
// connection must come from outside csp, neither a timer nor a thread,
// either of which would keep the detector quiet on its own.
sockaddr_in alarm_target{};

void connect_on_alarm(int) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);  // socket and connect are async-signal-safe
  ::connect(s, reinterpret_cast<sockaddr*>(&alarm_target), sizeof alarm_target);
}

csp::net::listener listen_loopback() {
  auto [ln, err] = csp::net::listen("tcp", "127.0.0.1:0");
  if (err) {
    std::fprintf(stderr, "listen: %s\n", err.message().c_str());
    std::exit(100);
  }
  return ln;
}

long csp_test_max_map_count() {
  long v = 65530;
  if (FILE* f = std::fopen("/proc/sys/vm/max_map_count", "r")) {
    if (std::fscanf(f, "%ld", &v) != 1) v = 65530;
    std::fclose(f);
  }
  return v;
}

int recurse(int depth) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  return recurse(depth + 1) + frame[0];
}

// recurse16: 16-byte frames (the return address and one aligning slot), so
// its writes fall at 8 mod 16 and skip any single page-aligned word. It
// goes `depth` calls deep and returns, as a bounded recursion a little too
// deep for its stack does.
[[gnu::noinline]] long recurse16(long depth) {
  if (depth == 0) return 0;
  long r = recurse16(depth - 1);
  asm volatile("" : "+r"(r));  // not a tail call, not a loop
  return r + 1;
}

// recurse256: the same with 256-byte frames, each written at its low end.
[[gnu::noinline]] long recurse256(long depth) {
  volatile char frame[232];
  frame[0] = static_cast<char>(depth);
  if (depth == 0) return 0;
  return recurse256(depth - 1) + frame[0];
}

// big_local: a 280 KiB array in one frame larger than the whole (256 KiB)
// stack, whose lowest 16 KiB (2,048 words) are written. Built without
// -fstack-clash-protection (csp's tests use the project's flags, not
// csp.pc's), so nothing probes the pages in between: the writes land
// 24 KiB and more below the stack.
[[gnu::noinline]] int big_local() {
  volatile char a[280 * 1024];
  for (std::size_t i = 0; i < 16 * 1024; i += 8) a[i] = 1;
  return a[100];
}

// park_neighbours parks n goroutines forever (their stacks are allocated
// before the caller's next goroutine's, so they lie below it in its slab)
// and returns once all of them are parked.
void park_neighbours(long n) {
  static auto never = csp::make_chan<int>();
  csp::sync::wait_group started;
  started.add(static_cast<int>(n));
  for (long i = 0; i < n; ++i)
    csp::go([&started] {
      started.done();
      never.recv();
    });
  started.wait();
}

// guard_budget: how many stacks the pool guards with mprotect on a kernel
// without guard markers (a quarter of vm.max_map_count, or the test hook).
long guard_budget() {
  if (const char* env = std::getenv("CSP_STACK_GUARD_BUDGET")) return std::atol(env);
  return csp_test_max_map_count() / 4;
}

// after_exit: a static object whose destructor runs after main returned
// (constructed before the runtime started, so destroyed after its exit
// hook). Mode "block_after_exit" arms it.
struct after_exit {
  bool armed = false;
  ~after_exit() {
    if (!armed) return;
    auto ch = csp::make_chan<int>(1);
    csp::go([] { std::puts("goroutine ran after exit"); });
    std::printf("try_send after exit: %s\n", ch.try_send(1) ? "ok" : "full");
    std::printf("recv of a buffered value after exit: %d\n", ch.recv().value_or(-1));
    std::fflush(stdout);
    (void)ch.recv();  // would block forever: a fatal error, not a hang
    std::puts("not reached");
  }
} after_exit_probe;

// wait_parks waits until `reason` ("chan send", "sync.Cond.Wait", ...)
// has been parked on n times.
void wait_parks(const char* reason, std::uint64_t n) {
  while (csp::runtime::stats().parks_by_reason[reason] < n) std::this_thread::sleep_for(1ms);
}

// md5_all_early_return: the pipelines article's MD5All, ported line for
// line: `return` inside `for r := range c` on the first failure. Go moves
// wg to the heap; here it dies with this frame while the digesters still
// count on it. They wait on `never` before their done(), so no done()
// touches the dead frame before the fatal error ends the process.
[[gnu::noinline]] int md5_all_early_return(csp::chan<> never) {
  csp::sync::wait_group wg;
  auto c = csp::make_chan<int>();
  for (int i = 0; i < 3; ++i) {
    wg.add(1);
    csp::go([&wg, c, never, i] {
      c << (i == 0 ? -1 : i);  // digester 0 fails
      (void)never.recv();
      wg.done();
    });
  }
  for (int r : c)
    if (r < 0) return r;  // early return: wg destroyed with its counter at 3
  wg.wait();
  return 0;
}

// watched_static: a static the exit_from_goroutine readers use. Constructed
// before main (before the runtime starts), so destroyed after the runtime's
// exit hook, as a program's globals are. Its destructor takes a while (as
// a program's destruction sequence may), and any goroutine still running
// meanwhile sees `destroyed` and says so.
struct watched_static {
  std::atomic<bool> destroyed{false};
  std::vector<std::string> data = std::vector<std::string>(64, std::string(100, 'x'));
  ~watched_static() {
    destroyed.store(true);
    data.clear();  // frees the strings: a reader still in them is a use-after-free under ASan
    std::this_thread::sleep_for(20ms);
  }
} watched;

// read_watched reads every string of `watched` for about a millisecond; it
// ends the process (status 3) if it finds the static destroyed.
[[gnu::noinline]] std::size_t read_watched() {
  std::size_t sum = 0;
  const auto until = std::chrono::steady_clock::now() + 1ms;
  while (std::chrono::steady_clock::now() < until) {
    if (watched.destroyed.load()) {
      static const char msg[] = "a goroutine ran during static destruction\n";
      (void)!::write(2, msg, sizeof msg - 1);
      ::_exit(3);
    }
    for (const std::string& s : watched.data) sum += static_cast<unsigned char>(s[s.size() / 2]);
  }
  return sum;
}

// A global lock held by an abandoned goroutine when main returns: Go frees
// nothing at exit, so neither may csp complain.
csp::sync::mutex global_mu;
csp::sync::wait_group global_wg;

// fork_and_report forks with the runtime running (its workers started, a
// goroutine parked), runs child() in the child, and prints how the child
// ended: "child exited N" or "child killed by signal N".
template <class F>
void fork_and_report(F child) {
  auto never = csp::make_chan<int>();
  csp::sync::wait_group started;
  started.add(1);
  csp::go([&started, never] {
    started.done();
    never.recv();
  });
  started.wait();
  std::fflush(nullptr);  // nothing buffered for the child to print twice
  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("fork");
    std::exit(100);
  }
  if (pid == 0) {
    child();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (WIFEXITED(status)) std::printf("child exited %d\n", WEXITSTATUS(status));
  else if (WIFSIGNALED(status)) std::printf("child killed by signal %d\n", WTERMSIG(status));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "block_after_exit") {
    csp::go([] {});  // start the runtime (after after_exit_probe's construction)
    after_exit_probe.armed = true;
    std::puts("main returns");
    return 0;
  }
  if (mode == "wait_group_destroyed_in_use") {
    auto never = csp::make_chan<>();
    std::printf("md5_all returned %d\n", md5_all_early_return(never));
    return 0;
  }
  if (mode == "mutex_destroyed_in_use") {
    {
      csp::sync::mutex mu;
      mu.lock();
      csp::go([&mu] { mu.lock(); });  // parks, waiting for main's unlock that never comes
      wait_parks("sync.Mutex.Lock", 1);
    }  // destroyed locked, with a waiter
    std::puts("not reached");
    return 0;
  }
  if (mode == "cond_destroyed_in_use") {
    {
      csp::sync::mutex mu;
      csp::sync::cond cv;
      bool ready = false;
      csp::go([&] {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return ready; });
      });
      wait_parks("sync.Cond.Wait", 1);
      std::lock_guard lock(mu);  // the waiter released mu to wait; cv is destroyed first
    }
    std::puts("not reached");
    return 0;
  }
  if (mode == "rw_mutex_destroyed_in_use") {
    {
      csp::sync::rw_mutex rw;
      rw.lock_shared();
      csp::go([&rw] { rw.lock(); });
      wait_parks("sync.RWMutex.Lock", 1);
    }
    std::puts("not reached");
    return 0;
  }
  if (mode == "sync_globals_in_use_at_exit") {
    global_wg.add(1);
    csp::go([] {
      global_mu.lock();
      csp::select();  // blocks forever holding the lock; never calls done()
    });
    while (global_mu.try_lock()) global_mu.unlock();  // until the goroutine holds it
    std::puts("main done");
    return 0;
  }
  if (mode == "threads_park_while_spawned") {
    // Main, never blocked, starts threads one after another; each parks at
    // once on a channel. The deadlock check of a parking thread used to
    // count the process's threads, then the parked ones: a thread started
    // and parked in between made the counts match, and a live program was
    // reported as deadlocked (found by the model stress test).
    csp::go([] {});  // start the runtime; its workers then go idle
    for (int round = 0; round < 20; ++round) {
      auto gate = csp::make_chan<>();
      std::vector<std::thread> threads;
      for (int i = 0; i < 100; ++i) threads.emplace_back([gate] { (void)gate.recv(); });
      gate.close();
      for (auto& t : threads) t.join();
    }
    std::puts("no false deadlock");
    return 0;
  }
  if (mode == "procs_raised_while_idle") {
    // Main, never blocked, raises gomaxprocs one worker at a time while
    // another thread sits parked and every worker is idle. Each raise
    // starts a worker thread; the deadlock check of the last worker to go
    // idle used to subtract that thread before the thread count held it,
    // so main, live, went uncounted and was reported as deadlocked. The
    // random pause lets a raise land on a check.
    csp::runtime::gomaxprocs(1);
    csp::go([] {});  // start the runtime
    auto never = csp::make_chan<>();
    std::thread([never] { (void)never.recv(); }).detach();
    std::uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (int procs = 2; procs <= 256; ++procs) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      std::this_thread::sleep_for(std::chrono::microseconds(20 + (seed >> 33) % 200));
      csp::runtime::gomaxprocs(procs);
    }
    std::puts("no false deadlock");
    return 0;
  }
  if (mode == "no_leaks") {
    // Under ASan, LeakSanitizer checks at exit that finished goroutines,
    // dropped channels (with values still buffered), fired, stopped and
    // dropped timers and tickers, and cancelled contexts left nothing behind.
    csp::sync::wait_group wg;
    for (int i = 0; i < 200; ++i) {
      auto ch = csp::make_chan<std::string>(4);
      ch.send(std::string(100, 'x'));  // dropped with a value buffered
      wg.add(1);
      csp::go([&wg, ch, i] {
        csp::defer d{[&] { wg.done(); }};
        ch.send(std::string(50, 'y'));
        if (i % 2 == 0) csp::time::sleep(10us);
      });
    }
    wg.wait();
    (void)csp::time::after(1ms).recv();  // fired
    {
      csp::time::timer t(1h);
      t.stop();                                        // stopped
      csp::time::ticker tk(1ms);
      (void)tk.c.recv();
      tk.stop();
      auto dropped = csp::time::after(1h);             // dropped unfired
      auto f = csp::time::after_func(1h, [] {});
      f.stop();
    }
    auto fired = csp::make_chan<>();
    csp::time::after_func(1ms, [fired] { fired.close(); });
    (void)fired.recv();
    for (int i = 0; i < 50; ++i) {
      auto [ctx, cancel] = csp::context::with_timeout(csp::context::background(), 1h);
      auto [child, cancel_child] = csp::context::with_cancel(ctx);
      if (i % 2) cancel();
      else cancel_child();
      cancel();
    }
    while (csp::runtime::num_goroutine() > 1) std::this_thread::sleep_for(1ms);
    std::puts("no_leaks done");
    return 0;
  }
  if (mode == "stack_exhaustion") {
    // Address space for 3 GiB in all; CSP_STACK_SIZE (set by
    // the parent) asks for far more: the first slab of stacks cannot be mapped.
    rlimit lim{};
    ::getrlimit(RLIMIT_AS, &lim);
    lim.rlim_cur = 3ULL << 30;
    if (::setrlimit(RLIMIT_AS, &lim) != 0) std::perror("setrlimit");
    for (int i = 0; i < 4; ++i) csp::go([] { block_forever(); });
    std::this_thread::sleep_for(10s);
    return 0;
  }
  if (mode == "signal_to_channel") {
    // The supported way to act on a signal: block it, take it in a thread
    // with sigwait, and send on a channel from there (a handler must not
    // call csp: nothing in it is async-signal-safe).
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts: all inherit it
    auto signals = csp::make_chan<int>(1);
    std::thread waiter([set, signals] {
      int sig = 0;
      sigwait(&set, &sig);
      signals.send(sig);
    });
    csp::go([] { ::kill(::getpid(), SIGUSR1); });
    std::printf("got signal %d\n", signals.recv().value_or(-1));
    waiter.join();
    return 0;
  }
  if (mode == "panic") {
    csp::go([] { throw std::runtime_error("something went wrong"); });
    std::this_thread::sleep_for(10s);
    return 0;
  }
  // A panic in main, with and without csp::run: stdout goes to the file
  // named by CSP_STDOUT_FILE, fully buffered as a redirected stdout is, so
  // the line printed first is lost unless the panic report flushes it.
  if (mode == "panic_in_main" || mode == "panic_in_run" || mode == "deadlock_in_run") {
    if (const char* path = std::getenv("CSP_STDOUT_FILE")) {
      if (std::freopen(path, "w", stdout) == nullptr) return 100;
    }
    std::printf("printed before the end\n");
    auto parked = csp::make_chan<int>();
    csp::go([parked] { parked.recv(); });  // shows in the dump
    if (mode == "panic_in_main") throw std::runtime_error("main went wrong");
    return csp::run([&] {
      if (mode == "panic_in_run") throw std::runtime_error("main goroutine went wrong");
      parked.recv();  // with the other goroutine: a deadlock
      return 0;
    });
  }
  if (mode == "panic_unknown") {
    csp::go([] { throw 42; });
    std::this_thread::sleep_for(10s);
    return 0;
  }
  if (mode == "deadlock_main_only") {
    block_forever();  // main blocks, no goroutine exists
    return 0;
  }
  if (mode == "deadlock") {
    std::atomic<int> parked{0};
    for (int i = 0; i < 3; ++i)
      csp::go([&] {
        parked++;
        block_forever(csp::detail::wait_reason::chan_send);
      });
    while (parked.load() < 3) std::this_thread::yield();
    block_forever();
    return 0;
  }
  if (mode == "deadlock_chan") {
    // Go's classic: main receives from a channel nobody will ever send on,
    // while a goroutine waits to send on another one.
    auto never = csp::make_chan<int>();
    auto other = csp::make_chan<int>();
    csp::go([other] { other.send(1); });
    (void)never.recv();
    return 0;
  }
  if (mode == "deadlock_mutex") {
    csp::sync::mutex mu;
    mu.lock();
    csp::go([&mu] { mu.lock(); });
    mu.lock();  // main waits for itself
    return 0;
  }
  if (mode == "no_deadlock_timer") {
    // Everything is blocked, but a timer will fire: no report.
    auto done = csp::make_chan<>();
    csp::time::after_func(std::chrono::milliseconds(200), [done] { done.close(); });
    (void)done.recv();
    std::puts("timer fired");
    return 0;
  }
  if (mode == "no_deadlock_io") {
    // main waits on a channel, the only goroutine waits in accept, every
    // worker is idle: without the IO-wait rule this is a "deadlock". A
    // signal handler connects after 1 s; accept returns; main is woken.
    auto ln = listen_loopback();
    std::string addr = ln.addr();
    alarm_target.sin_family = AF_INET;
    alarm_target.sin_port = htons(static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1))));
    ::inet_pton(AF_INET, "127.0.0.1", &alarm_target.sin_addr);
    auto accepted = csp::make_chan<>();
    csp::go([ln, accepted] {
      auto [c, err] = ln.accept();
      if (!err) accepted.close();
    });
    ::signal(SIGALRM, connect_on_alarm);
    ::alarm(1);
    (void)accepted.recv();
    std::puts("accepted");
    return 0;
  }
  if (mode == "deadlock_with_listener") {
    // An open listener nobody accepts on cannot wake anyone: still a deadlock.
    auto ln = listen_loopback();
    (void)csp::make_chan<int>().recv();
    return 0;
  }
  if (mode == "no_deadlock_blocking") {
    // A goroutine waits for runtime::blocking; main waits for it.
    auto done = csp::make_chan<>();
    csp::go([done] {
      csp::runtime::blocking([] { std::this_thread::sleep_for(500ms); });
      done.close();
    });
    (void)done.recv();
    std::puts("blocking returned");
    return 0;
  }
  if (mode == "deadlock_after_blocking") {
    // runtime::blocking's idle helper threads are the runtime's own: they
    // cannot act, so they must not hide the deadlock that follows.
    auto done = csp::make_chan<>();
    csp::go([done] {
      csp::runtime::blocking([] {});
      done.close();
    });
    (void)done.recv();
    (void)csp::make_chan<int>().recv();
    return 0;
  }
  if (mode == "no_deadlock_other_thread") {
    // main blocks, all goroutines block, but another thread will wake main:
    // no report may be made; the program exits 0.
    csp_test::park_event e;
    csp::go([] { block_forever(); });
    std::thread t([&] {
      std::this_thread::sleep_for(300ms);
      e.notify();
    });
    e.wait();
    t.join();
    std::puts("woken");
    return 0;
  }
  if (mode == "main_returns") {
    // Goroutines still running and blocked when main returns are abandoned.
    for (int i = 0; i < 4; ++i)
      csp::go([] {
        for (;;) csp::runtime::gosched();
      });
    for (int i = 0; i < 100; ++i) csp::go([] { block_forever(); });
    std::this_thread::sleep_for(50ms);
    std::puts("main done");
    return 0;
  }
  if (mode == "leakcheck") {
    // The common leak, with CSP_LEAKCHECK=1: a worker started to send its
    // result, and nobody will ever receive it; main returns.
    {
      auto result = csp::make_chan<int>();
      csp::go([result] { result << 42; });
      while (csp::runtime::stats().parks_by_reason["chan send"] == 0) std::this_thread::sleep_for(1ms);
    }
    std::puts("main done");
    return 0;
  }
  if (mode == "leakcheck_clean") {
    // A goroutine blocked on a channel that heap memory still holds when
    // main returns (a handle the detector cannot see into): it could still
    // be woken by whoever reaches that memory, so it is not reported.
    static auto* kept = new csp::chan<int>(csp::make_chan<int>());
    csp::go([c = *kept] { c << 1; });
    while (csp::runtime::stats().parks_by_reason["chan send"] == 0) std::this_thread::sleep_for(1ms);
    std::puts("main done");
    return 0;
  }
  if (mode == "stack_overflow") {
    csp::go([] { std::printf("%d\n", recurse(0)); });
    std::this_thread::sleep_for(10s);
    return 0;
  }
  if (mode == "stack_overflow_unguarded") {
    // Park more goroutines than the mprotect guard budget, so that on a
    // kernel without guard markers the overflowing one runs on an
    // unguarded stack with parked goroutines' stacks below it.
    park_neighbours(guard_budget() + 64);
    csp::go([] { std::printf("%d\n", recurse(0)); });
    std::this_thread::sleep_for(10s);
    return 0;
  }
  if (mode == "stack_overflow_frames16" || mode == "stack_overflow_frames256") {
    // More parked goroutines than the old guard budget; then one recurses
    // 32 KiB past its (64 KiB) stack's bottom and returns. The parked ones
    // are then woken and check a canary in their frames.
    const long n = guard_budget() + 64;
    auto wake = csp::make_chan<int>();
    csp::sync::wait_group started, checked;
    started.add(static_cast<int>(n));
    checked.add(static_cast<int>(n));
    for (long i = 0; i < n; ++i)
      csp::go([&started, &checked, wake, i] {
        volatile std::uint64_t canary[16];
        for (auto& c : canary) c = 0x5ca1ab1e00000000u + static_cast<std::uint64_t>(i);
        started.done();
        (void)wake.recv();
        for (auto& c : canary)
          if (c != 0x5ca1ab1e00000000u + static_cast<std::uint64_t>(i)) {
            std::puts("neighbour corrupted");
            std::fflush(stdout);
            ::_exit(3);
          }
        checked.done();
      });
    started.wait();
    auto finished = csp::make_chan<int>();
    const bool small = mode == "stack_overflow_frames16";
    csp::go([finished, small] {
      std::printf("overflowing goroutine %llu\n",
                  static_cast<unsigned long long>(csp::detail::current_goroutine()->id));
      std::fflush(stdout);
      const long past = 64 * 1024 + 32 * 1024;
      long r = small ? recurse16(past / 16) : recurse256(past / 256);
      finished << static_cast<int>(r & 1);
    });
    (void)finished.recv();
    wake.close();
    checked.wait();
    std::puts("overflow not detected");
    return 0;
  }
  if (mode == "stack_overflow_big_local") {
    park_neighbours(8);
    csp::go([] { std::printf("%d\n", big_local()); });
    std::this_thread::sleep_for(2s);
    std::puts("overflow not detected");
    return 0;
  }
  if (mode == "exit_from_goroutine") {
    // Goroutines reading a static in slices of a millisecond, yielding in
    // between; another calls exit(0) in the middle of their slices. The
    // static's destructor must not run while any of them is running.
    std::atomic<std::size_t> sink{0};
    for (int i = 0; i < 4; ++i)
      csp::go([&sink] {
        for (;;) {
          sink += read_watched();
          csp::runtime::gosched();
        }
      });
    csp::go([] {
      csp::time::sleep(5ms);
      std::exit(0);
    });
    std::this_thread::sleep_for(10s);
    return 1;
  }
  if (mode == "sigquit") {
    for (int i = 0; i < 3; ++i) csp::go([] { block_forever(csp::detail::wait_reason::select); });
    std::this_thread::sleep_for(100ms);
    ::kill(::getpid(), SIGQUIT);
    std::this_thread::sleep_for(10s);
    return 0;
  }
  if (mode == "bad_env") {
    // GOMAXPROCS / CSP_STACK_SIZE set to nonsense by the parent: warned about, defaults used.
    std::atomic<bool> ran{false};
    csp::go([&] { ran = true; });
    while (!ran.load()) std::this_thread::yield();
    std::printf("procs=%d\n", csp::runtime::gomaxprocs());
    return 0;
  }
  if (mode == "lock_rank_inversion") {
    // A channel lock, then the timer heap's, which ranks lower: the order
    // chan_core.cpp once had (lib/debug/lock_rank.hpp).
    csp::detail::spin_mutex chan_lock{csp::detail::lock_rank::channel};
    csp::detail::spin_mutex heap_lock{csp::detail::lock_rank::timers};
    chan_lock.lock();
    heap_lock.lock();
    std::puts("not reached");
    return 0;
  }
  if (mode == "lock_rank_channels_descending") {
    // Two channel locks against select's address order.
    csp::detail::spin_mutex locks[2] = {csp::detail::spin_mutex{csp::detail::lock_rank::channel},
                                        csp::detail::spin_mutex{csp::detail::lock_rank::channel}};
    locks[1].lock();
    locks[0].lock();
    std::puts("not reached");
    return 0;
  }
  if (mode == "lock_rank_release_unheld") {
    csp::detail::spin_mutex heap_lock{csp::detail::lock_rank::timers};
    heap_lock.unlock();
    std::puts("not reached");
    return 0;
  }
  if (mode == "fork_then_go") {
    fork_and_report([] {
      csp::go([] {});
      std::puts("go returned in the child");
    });
    return 0;
  }
  if (mode == "fork_then_recv") {
    fork_and_report([] {
      auto ch = csp::make_chan<int>();
      std::puts("make_chan works in the child");
      std::fflush(stdout);
      (void)ch.recv();
      std::puts("recv returned in the child");
    });
    return 0;
  }
  if (mode == "fork_then_exec") {
    // exec, and a plain _exit: both untouched by csp.
    fork_and_report([] {
      ::execl("/bin/sh", "sh", "-c", "echo exec ran; exit 7", static_cast<char*>(nullptr));
      ::_exit(127);
    });
    fork_and_report([] { ::_exit(5); });
    // The parent's runtime still works.
    auto ch = csp::make_chan<int>();
    csp::go([ch] { ch.send(42); });
    std::printf("parent got %d\n", ch.recv().value_or(-1));
    return 0;
  }
  std::fprintf(stderr, "crash_child: unknown mode '%s'\n", mode.c_str());
  return 100;
}
