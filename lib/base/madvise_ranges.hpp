// madvise_ranges.hpp — one advice over many evenly spaced ranges of this
// process's memory in as few system calls as the kernel allows.
//
// A slab of goroutine stacks wants two advices per stack (a guard marker
// below it, its top page populated): 256 madvise calls per slab of 128, a
// system call each (about 1.1 µs of entry and exit on the reference VM,
// 2-5 µs with the work). process_madvise takes a vector of ranges, and
// since Linux 6.13 any advice when the target is the caller's own process
// (PIDFD_SELF_THREAD, no file descriptor to keep): one call per slab.
// Older kernels refuse it (EBADF, EINVAL, ENOSYS, EPERM); then each range
// gets its own madvise, as before.
#pragma once

#include <cstddef>

namespace csp::detail {

// madvise_ranges applies `advice` to the n ranges [first + i*stride,
// first + i*stride + len). Returns how many leading ranges were advised: n
// on success; fewer on an error, with errno set (0: the first range, and
// so nothing, failed). Any thread; no lock.
std::size_t madvise_ranges(char* first, std::size_t stride, std::size_t len, std::size_t n,
                           int advice) noexcept;

}  // namespace csp::detail
