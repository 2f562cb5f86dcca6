// csp/runtime.hpp — package runtime: the scheduler's knobs and introspection.
#pragma once

#include <cstddef>
#include <iosfwd>

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
void dump_goroutines(std::ostream& out);

}  // namespace csp::runtime
