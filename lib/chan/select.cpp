// select.cpp — select over channel cases (Go's selectgo).
//
// 1. Shuffle the non-nil cases into a random poll order, so that among the
//    cases ready at once each is chosen with equal probability.
// 1b. Fast pass: in poll order, a case whose channel looks ready from its
//    lock-free hints (count, queue heads, closed) is tried under that one
//    channel's lock; the first that completes wins. The common select —
//    something is ready — so takes one lock instead of sorting and locking
//    every channel (which, across cores, fought the senders for all of
//    them). Finding nothing proves nothing (the hints are read at different
//    instants), so the full pass below still decides "none ready".
// 2. Lock every distinct channel, in address order.
// 3. Pass 1: poll the cases in poll order with the same send_locked /
//    recv_locked that plain operations use; the first that completes wins.
// 4. If none did: without `block`, unlock and report -1 (default).
//    Otherwise pass 2: queue one waiter per case, all sharing one
//    select_group, and park; park releases every lock once we are parked.
//    The first waker to claim any waiter (select_group::winner) completes
//    that case and readies us; the others find the claim taken and skip.
// 5. Pass 3: relock everything and unlink the waiters nobody claimed.
//
// The scratch space (waiters, poll and lock orders) is the caller's
// select_slot array: no allocation.
#include <cstdint>
#include <functional>
#include <memory>
#include <new>

#include "chan/chan_core.hpp"
#include "csp/panic.hpp"
#include "csp/select.hpp"
#include "chan/leak.hpp"
#include "sched/park.hpp"

namespace csp::detail {

namespace {

chan_waiter* waiter_in(select_slot* slots, int i) noexcept {
  return std::launder(reinterpret_cast<chan_waiter*>(slots[i].waiter));
}

struct select_locks {
  const scase* cases;
  select_slot* slots;
  int n;  // non-nil cases: entries of the poll and lock orders

  chan_core* at(int k) const noexcept { return cases[slots[k].lock].c; }
  bool before(int i, int j) const noexcept {  // case i's channel sorts before case j's
    return std::less<chan_core*>{}(cases[i].c, cases[j].c);
  }

  // sort fills the lock order: the poll order's cases by channel address.
  // A heap sort, as Go's sellock uses: O(n log n) even for a reflect-style
  // select over thousands of cases, and in place (no allocation).
  void sort() const noexcept {
    for (int k = 0; k < n; ++k) {  // sift each case up into a max-heap
      int i = slots[k].poll;
      int j = k;
      while (j > 0 && before(slots[(j - 1) / 2].lock, i)) {
        slots[j].lock = slots[(j - 1) / 2].lock;
        j = (j - 1) / 2;
      }
      slots[j].lock = static_cast<std::uint16_t>(i);
    }
    for (int end = n - 1; end > 0; --end) {  // move the max to the end, sift the displaced one down
      int i = slots[end].lock;
      slots[end].lock = slots[0].lock;
      int j = 0;
      for (;;) {
        int k = 2 * j + 1;
        if (k >= end) break;
        if (k + 1 < end && before(slots[k].lock, slots[k + 1].lock)) ++k;
        if (!before(i, slots[k].lock)) break;
        slots[j].lock = slots[k].lock;
        j = k;
      }
      slots[j].lock = static_cast<std::uint16_t>(i);
    }
  }

  // Channels are locked in one global order, by address, so two selects
  // (or a select and anything else that holds two channel locks) over
  // overlapping channels can never each hold a lock the other waits for.
  // A channel named by several cases is locked once.
  void lock() const noexcept CSP_NO_TSA {
    chan_core* prev = nullptr;
    for (int k = 0; k < n; ++k) {
      chan_core* c = at(k);
      if (c != prev) c->mu.lock();
      prev = c;
    }
  }

