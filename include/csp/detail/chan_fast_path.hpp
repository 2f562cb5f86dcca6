// csp/detail/chan_fast_path.hpp — send and receive for one element type,
// inlined into the caller.
//
// chan<T>::send, recv and range-for start here. When T's move cannot throw,
// the common cases finish inline, under the channel's lock, without the
// type-erased core (lib/chan/chan_core.cpp) and its function pointers,
// wake list and exception slot:
//   send: a parked receiver that is not a select takes the value (hand-off),
//         else a free buffer slot does;
//   recv: the oldest buffered value when no sender waits; else, unbuffered,
//         the value of a parked sender that is not a select (hand-off).
// An operation that must wait (open channel, nobody on the other side, no
// room or nothing buffered) parks through chan_send_wait_locked /
// chan_recv_wait_locked. Everything else (a closed channel, a select at the
// head of a queue, a sender to refill a freed slot from) continues in the
// core with the lock already held (chan_send_locked, chan_recv_locked). A
// lock that is not free at once goes to the core from the start, which
// waits for it (csp/detail/chan_lock_word.hpp).
//
// Invariants and happens-before are the core's (lib/chan/chan_core.hpp):
// each inline case is the matching case of send_locked / recv_locked, with
// the same effects in the same order, minus the exception handling that a
// non-throwing move never needs. A waiter is only ever a plain
// send or receive here, whose claim always succeeds, so the inline path
// unlinks it without claiming. The woken task is readied after unlocking,
// as the core's wake_list does.
#pragma once

#include <cstddef>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "csp/detail/chan_core.hpp"

namespace csp::detail {

// chan_fast_path_v says whether chan<T> takes the inline path.
template <class T>
inline constexpr bool chan_fast_path_v = std::is_nothrow_move_constructible_v<T>;

template <class T>
T* chan_slot(chan_core_base* b, std::size_t i) noexcept {
  return std::launder(reinterpret_cast<T*>(b->buf + i * sizeof(T)));
}

// fast_send sends v (moving it), as chan_send(c, &v, &move_source<T>).
template <class T>
void fast_send(chan_core* c, T& v) {
  if constexpr (chan_fast_path_v<T>) {
    if (c != nullptr) {
      chan_lock_word* lock = chan_lock(c);
      if (lock->try_acquire()) {
        chan_core_base* b = chan_base(c);
        if (!b->closed.load(std::memory_order_relaxed)) {
          if (waiter* r = b->recvq.front()) {
            // The buffer is empty whenever a receiver waits (invariant).
            if (r->group == nullptr) {
              b->recvq.remove(r);
              if (r->elem != nullptr) static_cast<std::optional<T>*>(r->elem)->emplace(std::move(v));
              r->success = true;
              task* t = r->t;  // r may be gone once t runs
              lock->release();
              ready(t);
              return;
            }
          } else if (std::size_t n = b->count.load(std::memory_order_relaxed); n < b->cap) {
            if constexpr (!zero_size_elem_v<T>) ::new (b->buf + b->sendx * sizeof(T)) T(std::move(v));
            if (++b->sendx == b->cap) b->sendx = 0;
            b->count.store(n + 1, std::memory_order_relaxed);
            lock->release();
            return;
          } else {
            return chan_send_wait_locked(c, std::addressof(v), &move_source<T>);
          }
        }
        chan_send_locked(c, std::addressof(v), &move_source<T>);
        return;
      }
    }
  }
  chan_send(c, std::addressof(v), &move_source<T>);
}

// fast_recv receives into the empty dst, as chan_recv(c, &dst).
template <class T>
bool fast_recv(chan_core* c, std::optional<T>& dst) {
  if constexpr (chan_fast_path_v<T>) {
    if (c != nullptr) {
      chan_lock_word* lock = chan_lock(c);
      if (lock->try_acquire()) {
        chan_core_base* b = chan_base(c);
        if (std::size_t n = b->count.load(std::memory_order_relaxed); n > 0) {
          // A waiting sender means the freed slot must be refilled: the core.
          if (b->sendq.empty()) {
            if constexpr (zero_size_elem_v<T>) {
              dst.emplace();
            } else {
              T* head = chan_slot<T>(b, b->recvx);
              dst.emplace(std::move(*head));
              head->~T();
            }
            if (++b->recvx == b->cap) b->recvx = 0;
            b->count.store(n - 1, std::memory_order_relaxed);
            lock->release();
            return true;
          }
        } else if (!b->closed.load(std::memory_order_relaxed)) {
          // A plain sender parked by fast_send or chan_send gives its value
          // by move; any other source (a copy) takes the core's way.
          waiter* s = b->sendq.front();
          if (s == nullptr) return chan_recv_wait_locked(c, &dst);
          if (s->group == nullptr && static_cast<chan_waiter*>(s)->how == &move_source<T>) {
            b->sendq.remove(s);
            dst.emplace(std::move(*static_cast<T*>(s->elem)));
            s->success = true;
            task* t = s->t;  // s may be gone once t runs
            lock->release();
            ready(t);
            return true;
          }
        }
        return chan_recv_locked(c, &dst);
      }
    }
  }
  return chan_recv(c, &dst);
}

}  // namespace csp::detail
