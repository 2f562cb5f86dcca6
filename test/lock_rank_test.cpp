// lock_rank_test.cpp — what the lock rank check allows (lib/debug/lock_rank.hpp).
// What it rejects ends the process: process_test.cpp runs those in a child.
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "base/spin_mutex.hpp"
#include "debug/lock_rank.hpp"

#if CSP_LOCK_RANK_CHECK

using csp::detail::lock_rank;
using csp::detail::spin_mutex;

TEST_CASE("lock rank: locks taken in increasing rank, and released in any order, pass") {
  spin_mutex heap{lock_rank::timers}, ch{lock_rank::channel}, reg{lock_rank::registry};
  heap.lock();
  ch.lock();
  reg.lock();
  ch.unlock();  // not last-in-first-out: allowed
  reg.unlock();
  heap.unlock();
  // Nothing held now: a low rank is fine again.
  heap.lock();
  heap.unlock();
}

TEST_CASE("lock rank: many channel locks in address order (a select's) pass, and count down") {
  // 200 locks, more than the per-thread stack's slots: one entry holds a run.
  std::vector<spin_mutex*> order;
  std::vector<std::unique_ptr<spin_mutex>> owned;
  for (int i = 0; i < 200; ++i) owned.push_back(std::make_unique<spin_mutex>(lock_rank::channel));
  for (auto& m : owned) order.push_back(m.get());
  std::sort(order.begin(), order.end());
  for (spin_mutex* m : order) m->lock();
  // A lock of higher rank under all of them is fine.
  spin_mutex sched{lock_rank::scheduler};
  sched.lock();
  sched.unlock();
  for (auto it = order.rbegin(); it != order.rend(); ++it) (*it)->unlock();
  // All released: any channel may be the first again.
  order.back()->lock();
  order.back()->unlock();
  order.front()->lock();
  order.front()->unlock();
}

TEST_CASE("lock rank: a try_lock out of order cannot deadlock and is allowed") {
  spin_mutex reg{lock_rank::registry}, heap{lock_rank::timers};
  reg.lock();
  REQUIRE(heap.try_lock());
  heap.unlock();
  reg.unlock();
}

TEST_CASE("lock rank: unranked locks are not checked") {
  spin_mutex ch{lock_rank::channel}, plain;
  ch.lock();
  plain.lock();
  plain.unlock();
  ch.unlock();
}

TEST_CASE("lock rank: every kind has a name and the table's rank") {
  CHECK(csp::detail::lock_rank_of(lock_rank::timers) == 5);
  CHECK(csp::detail::lock_rank_of(lock_rank::channel) == 10);
  CHECK(csp::detail::lock_rank_of(lock_rank::semaphore_slot) == 10);
  CHECK(csp::detail::lock_rank_of(lock_rank::scheduler) == 30);
  for (int k = 1; k < static_cast<int>(lock_rank::count_); ++k) {
    CAPTURE(k);
    CHECK(csp::detail::lock_rank_of(static_cast<lock_rank>(k)) > 0);
    CHECK(csp::detail::lock_rank_of(static_cast<lock_rank>(k)) >=
          csp::detail::lock_rank_of(static_cast<lock_rank>(k - 1)));
  }
}

#endif  // CSP_LOCK_RANK_CHECK
