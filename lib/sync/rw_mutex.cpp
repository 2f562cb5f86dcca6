// rw_mutex.cpp — sync::rw_mutex, Go's sync.RWMutex (src/sync/rwmutex.go).
//
// Fields (csp/sync.hpp): w_ serializes writers; reader_count_ counts readers
// that hold or wait for the lock, minus max_readers while a writer holds or
// waits for it; reader_wait_ counts the readers a pending writer still waits
// for; readers block on reader_sem_, a writer on writer_sem_.
//
// Invariants:
//   - reader_count_ < 0 exactly while a writer holds w_ and has announced
//     itself (lock() between its fetch_sub and unlock()'s fetch_add). Then
//     reader_count_ + max_readers is the number of readers that got in
//     before the writer (still departing) plus those queued behind it.
//   - reader_wait_ is the number of pre-writer readers not yet departed;
//     the one that brings it to zero releases writer_sem_ once.
//   - unlock() releases reader_sem_ once per queued reader, before w_, so
//     readers that queued behind a writer get in before the next writer
//     (readers and writers alternate; neither starves).
//
// Lock order: w_ (a sync::mutex) is taken before the semaphores; no lock
// is held across a semacquire except w_ (by design: a waiting writer holds
// it so later writers queue behind it).
//
// Memory orders: every RMW on reader_count_ and reader_wait_ is acq_rel,
// so a writer that finds no readers (or is released by the last) has
// acquired each departed reader's release, and a reader admitted by a
// writer's unlock has acquired the writer's release.
#include <csp/panic.hpp>
#include <csp/sync.hpp>

#include "sched/park.hpp"
#include "sync/semaphore.hpp"

namespace csp::sync {

void rw_mutex::lock_shared_slow() {
  // A writer holds or waits for the lock; its unlock() releases us.
  detail::semacquire(&reader_sem_, detail::wait_reason::rwmutex_rlock);
}

bool rw_mutex::try_lock_shared() noexcept {
  std::int32_t c = reader_count_.load(std::memory_order_relaxed);
  for (;;) {
    if (c < 0) return false;  // a writer holds or waits
    // acq_rel as lock_shared.
    if (reader_count_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel,
                                            std::memory_order_relaxed))
      return true;
  }
}

void rw_mutex::unlock_shared_slow(std::int32_t r) {
  if (r + 1 == 0 || r + 1 == -max_readers) {
    // There was no read lock to release: undo our decrement, then panic.
    reader_count_.fetch_add(1, std::memory_order_relaxed);
    throw csp::panic("sync: RUnlock of unlocked RWMutex");
  }
  // A writer is pending; the last departing reader lets it in. acq_rel:
  // our read section happens before the writer's (it acquires through the
  // semaphore, which this release heads).
  if (reader_wait_.fetch_sub(1, std::memory_order_acq_rel) - 1 == 0)
    detail::semrelease(&writer_sem_, 1);
}

void rw_mutex::lock() {
  // First, resolve competition with other writers.
  w_.lock();
  // Announce the writer to readers: from here on new readers block.
  std::int32_t r = reader_count_.fetch_sub(max_readers, std::memory_order_acq_rel);
  // Wait for the readers that were already in. reader_wait_ may go negative
  // transiently if they depart before we add them; the one that brings it
  // back to zero (them, or this add) decides who releases writer_sem_.
  if (r != 0 && reader_wait_.fetch_add(r, std::memory_order_acq_rel) + r != 0)
    detail::semacquire(&writer_sem_, detail::wait_reason::rwmutex_lock);
}

bool rw_mutex::try_lock() noexcept {
  if (!w_.try_lock()) return false;
  std::int32_t none = 0;
  if (!reader_count_.compare_exchange_strong(none, -max_readers, std::memory_order_acq_rel,
                                             std::memory_order_relaxed)) {
    w_.unlock();  // cannot throw: we hold it
    return false;
  }
  return true;
}

void rw_mutex::unlock() {
  // Announce to readers that there is no active writer.
  std::int32_t r = reader_count_.fetch_add(max_readers, std::memory_order_acq_rel) + max_readers;
  if (r >= max_readers) {
    reader_count_.fetch_sub(max_readers, std::memory_order_relaxed);  // undo, then panic
    throw csp::panic("sync: Unlock of unlocked RWMutex");
  }
  // Unblock the readers that queued behind us, then let other writers in.
  if (r > 0) detail::semrelease(&reader_sem_, static_cast<std::uint32_t>(r));
  w_.unlock();
}

}  // namespace csp::sync
