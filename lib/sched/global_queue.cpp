// global_queue.cpp — see global_queue.hpp.
#include "sched/global_queue.hpp"

#include <algorithm>
#include <mutex>

namespace csp::detail {

namespace {
constexpr std::uint32_t initial_capacity = 1024;
}  // namespace

void global_queue::grow() noexcept {
  std::uint32_t cap = cap_ == 0 ? initial_capacity : cap_ * 2;
  auto** slots = new goroutine*[cap];  // noexcept caller: out of memory ends the process
  for (std::uint32_t i = head_; i != tail_; ++i) slots[i & (cap - 1)] = slots_[i & (cap_ - 1)];
  delete[] slots_;
  slots_ = slots;
  cap_ = cap;
}

void global_queue::push(goroutine* const* gs, std::uint32_t n) noexcept {
  std::lock_guard<spin_mutex> lock(mu_);
  while (tail_ - head_ + n > cap_) grow();
  for (std::uint32_t i = 0; i < n; ++i) slots_[(tail_ + i) & (cap_ - 1)] = gs[i];
  tail_ += n;
  size_.fetch_add(n, std::memory_order_seq_cst);
  pushes_.store(pushes_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

std::uint32_t global_queue::pop_share(goroutine** out, std::uint32_t share,
                                      std::uint32_t limit) noexcept {
  std::lock_guard<spin_mutex> lock(mu_);
  std::uint32_t size = tail_ - head_;
  if (size == 0) return 0;
  std::uint32_t take = std::min(size / share + 1, limit);
  take = std::min(take, size);
  for (std::uint32_t i = 0; i < take; ++i) out[i] = slots_[(head_ + i) & (cap_ - 1)];
  head_ += take;
  size_.fetch_sub(take, std::memory_order_seq_cst);
  return take;
}

}  // namespace csp::detail