  void unlock() const noexcept CSP_NO_TSA {
    for (int k = n - 1; k >= 0; --k) {
      chan_core* c = at(k);
      if (k == 0 || at(k - 1) != c) c->mu.unlock();
    }
  }
};

// finish reports a completed case to the select's caller (locks released).
int finish(const scase& cs, int index, op_status st, std::exception_ptr& err) {
  switch (st) {
    case op_status::failed:
      std::rethrow_exception(err);
    case op_status::closed:
      if (cs.is_send) throw panic("send on closed channel");
      if (cs.elem != nullptr) cs.c->ops->reset(cs.elem);  // case v := <-ch on closed ch: v is empty
      return index;
    case op_status::done:
      return index;
    case op_status::blocked:
      break;
  }
  CSP_FATAL("select finished a blocked case");
}

}  // namespace

[[noreturn]] void select_forever() noexcept {
  park(wait_reason::select_no_cases, nullptr, nullptr);
  CSP_FATAL("a task parked forever was woken");
}

int selectgo(const scase* cases, select_slot* slots, int n, bool block) CSP_NO_TSA {
  if (n < 0 || n > 65536) throw panic("select: too many cases");

  // Poll order: a uniformly random permutation of the non-nil cases, built
  // inside-out (Fisher-Yates), as Go's selectgo does. Nil channels (and the
  // default case, which the facade passes as one) are never chosen.
  int npoll = 0;
  for (int i = 0; i < n; ++i) {
    if (cases[i].c == nullptr) continue;
    int j = static_cast<int>(fastrandn(static_cast<std::uint32_t>(npoll + 1)));
    slots[npoll].poll = slots[j].poll;
    slots[j].poll = static_cast<std::uint16_t>(i);
    ++npoll;
  }
  if (npoll == 0) {
    if (!block) return -1;
    // Only nil channels: wait forever, as Go does (dump says "select").
    set_wait_chans(current_task(), nullptr, 0);  // no channel: never a leak candidate
    park(n == 0 ? wait_reason::select_no_cases : wait_reason::select, nullptr, nullptr);
    CSP_FATAL("a task parked forever was woken");
  }
  // Pass 0 (fast pass): see the top of this file. Each case is decided
  // under its channel's lock, so a case chosen here was ready at that
  // moment; a ready case whose stale hint said "not ready" is passed over
  // only in a race, as if it had become ready a moment later.
  {
    wake_list wakes;
    std::exception_ptr err;
    for (int k = 0; k < npoll; ++k) {
      int i = slots[k].poll;
      const scase& cs = cases[i];
      if (!(cs.is_send ? cs.c->may_send_now() : cs.c->may_recv_now())) continue;
      cs.c->mu.lock();
      op_status st = cs.is_send ? cs.c->send_locked(cs.elem, cs.how, wakes, err)
                                : cs.c->recv_locked(cs.elem, wakes, err);
      cs.c->mu.unlock();
      if (st == op_status::blocked) continue;
      wakes.wake();
      return finish(cs, i, st, err);
    }
    wakes.wake();  // senders whose values a receive case could not take (chan_core.hpp)
    // One channel and a default: the lock-free proof that it cannot
    // proceed is sound for a single channel (one linearization point), as
    // in Go's selectnbsend / selectnbrecv.
    if (!block && npoll == 1) {
      const scase& cs = cases[slots[0].poll];
      if (cs.is_send ? cs.c->surely_cannot_send() : cs.c->surely_cannot_recv()) return -1;
    }
  }

  select_locks locks{cases, slots, npoll};
  locks.sort();

  for (;;) {
    locks.lock();

    // Pass 1: the first case, in poll order, that can complete now.
    {
      wake_list wakes;
      std::exception_ptr err;
      for (int k = 0; k < npoll; ++k) {
        int i = slots[k].poll;
        const scase& cs = cases[i];
        op_status st = cs.is_send ? cs.c->send_locked(cs.elem, cs.how, wakes, err)
                                  : cs.c->recv_locked(cs.elem, wakes, err);
        if (st == op_status::blocked) continue;
        locks.unlock();
        wakes.wake();
        return finish(cs, i, st, err);
      }
      if (!wakes.empty()) {
        // A receive case found only senders whose values it could not
        // take: they rethrow (chan_core.hpp); wake them before parking, or
        // before saying "none ready", and poll again.
        locks.unlock();
        wakes.wake();
        continue;
      }
    }
    if (!block) {
      locks.unlock();
      return -1;
    }

    // Pass 2: wait on every case at once.
    select_group group;
    task* self = current_task();
    set_wait_chans(self, cases, n);
    for (int k = 0; k < npoll; ++k) {
      int i = slots[k].lock;
      const scase& cs = cases[i];
      chan_waiter* w = ::new (slots[i].waiter) chan_waiter;
      w->t = self;
      w->elem = cs.elem;
      w->how = cs.how;
      w->is_send = cs.is_send;
      w->group = &group;
      w->case_index = i;
      (cs.is_send ? cs.c->sendq : cs.c->recvq).push_back(w);
    }
    park(
        wait_reason::select, [](void* l) { static_cast<select_locks*>(l)->unlock(); }, &locks);

    // Pass 3: one waiter was claimed, completed (or failed) and dequeued by
    // its waker; unlink the rest. Some may already be unlinked: a waker
    // that failed to claim one drops it from its queue.
    locks.lock();
    for (int k = 0; k < npoll; ++k) {
      int i = slots[k].lock;
      chan_waiter* w = waiter_in(slots, i);
      (w->is_send ? cases[i].c->sendq : cases[i].c->recvq).remove(w);
    }
    locks.unlock();

    // relaxed: the winner wrote it before ready(); park/ready order it before us.
    int won = group.winner.load(std::memory_order_relaxed);
    op_status st = op_status::done;
    std::exception_ptr err;
    if (won >= 0) {
      chan_waiter* w = waiter_in(slots, won);
      if (w->error) {
        err = w->error;
        st = op_status::failed;
      } else if (!w->success) {
        st = op_status::closed;
      }
    }
    for (int k = 0; k < npoll; ++k) waiter_in(slots, slots[k].poll)->~chan_waiter();
    if (won == select_retry) continue;  // a hand-off to us threw in its executor: poll again
    CSP_ASSERT(won >= 0 && won < n);
    return finish(cases[won], won, st, err);
  }
}

}  // namespace csp::detail

