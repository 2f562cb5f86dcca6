// semaphore.cpp — the semaphore table (Go's semtable in runtime/sema.go).
//
// Structure: 251 roots, each a short-hold lock and the waiters of every
// address that hashes to it. Within a root, waiters are grouped by key
// (address): one waiter per key is the key's *head* and sits in the root's
// list of heads; the key's other waiters queue FIFO behind it in the head's
// `rest`. So a release scans only the distinct keys of its root (few), not
// every waiter, and a key with a thousand waiters costs nothing extra to the
// other keys that share its root. (Go uses a treap of heads for the same
// reason; with 251 roots the lists stay a few entries long, and a list is
// simpler to get right.)
//
// Invariants, under root.lock:
//   - every key in `heads` has at least one waiter; a waiter is in exactly
//     one place: as a head in `heads`, or in its head's `rest`;
//   - a queued waiter's task is parked (or about to: park has not yet
//     released root.lock), so it is on a live stack and its object is alive;
//   - root.nwait >= number of semaphore waiters queued in this root
//     (notify-list waiters are not counted: nwait only gates semrelease's
//     lock-free fast path).
//
// Lock order: a root lock is a leaf among the locks sync takes (nothing is
// locked while it is held; ready() is called only after it is released, as
// Go's rule for hchan.lock: collect, unlock, then wake). The user's lock
// passed to cond::wait is released before a root lock is taken.
//
// Lifetime (the rule in semaphore.hpp): a releaser reads a dequeued
// waiter's fields (`next`, `t`) before ready(), and after the last ready()
// touches neither the waiter nor the object.
#include "sync/semaphore.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>

#include <csp/runtime.hpp>

#include "base/cpu_relax.hpp"
#include "base/spin_mutex.hpp"
#include "debug/fatal.hpp"
#include "debug/tsa.hpp"
#include "sched/waiter.hpp"

