// cpu_relax.hpp — the pause hint used inside every spin loop.
#pragma once

namespace csp::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace csp::detail
