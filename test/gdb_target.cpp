// gdb_target.cpp — the program test/check_gdb.py debugs: goroutines parked
// in known functions (a channel receive, a mutex, a sleep), then a call to
// csp_gdb_stop_here for the debugger to stop in. Run alone it just exits 0.
#include <chrono>
#include <sstream>
#include <string>

#include <csp/go.hpp>

using namespace csp;
using namespace std::chrono_literals;

// The debugger's breakpoint; extern "C" and not inlined so the name is stable.
extern "C" __attribute__((noinline)) void csp_gdb_stop_here() { asm volatile(""); }

// One function per parking place, not inlined, so each shows by name in
// `goroutine N bt`.
__attribute__((noinline)) void gdb_wait_for_value(chan<int> ch) { ch.recv(); }
__attribute__((noinline)) void gdb_wait_for_lock(sync::mutex& mu) {
  mu.lock();
  mu.unlock();
}
__attribute__((noinline)) void gdb_nap() { time::sleep(24h); }

// all_parked: the dump shows each of the three wait reasons.
bool all_parked() {
  std::ostringstream out;
  runtime::dump_goroutines(out);
  const std::string s = out.str();
  return s.find("[chan receive") != std::string::npos && s.find("[sync.Mutex.Lock") != std::string::npos &&
         s.find("[sleep") != std::string::npos;
}

int main() {
  auto ch = make_chan<int>();
  sync::mutex mu;
  mu.lock();
  sync::wait_group wg;
  wg.add(2);
  go([ch, &wg] {
    defer d{[&] { wg.done(); }};
    gdb_wait_for_value(ch);
  });
  go([&mu, &wg] {
    defer d{[&] { wg.done(); }};
    gdb_wait_for_lock(mu);
  });
  go(gdb_nap);  // still asleep when main returns
  while (!all_parked()) time::sleep(1ms);
  csp_gdb_stop_here();
  ch << 1;
  mu.unlock();
  wg.wait();
}