namespace csp::detail {

namespace {

// sema_waiter: one blocked task in the table, on that task's stack from
// enqueue until it returns from park. Never part of a select (group is
// null), so claim() is trivially ours and is not called.
struct sema_waiter : waiter {
  const void* key = nullptr;   // the address waited on
  std::uint32_t ticket = 0;    // notify list: the ticket this task waits for
  bool handed = false;         // semrelease(handoff) gave us the count (Go: sudog.ticket = 1)
  // While is_head: links in the root's list of heads, and the key's other
  // waiters in arrival order (lifo waiters at the front).
  bool is_head = false;
  sema_waiter* next_key = nullptr;
  sema_waiter* prev_key = nullptr;
  waitq rest;
};

sema_waiter* as_sema(waiter* w) noexcept { return static_cast<sema_waiter*>(w); }

struct alignas(64) sema_root {
  // lock covers heads and every queued waiter's links. Held for a few
  // hundred nanoseconds; never across a park (park releases it) or a
  // ready().
  spin_mutex lock{lock_rank::semaphore_slot};
  sema_waiter* heads CSP_GUARDED_BY(lock) = nullptr;
  // nwait: semaphore waiters registered in this root, incremented under
  // lock before the waiter's last look at the count. semrelease reads it
  // lock-free after adding to the count (seq_cst both sides: Dekker), so a
  // zero means no waiter can have missed the count.
  std::atomic<std::uint32_t> nwait{0};
};

// 251: prime, so addresses with a common stride spread over the roots (Go's semTabSize).
constexpr std::size_t table_size = 251;
constinit sema_root table[table_size];

sema_root& root_of(const void* addr) noexcept {
  // >> 3: the words hashed are at least 4-byte aligned and usually sit in
  // 8-byte-aligned objects; the low bits carry no information.
  return table[(reinterpret_cast<std::uintptr_t>(addr) >> 3) % table_size];
}

sema_waiter* find_head(sema_root& r, const void* key) noexcept CSP_REQUIRES(r.lock) {
  for (sema_waiter* h = r.heads; h != nullptr; h = h->next_key)
    if (h->key == key) return h;
  return nullptr;
}

void link_head(sema_root& r, sema_waiter* h) noexcept CSP_REQUIRES(r.lock) {
  h->is_head = true;
  h->prev_key = nullptr;
  h->next_key = r.heads;
  if (r.heads != nullptr) r.heads->prev_key = h;
  r.heads = h;
}

void unlink_head(sema_root& r, sema_waiter* h) noexcept CSP_REQUIRES(r.lock) {
  if (h->prev_key != nullptr) h->prev_key->next_key = h->next_key; else r.heads = h->next_key;
  if (h->next_key != nullptr) h->next_key->prev_key = h->prev_key;
  h->is_head = false;
  h->next_key = h->prev_key = nullptr;
}

// replace_head puts nh in old's place in the list of heads; old's rest is
// left to the caller.
void replace_head(sema_root& r, sema_waiter* old, sema_waiter* nh) noexcept CSP_REQUIRES(r.lock) {
  nh->is_head = true;
  nh->prev_key = old->prev_key;
  nh->next_key = old->next_key;
  if (nh->prev_key != nullptr) nh->prev_key->next_key = nh; else r.heads = nh;
  if (nh->next_key != nullptr) nh->next_key->prev_key = nh;
  old->is_head = false;
  old->next_key = old->prev_key = nullptr;
}

// enqueue queues w under its key: at the tail, or at the head with lifo.
void enqueue(sema_root& r, sema_waiter* w, bool lifo) noexcept CSP_REQUIRES(r.lock) {
  w->handed = false;
  sema_waiter* h = find_head(r, w->key);
  if (h == nullptr) {
    w->rest = waitq{};
    link_head(r, w);
  } else if (!lifo) {
    h->rest.push_back(w);
  } else {
    w->rest = h->rest;
    h->rest = waitq{};
    replace_head(r, h, w);
    w->rest.push_front(h);
  }
}

// remove_head takes the head h out of the table, promotes the key's next
// waiter to head, and returns it (null if h was the last).
sema_waiter* remove_head(sema_root& r, sema_waiter* h) noexcept CSP_REQUIRES(r.lock) {
  waiter* n = h->rest.front();
  if (n == nullptr) {
    unlink_head(r, h);
    return nullptr;
  }
  h->rest.remove(n);
  sema_waiter* nh = as_sema(n);
  nh->rest = h->rest;
  h->rest = waitq{};
  replace_head(r, h, nh);
  return nh;
}

// can_acquire takes one from *addr if it is positive (Go's cansemacquire).
// seq_cst: the load is the waiter's half of the nwait Dekker pair, and the
// successful CAS acquires the releaser's fetch_add (release half of the
// handover from unlock() to lock()).
bool can_acquire(std::atomic<std::uint32_t>* addr) noexcept {
  std::uint32_t v = addr->load(std::memory_order_seq_cst);
  while (v != 0) {
    if (addr->compare_exchange_weak(v, v - 1, std::memory_order_seq_cst)) return true;
  }
  return false;
}

// park_releasing parks the caller and releases r.lock once the caller is
// switched out (park's unlock callback). Said here for the thread-safety
// analysis, which cannot follow the type-erased callback.
void unlock_root(void* lock) noexcept CSP_NO_TSA { static_cast<spin_mutex*>(lock)->unlock(); }
void park_releasing(sema_root& r, wait_reason why) noexcept CSP_RELEASE(r.lock) CSP_NO_TSA {
  park(why, unlock_root, &r.lock);
}

// wake_chain readies a chain of dequeued waiters linked by `next`, reading
// each link before the ready() that may free it. Called with no lock held.
void wake_chain(waiter* w) noexcept {
  while (w != nullptr) {
    waiter* next = w->next;
    task* t = w->t;
    ready(t);  // w may be gone from here on
    w = next;
  }
}

// Go's active_spin and active_spin_cnt: 4 rounds of 30 pauses, a few
// hundred nanoseconds in all — long enough for a holder on another core to
// finish a short critical section, short enough to be cheap when it does not.
constexpr int active_spin = 4;
constexpr int active_spin_pauses = 30;

}  // namespace

void semacquire(std::atomic<std::uint32_t>* addr, wait_reason why, bool lifo) noexcept {
  if (can_acquire(addr)) return;
  sema_root& r = root_of(addr);
  sema_waiter w;
  w.key = addr;
  w.t = current_task();
  for (;;) {
    r.lock.lock();
    // seq_cst; pairs with semrelease's fetch_add(addr) then load(nwait):
    // either it sees us registered, or our can_acquire sees its count.
    r.nwait.fetch_add(1, std::memory_order_seq_cst);
    if (can_acquire(addr)) {
      r.nwait.fetch_sub(1, std::memory_order_relaxed);
      r.lock.unlock();
      return;
    }
    enqueue(r, &w, lifo);
    park_releasing(r, why);
    // Dequeued by semrelease, which also took us out of nwait. Without a
    // handoff the count is up for grabs and an arriving task may have won
    // it: queue again (Go's semacquire1 loop).
    if (w.handed || can_acquire(addr)) return;
  }
}

void semrelease(std::atomic<std::uint32_t>* addr, std::uint32_t n, bool handoff) noexcept {
  sema_root& r = root_of(addr);
  if (handoff) {
    CSP_ASSERT(n == 1);
    r.lock.lock();
    sema_waiter* h = find_head(r, addr);
    if (h != nullptr) {
      remove_head(r, h);
      r.nwait.fetch_sub(1, std::memory_order_relaxed);
      h->handed = true;  // the count never reaches *addr; park/ready publish this
    } else {
      // Nobody queued yet: leave the count for the next acquirer. Added
      // under the lock so our last touch of *addr precedes any registered
      // waiter's look at it.
      addr->fetch_add(1, std::memory_order_seq_cst);
    }
    r.lock.unlock();
    if (h != nullptr) {
      task* t = h->t;
      ready(t);
      // Give the new owner our worker soon: the mutex is its now, and
      // everyone else who wants it is queued behind it (Go's goyield).
      if (in_goroutine()) runtime::gosched();
    }
    return;
  }

  // seq_cst; the releaser's half of the nwait Dekker pair (see semacquire).
  // This is our last touch of *addr.
  addr->fetch_add(n, std::memory_order_seq_cst);
  if (r.nwait.load(std::memory_order_seq_cst) == 0) return;

  waiter* chain = nullptr;
  waiter** tail = &chain;
  r.lock.lock();
  sema_waiter* h = find_head(r, addr);
  for (std::uint32_t i = 0; i < n && h != nullptr; ++i) {
    sema_waiter* w = h;
    h = remove_head(r, w);
    r.nwait.fetch_sub(1, std::memory_order_relaxed);
    w->next = nullptr;
    *tail = w;
    tail = &w->next;
  }
  r.lock.unlock();
  wake_chain(chain);
}

bool can_spin(int iter) noexcept {
  static const bool multicore = std::thread::hardware_concurrency() > 1;
  if (iter >= active_spin || !multicore) return false;
  // A goroutine on the only worker would spin while the holder, if it is a
  // goroutine, cannot run. (Go also requires another P to be running; the
  // scheduler does not export that, and a plain-thread holder may be
  // running anyway.)
  return !in_goroutine() || runtime::gomaxprocs(0) > 1;
}

void spin_once() noexcept {
  for (int i = 0; i < active_spin_pauses; ++i) cpu_relax();
}

std::int64_t nanotime() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// ---- notify list (Go's notifyList, runtime/sema.go) -------------------------
//
// wait: tickets handed out (fetch_add, lock-free). notify: the next ticket
// to notify; written only under the root lock of `wait`'s address, read
// lock-free only by the fast paths below. A ticket t is notified once
// less(t, notify). Waiters sit in the table under key `wait`, each with its
// ticket; the list is usually in ticket order but not always (a waiter may
// be descheduled between taking its ticket and queueing), so notify_one
// searches for the exact ticket.

namespace {
// less compares tickets modulo 2^32, as Go's less(a, b).
bool less(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) < 0;
}
}  // namespace

