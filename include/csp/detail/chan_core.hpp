// csp/detail/chan_core.hpp — the type-erased channel and select entry points.
//
// chan<T> and select() are thin typed facades over one untyped core in
// lib/chan/ (Go's hchan and selectgo), so the locking logic exists once.
// The facades describe T to the core with two small tables of functions:
//
//   elem_ops     one per element type: what the channel itself does with the
//                values in its buffer (move out to a receiver, destroy).
//   source_ops   one per kind of send: how to take the sender's value into a
//                buffer slot or a receiver's std::optional<T> — by move
//                (send(T), send(ch, std::move(v))) or by copy (try_send(const
//                T&), a select send case given an lvalue). Copying is
//                instantiated only where a copy is asked for, so move-only
//                types, and types that merely claim to be copyable (a vector
//                of unique_ptr), work with everything else.
//
// Receivers always name a std::optional<T> as their destination (or nothing,
// for a select `recv(ch)` that drops the value); the core emplaces into it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "csp/detail/chan_lock_word.hpp"
#include "csp/detail/waitq.hpp"

namespace csp::detail {

// elem_ops describes a channel's element type T.
struct elem_ops {
  // size is 0 for empty trivially-copyable types (csp::unit): such a channel
  // keeps no buffer, so make_chan<unit>(1 << 30) costs nothing, as in Go.
  std::size_t size;
  std::size_t align;
  // emplace_from moves the T at src into the std::optional<T> at opt
  // (src is ignored, and may be null, when size is 0). May throw; a throwing
  // move must leave *src intact (the strong guarantee) or values are lost.
  void (*emplace_from)(void* opt, void* src);
  // reset empties the std::optional<T> at opt.
  void (*reset)(void* opt) noexcept;
  // destroy ends the T at p (never called when size is 0).
  void (*destroy)(void* p) noexcept;
};

// source_ops describes how a sender's value is taken. May throw; must leave
// the source intact when it does.
struct source_ops {
  void (*construct)(void* slot, void* src);  // into raw buffer storage (never when size is 0)
  void (*emplace)(void* opt, void* src);     // into a receiver's std::optional<T>
};

template <class T>
inline constexpr bool zero_size_elem_v =
    std::is_empty_v<T> && std::is_trivially_copyable_v<T> && std::is_trivially_default_constructible_v<T>;

template <class T>
inline constexpr elem_ops elem_ops_for{
    zero_size_elem_v<T> ? 0 : sizeof(T),
    alignof(T),
    [](void* opt, void* src) {
      if constexpr (zero_size_elem_v<T>) static_cast<std::optional<T>*>(opt)->emplace();
      else static_cast<std::optional<T>*>(opt)->emplace(std::move(*static_cast<T*>(src)));
    },
    [](void* opt) noexcept { static_cast<std::optional<T>*>(opt)->reset(); },
    [](void* p) noexcept { std::launder(static_cast<T*>(p))->~T(); },
};

template <class T>
inline constexpr source_ops move_source{
    [](void* slot, void* src) { ::new (slot) T(std::move(*static_cast<T*>(src))); },
    [](void* opt, void* src) { static_cast<std::optional<T>*>(opt)->emplace(std::move(*static_cast<T*>(src))); },
};

template <class T>
inline constexpr source_ops copy_source{
    [](void* slot, void* src) { ::new (slot) T(*static_cast<const T*>(src)); },
    [](void* opt, void* src) { static_cast<std::optional<T>*>(opt)->emplace(*static_cast<const T*>(src)); },
};

// chan_waiter is a waiter on a channel queue: the sudog plus how a sender's
// value is to be taken. All waiters on channel queues are chan_waiters.
struct chan_waiter : waiter {
  const source_ops* how = nullptr;  // sender only
};

// chan_core_base is the part of a channel that header code touches: the
// reference count, and the state that the per-type fast path
// (csp/detail/chan_fast_path.hpp) reads and writes under the channel's lock.
// A channel (lib/chan/chan_core.hpp, which states the invariants) derives
// from it; its lock follows this base directly, at chan_lock_offset, on a
// cache line of its own; the rest is private to lib/.
struct chan_core_base {
  chan_core_base(const elem_ops* o, std::size_t capacity, unsigned char* b) noexcept
      : ops(o), cap(capacity), buf(b) {}

  // refs_ counts handles (chan, send_only, recv_only, select_case) that refer
  // to the channel. Incremented relaxed: whoever copies a handle already holds
  // a reference, so the count cannot reach zero meanwhile (as shared_ptr).
  // Decremented acq_rel: the last holder must see every other holder's
  // operations on the channel before destroying it.
  std::atomic<std::size_t> refs_{1};

  const elem_ops* const ops;  // immutable
  const std::size_t cap;      // immutable
  unsigned char* const buf;   // immutable; cap * ops->size bytes after the channel

  // Guarded by the channel's lock (see lib/chan/chan_core.hpp):
  // count: elements in buf. Read without the lock by len(), a snapshot by
  // nature as Go's len(ch) is: relaxed, no partner.
  std::atomic<std::size_t> count{0};
  std::size_t recvx = 0;  // next slot to receive from
  std::size_t sendx = 0;  // next slot to send into
  // closed: written under the lock (once, false to true); atomic so that
  // lock-free readiness hints may read it. relaxed everywhere.
  std::atomic<bool> closed{false};
  waitq recvq;  // parked receivers, FIFO
  waitq sendq;  // parked senders, FIFO

