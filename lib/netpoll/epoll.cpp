// epoll.cpp — the Linux backend of the netpoll contract (netpoll.hpp).
//
// One epoll set for the process. Every fd is registered once,
// edge-triggered, for EPOLLIN|EPOLLOUT|EPOLLRDHUP, with its poll_desc as
// the event's data; closing the fd removes it from the set (no
// EPOLL_CTL_DEL: one syscall less per connection, and the fd is never
// dup'ed). An eventfd, level-triggered, in the same set is the wake-up
// channel: backend_break writes it, the waiter reads it back.
//
// wake_pending_ (Go's netpollWakeSig) makes concurrent breaks cost one
// write: set by the first breaker, cleared by the waiter once it has
// drained the eventfd, so a break after the clear is a new write.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "debug/fatal.hpp"
#include "netpoll/netpoll.hpp"

namespace csp::detail {

namespace {

int epfd = -1;    // written once by backend_init, before netpoll_inited()
int wakefd = -1;  // likewise
std::atomic<bool> wake_pending{false};
constexpr int max_events = ready_list::capacity / 2;

}  // namespace

int backend_init() noexcept {
  epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return errno;
  wakefd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wakefd < 0) return errno;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // null names the eventfd
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) != 0) return errno;
  return 0;
}

int backend_open(int fd, poll_desc* pd) noexcept {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = pd;
  return ::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : errno;
}

void backend_break() noexcept {
  if (wake_pending.exchange(true, std::memory_order_acq_rel)) return;  // a write is on its way
  std::uint64_t one = 1;
  while (::write(wakefd, &one, sizeof one) < 0 && errno == EINTR) {
  }
}

void backend_wait(std::int64_t timeout_ns, ready_list& out) noexcept {
  epoll_event events[max_events];
  int n;
  for (;;) {
    if (timeout_ns < 0) {
      n = ::epoll_wait(epfd, events, max_events, -1);
    } else {
      // epoll_pwait2 takes a timespec, so the timer sleeper wakes on time
      // (epoll_wait's milliseconds would make every timer up to 1 ms late).
      timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                  static_cast<long>(timeout_ns % 1'000'000'000)};
      n = ::epoll_pwait2(epfd, events, max_events, &ts, nullptr);
      if (n < 0 && errno == ENOSYS) {  // kernels before 5.11: round up to ms
        n = ::epoll_wait(epfd, events, max_events,
                         static_cast<int>(std::min<std::int64_t>((timeout_ns + 999'999) / 1'000'000, 1 << 30)));
      }
    }
    if (n >= 0) break;
    if (errno != EINTR) CSP_FATAL("epoll_wait failed");
    if (timeout_ns >= 0) return;  // a signal: let the caller re-check its deadline
  }
  for (int i = 0; i < n; ++i) {
    auto* pd = static_cast<poll_desc*>(events[i].data.ptr);
    std::uint32_t e = events[i].events;
    if (pd == nullptr) {
      // Only a blocking wait consumes a break: a busy worker's look must
      // not eat the wake-up meant for a sleeper about to block (the
      // eventfd is level-triggered, so it stays readable until then).
      if (timeout_ns == 0) continue;
      std::uint64_t v;
      while (::read(wakefd, &v, sizeof v) < 0 && errno == EINTR) {
      }
      // release; pairs with the acq_rel exchange in backend_break: a break
      // after this store writes again.
      wake_pending.store(false, std::memory_order_release);
      continue;
    }
    (void)pd->published.load(std::memory_order_acquire);  // see poll_desc::published
    // As Go's netpoll: hang-up and error wake both directions, so the
    // syscall reports what happened.
    bool readable = (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    bool writable = (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0;
    bool hangup = (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
    pd_ready(pd, readable, writable, hangup, out);
  }
}

}  // namespace csp::detail
