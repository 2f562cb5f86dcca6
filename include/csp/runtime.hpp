// csp/runtime.hpp — package runtime: the scheduler's knobs and introspection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <map>
#include <source_location>
#include <string>
#include <vector>

namespace csp::runtime {

// gosched yields the worker: the calling goroutine goes to the back of the
// global run queue, as Go's runtime.Gosched. On a plain thread it yields the
// thread.
void gosched();

// num_goroutine returns the number of live user goroutines plus one for the
// main thread, so figures match Go's runtime.NumGoroutine.
int num_goroutine();

// gomaxprocs sets the number of worker threads that run goroutines and
// returns the previous setting; n < 1 only queries. The default is the
// number of CPUs, or the GOMAXPROCS environment variable.
int gomaxprocs(int n = 0);

// dump_goroutines writes one entry per live goroutine: id, state in Go's
// words, how long it has been in that state, and where it was created.
// Goroutines that leaked_goroutines() reports are marked in the dump with a
// line "leaked: ...".
void dump_goroutines(std::ostream& out);

// scheduler_stats: counters since the runtime started, summed over workers
// and plain threads (a snapshot: each counter may be a few events behind).
struct scheduler_stats {
  std::uint64_t goroutines_created = 0;   // go() calls
  std::uint64_t goroutines_exited = 0;    // goroutines that finished
  std::uint64_t context_switches = 0;     // goroutines switched in on a worker
  std::uint64_t steals = 0;               // work taken from another worker's queues
  std::uint64_t global_queue_pushes = 0;  // goroutines put on the global run queue
  std::uint64_t wakeups = 0;              // parked tasks made runnable (ready), creations excluded
  std::uint64_t parks = 0;                // tasks (goroutines and threads) that blocked
  // parks_by_reason: parks per reason, in the goroutine dump's words
  // ("chan receive", "select", "sleep", "sync.Mutex.Lock", ...); reasons
  // never seen are absent.
  std::map<std::string, std::uint64_t> parks_by_reason;
};

// stats returns the scheduler's counters. Cheap to keep: each worker counts
// in its own worker struct with plain stores (docs/trace.md gives the cost).
scheduler_stats stats();

// leaked_goroutine: a goroutine that can never run again (see
// leaked_goroutines()).
struct leaked_goroutine {
  std::uint64_t id;
  std::source_location created_at;
  std::string wait_reason;  // "chan receive", "chan send" or "select"
};

// leaked_goroutines returns the goroutines blocked forever on channels that
// no other task can still operate on: every remaining handle to each channel
// they wait on is held by such blocked goroutines' own closures (Go 1.26's
// goroutine leak report, without a garbage collector). It never reports a
// goroutine that could still be woken; it may miss some leaks. What it
// cannot see is in docs/leaks.md. With CSP_LEAKCHECK=1 in the environment
// the report is printed to stderr when main returns.
std::vector<leaked_goroutine> leaked_goroutines();

}  // namespace csp::runtime
