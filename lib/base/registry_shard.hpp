// registry_shard.hpp — one shard of a registry of live objects: an
// intrusive doubly linked list under its own lock, on a cache line of its
// own. The goroutine registry (sched/goroutine.cpp) and the channel
// registry (chan/leak.cpp) are arrays of these; each picks its own shard
// for an object and its own way of walking them.
//
// Invariants (under mu): head is null or the first of the shard's objects;
// an object is linked in at most one shard, through its all_prev/all_next
// (T's fields, null while unlinked), which nothing else touches while it
// is linked. Lock order: the owner's, its Rank (lib/debug/lock_rank.hpp).
#pragma once

#include <mutex>

#include "base/spin_mutex.hpp"
#include "debug/tsa.hpp"

namespace csp::detail {

template <class T, lock_rank Rank>
struct alignas(64) registry_shard {
  spin_mutex mu{Rank};
  T* head CSP_GUARDED_BY(mu) = nullptr;

  void add(T* x) noexcept {
    std::lock_guard<spin_mutex> lock(mu);
    x->all_prev = nullptr;
    x->all_next = head;
    if (head) head->all_prev = x;
    head = x;
  }

  void remove(T* x) noexcept {
    std::lock_guard<spin_mutex> lock(mu);
    if (x->all_prev) x->all_prev->all_next = x->all_next; else head = x->all_next;
    if (x->all_next) x->all_next->all_prev = x->all_prev;
    x->all_prev = x->all_next = nullptr;
  }
};

}  // namespace csp::detail
