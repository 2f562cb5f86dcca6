// waiter.hpp — a task's entry in a wait queue (Go's sudog) and the queue:
// declared in csp/detail/waitq.hpp, which the header-inlined channel fast
// path needs too.
#pragma once

#include "csp/detail/waitq.hpp"
#include "sched/park.hpp"