std::uint32_t notify_list_add(std::atomic<std::uint32_t>* wait) noexcept {
  // seq_cst; pairs with the lock-free `wait == notify` checks of the
  // notifiers, so a notify that follows our add (through the user's lock)
  // sees the ticket.
  return wait->fetch_add(1, std::memory_order_seq_cst);
}

void notify_list_wait(std::atomic<std::uint32_t>* wait, std::atomic<std::uint32_t>* notify,
                      std::uint32_t ticket) noexcept {
  sema_root& r = root_of(wait);
  r.lock.lock();
  // relaxed: notify is written only under r.lock, which we hold.
  if (less(ticket, notify->load(std::memory_order_relaxed))) {
    r.lock.unlock();
    return;  // notified before we got here
  }
  sema_waiter w;
  w.key = wait;
  w.ticket = ticket;
  w.t = current_task();
  enqueue(r, &w, false);
  park_releasing(r, wait_reason::cond_wait);
}

void notify_list_notify_one(std::atomic<std::uint32_t>* wait,
                            std::atomic<std::uint32_t>* notify) noexcept {
  // Fast path: no ticket handed out since the last notification, so no one
  // to wake. seq_cst; pairs with notify_list_add and the store below.
  if (wait->load(std::memory_order_seq_cst) == notify->load(std::memory_order_seq_cst)) return;
  sema_root& r = root_of(wait);
  r.lock.lock();
  std::uint32_t t = notify->load(std::memory_order_relaxed);
  if (t == wait->load(std::memory_order_seq_cst)) {
    r.lock.unlock();
    return;
  }
  // seq_cst store: read by the fast paths. Our last touch of the cond: the
  // holder of ticket t cannot return before it sees this under r.lock.
  notify->store(t + 1, std::memory_order_seq_cst);
  sema_waiter* found = nullptr;
  if (sema_waiter* h = find_head(r, wait)) {
    if (h->ticket == t) {
      found = h;
      remove_head(r, h);
    } else {
      for (waiter* w = h->rest.front(); w != nullptr; w = w->next) {
        if (as_sema(w)->ticket == t) {
          found = as_sema(w);
          h->rest.remove(w);
          break;
        }
      }
    }
  }
  r.lock.unlock();
  // Not found: the holder of t has its ticket but has not queued yet; it
  // will see t notified and not wait.
  if (found != nullptr) {
    task* tk = found->t;
    ready(tk);
  }
}

void notify_list_notify_all(std::atomic<std::uint32_t>* wait,
                            std::atomic<std::uint32_t>* notify) noexcept {
  // Fast path as in notify_one.
  if (wait->load(std::memory_order_seq_cst) == notify->load(std::memory_order_seq_cst)) return;
  sema_root& r = root_of(wait);
  waiter* chain = nullptr;
  r.lock.lock();
  if (sema_waiter* h = find_head(r, wait)) {
    unlink_head(r, h);
    // The head, then its rest, already linked by `next` (rest is ours now:
    // nothing in the table points at it any more).
    h->next = h->rest.front();
    h->rest = waitq{};
    chain = h;
  }
  // Every ticket handed out so far is notified; later ones are not (their
  // holders took them after this broadcast). Last touch of the cond.
  notify->store(wait->load(std::memory_order_seq_cst), std::memory_order_seq_cst);
  r.lock.unlock();
  wake_chain(chain);
}

}  // namespace csp::detail
