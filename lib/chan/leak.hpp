// leak.hpp — goroutine leak detection (runtime::leaked_goroutines,
// CSP_LEAKCHECK). The argument for why it never reports a goroutine that
// could still be woken is at the top of leak.cpp and in docs/leaks.md.
#pragma once

#include <cstdint>
#include <vector>

#include "csp/detail/source_location.hpp"
#include "sched/park.hpp"

namespace csp::detail {

struct chan_core;

// The registry of live channels: chan_make adds, chan_destroy removes. A
// leak check holds every shard, which keeps every registered channel alive
// until it is done (chan_destroy waits in chan_registry_remove).
void chan_registry_add(chan_core* c) noexcept;
void chan_registry_remove(chan_core* c) noexcept;

// set_wait_chans records, before a channel operation parks, what it waits
// on: one channel (n == -1, `on` is the chan_core*) or a select's n cases
// (`on` is the `const scase*`). n == 0: nothing (a select over nil channels).
inline void set_wait_chans(task* t, const void* on, int n) noexcept;

struct leak_report {
  std::uint64_t id;
  csp::detail::source_location created_at;  // std::source_location with g++
  wait_reason reason;
};

// find_leaks returns the goroutines that can never be woken (see leak.cpp).
// Any thread, any goroutine; takes the channel and goroutine registries'
// locks for the duration (so go(), goroutine exit and channel destruction
// wait meanwhile). Not async-signal-safe.
std::vector<leak_report> find_leaks();

}  // namespace csp::detail

#include "sched/goroutine.hpp"

namespace csp::detail {

inline void set_wait_chans(task* t, const void* on, int n) noexcept {
  // relaxed: published by park()'s release store of the state (leak.cpp).
  t->wait_on.store(on, std::memory_order_relaxed);
  t->wait_n.store(n, std::memory_order_relaxed);
}

}  // namespace csp::detail