namespace csp {

int select(std::span<select_case> cases) {
  if (cases.empty()) detail::select_forever();  // reflect.Select with no cases: forever
  if (cases.size() > 65536) throw panic("select: too many cases");
  int n = static_cast<int>(cases.size());
  // Scratch on the stack for the common small selects; beyond that this
  // form allocates, as it already did to build its vector of cases.
  constexpr int on_stack = 8;
  detail::scase small_cases[on_stack];
  detail::select_slot small_slots[on_stack];
  std::unique_ptr<detail::scase[]> big_cases;
  std::unique_ptr<detail::select_slot[]> big_slots;
  detail::scase* sc = small_cases;
  detail::select_slot* slots = small_slots;
  if (n > on_stack) {
    big_cases = std::make_unique<detail::scase[]>(static_cast<std::size_t>(n));
    big_slots = std::make_unique_for_overwrite<detail::select_slot[]>(static_cast<std::size_t>(n));
    sc = big_cases.get();
    slots = big_slots.get();
  }
  int def = -1;
  for (int i = 0; i < n; ++i) {
    sc[i] = cases[static_cast<std::size_t>(i)].to_scase();
    if (cases[static_cast<std::size_t>(i)].is_default()) {
      if (def >= 0) throw panic("select: multiple default cases");
      def = i;
    }
  }
  int chosen = detail::selectgo(sc, slots, n, def < 0);
  if (chosen < 0) chosen = def;
  cases[static_cast<std::size_t>(chosen)].chosen();
  return chosen;
}

}  // namespace csp
