// stack_pointer.hpp — the caller's stack pointer, without forcing a frame
// pointer (as __builtin_frame_address would) on the park and switch paths.
#pragma once

namespace csp::detail {

inline const void* stack_pointer() noexcept {
  const void* sp;
#if defined(__x86_64__)
  asm("mov %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
  asm("mov %0, sp" : "=r"(sp));
#else
  sp = __builtin_frame_address(0);
#endif
  return sp;
}

}  // namespace csp::detail