  // The lock's line holds nothing else the holder touches: contenders
  // probing it would otherwise steal the line the holder is writing
  // (chan_mpmc_p2: 45 → 33 ns/item). Padding rather than alignas(64): an
  // over-aligned channel takes glibc's slow aligned allocation, which cost
  // a channel-per-op loop (select_timeout_stop_p1) a third more.
  char lock_gap_before_[64];
};

// chan_lock_offset is where a channel's lock word (csp/detail/chan_lock_word.hpp)
// lies, from the start of the channel; checked in lib/chan/chan_core.cpp.
inline constexpr std::size_t chan_lock_offset = sizeof(chan_core_base);

struct chan_core;  // lib/chan/chan_core.hpp

// chan_make returns a new channel with one reference. Throws csp::panic
// ("makechan: size out of range") when the buffer cannot be sized.
chan_core* chan_make(const elem_ops* ops, std::size_t cap);
// chan_destroy frees a channel whose last reference is gone.
void chan_destroy(chan_core* c) noexcept;

inline chan_core_base* chan_base(chan_core* c) noexcept;
inline void chan_retain(chan_core* c) noexcept;
inline void chan_release(chan_core* c) noexcept;

// The operations. A null `c` is a nil channel. `src` points at the sender's
// T, taken through `how` only when the send completes. `dst` points at an
// empty std::optional<T> (the receiver's; may be null in select only).

// chan_send blocks until a receiver took the value; throws csp::panic if
// the channel is or becomes closed, or what taking the value threw.
void chan_send(chan_core* c, void* src, const source_ops* how);
// chan_send_locked and chan_recv_locked are chan_send and chan_recv for a
// caller that already took c's lock through chan_lock (the fast path,
// csp/detail/chan_fast_path.hpp, when it cannot finish inline). They
// release it.
void chan_send_locked(chan_core* c, void* src, const source_ops* how);
bool chan_recv_locked(chan_core* c, void* dst);
// chan_send_wait_locked and chan_recv_wait_locked are the same for a caller
// that saw, under the lock, that the operation must wait: the channel is
// open, nobody waits on the other side, and the buffer is full (send) or
// empty (receive). They queue the caller and park it.
void chan_send_wait_locked(chan_core* c, void* src, const source_ops* how);
bool chan_recv_wait_locked(chan_core* c, void* dst);
// chan_try_send sends if that does not block; throws as chan_send.
bool chan_try_send(chan_core* c, void* src, const source_ops* how);
// chan_recv blocks until a value arrives (true) or the channel is closed
// and drained (false, *dst untouched).
bool chan_recv(chan_core* c, void* dst);
// chan_try_recv receives if that does not block: true when *dst got a value.
bool chan_try_recv(chan_core* c, void* dst);
void chan_close(chan_core* c);
std::size_t chan_len(const chan_core* c) noexcept;
std::size_t chan_cap(const chan_core* c) noexcept;

// ---- select -------------------------------------------------------------

// scase is one select case, untyped. c == null is a nil channel (or the
// default case, which the facade handles): never chosen.
struct scase {
  chan_core* c = nullptr;
  void* elem = nullptr;                 // send: the T; recv: std::optional<T>* or null
  const source_ops* how = nullptr;      // send only
  bool is_send = false;
};

// select_slot is per-case scratch space for selectgo, on the caller's stack
// for the variadic forms (so a select allocates nothing): room for the
// case's waiter and its entries in the poll and lock orders.
struct select_slot {
  static constexpr std::size_t waiter_bytes = 96;  // >= sizeof(chan_waiter), checked in lib/
  alignas(std::max_align_t) unsigned char waiter[waiter_bytes];
  std::uint16_t poll;
  std::uint16_t lock;
};

// selectgo runs a select over cases[0..n) (n < 65536) with slots[0..n) as
// scratch. It returns the chosen index; or -1 when no case is ready and
// `block` is false. A chosen receive case's optional holds the value, or is
// emptied if the channel was closed. A chosen send case on a closed channel
// throws csp::panic("send on closed channel"). With no non-nil case and
// `block`, it blocks forever.
int selectgo(const scase* cases, select_slot* slots, int n, bool block);

// select_forever parks the caller for good, as Go's `select {}` does.
[[noreturn]] void select_forever() noexcept;

inline chan_core_base* chan_base(chan_core* c) noexcept {
  // A channel derives from chan_core_base, its only base, at offset 0
  // (checked in lib/chan/chan_core.cpp); chan_core is incomplete here.
  return reinterpret_cast<chan_core_base*>(c);
}

// chan_lock is c's lock word.
inline chan_lock_word* chan_lock(chan_core* c) noexcept {
  return reinterpret_cast<chan_lock_word*>(reinterpret_cast<unsigned char*>(c) + chan_lock_offset);
}

inline void chan_retain(chan_core* c) noexcept {
  if (c) chan_base(c)->refs_.fetch_add(1, std::memory_order_relaxed);  // see refs_
}

inline void chan_release(chan_core* c) noexcept {
  if (c && chan_base(c)->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) chan_destroy(c);  // see refs_
}

}  // namespace csp::detail
