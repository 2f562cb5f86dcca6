// park_event.hpp — a test-only one-shot event built directly on park/ready,
// so runtime tests do not depend on channels or sync.
#pragma once

#include "base/spin_mutex.hpp"
#include "sched/park.hpp"

namespace csp_test {

class park_event {
 public:
  // wait blocks the calling goroutine or thread until notify() (once).
  void wait(csp::detail::wait_reason why = csp::detail::wait_reason::chan_receive) {
    mu_.lock();
    if (set_) {
      mu_.unlock();
      return;
    }
    waiter_ = csp::detail::current_task();
    csp::detail::park_unlock(why, mu_);
  }
  void notify() {
    mu_.lock();
    set_ = true;
    csp::detail::task* w = waiter_;
    waiter_ = nullptr;
    mu_.unlock();
    if (w) csp::detail::ready(w);
  }

 private:
  csp::detail::spin_mutex mu_;
  csp::detail::task* waiter_ = nullptr;
  bool set_ = false;
};

}  // namespace csp_test
