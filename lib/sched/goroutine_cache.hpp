// goroutine_cache.hpp — reuse of goroutine control blocks (Go's gfree lists).
//
// A goroutine's control block is freed on the worker it finished on and
// allocated by whichever thread spawns the next one — often another thread
// (main spawning, workers finishing). malloc'ing and free'ing it each time
// cost ~13% of spawn_join_p2 in glibc's cross-thread free path. Instead:
//   - each thread keeps a small cache of free blocks (thread_local, no lock);
//   - a full cache moves half its blocks to a global list, an empty one
//     takes a batch from it (one lock per batch, not per goroutine);
//   - the global list is bounded; beyond it blocks go back to malloc.
// Invariant: a block in a cache or on the global list is a default-state
// goroutine — not registered, no stack, no closure, no run queue link.
// Lock: the global list's spin_mutex is a leaf (nothing is taken under it).
#pragma once

#include "sched/goroutine.hpp"

namespace csp::detail {

// take_goroutine returns a fresh, default-constructed control block.
goroutine* take_goroutine();

// give_back_goroutine recycles a control block no longer in use by anyone
// (its closure already freed).
void give_back_goroutine(goroutine* g) noexcept;

}  // namespace csp::detail
