// madvise_ranges.cpp — see madvise_ranges.hpp.
#include "base/madvise_ranges.hpp"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace csp::detail {

namespace {

#ifndef PIDFD_SELF_THREAD
#define PIDFD_SELF_THREAD (-10000)  // Linux 6.13: the calling thread, as a pidfd
#endif

// batched: process_madvise on ourselves may work (until the first refusal).
std::atomic<bool> batched{true};

constexpr std::size_t max_vector = 64;  // 1 KiB of frame: grow() may run on a goroutine's stack

// advise_vector is one process_madvise over ranges [i, i + k): true if the
// kernel advised them all.
bool advise_vector(char* first, std::size_t stride, std::size_t len, std::size_t i, std::size_t k,
                   int advice) noexcept {
#if defined(SYS_process_madvise)
  iovec v[max_vector];
  for (std::size_t j = 0; j < k; ++j) v[j] = iovec{first + (i + j) * stride, len};
  const long done = ::syscall(SYS_process_madvise, PIDFD_SELF_THREAD, v, k, advice, 0);
  return done >= 0 && static_cast<std::size_t>(done) == k * len;
#else
  (void)first, (void)stride, (void)len, (void)i, (void)k, (void)advice;
  errno = ENOSYS;
  return false;
#endif
}

}  // namespace

std::size_t madvise_ranges(char* first, std::size_t stride, std::size_t len, std::size_t n,
                           int advice) noexcept {
  std::size_t i = 0;
  while (i < n && batched.load(std::memory_order_relaxed)) {
    const std::size_t k = n - i < max_vector ? n - i : max_vector;
    if (!advise_vector(first, stride, len, i, k, advice)) {
      // Refused for the call itself (an older kernel), or one range failed
      // part-way: either way, redo these one by one below, which finds the
      // range that fails and sets errno for it. Only a refusal of the
      // call turns batching off.
      if (errno == EBADF || errno == EINVAL || errno == ENOSYS || errno == EPERM)
        batched.store(false, std::memory_order_relaxed);
      break;
    }
    i += k;
  }
  for (; i < n; ++i)
    if (::madvise(first + i * stride, len, advice) != 0) return i;
  return n;
}

}  // namespace csp::detail
