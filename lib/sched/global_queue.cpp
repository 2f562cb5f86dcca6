// global_queue.cpp — see global_queue.hpp.
#include "sched/global_queue.hpp"

#include <concurrentqueue/concurrentqueue.h>

#include <algorithm>

#include "debug/fatal.hpp"

namespace csp::detail {

namespace {

struct traits : moodycamel::ConcurrentQueueDefaultTraits {
  // A block per 128 goroutines: a local queue's overflow (half of
  // runq_capacity, 128 by default) fills about one, so a batch rarely
  // spans blocks.
  static constexpr std::size_t BLOCK_SIZE = 128;
};

using queue_type = moodycamel::ConcurrentQueue<goroutine*, traits>;

}  // namespace

struct global_queue::impl {
  queue_type q;
};

namespace {

// A thread's tokens, made on its first push or take and freed when the
// thread exits (its sub-queue then goes to the next thread that makes a
// producer token). Used only by their own thread and never across a
// goroutine switch (push and pop_share do not park), so a goroutine that
// moves between workers uses each worker's tokens in turn. owner: tokens
// are bound to one queue; the process has one, but nothing here relies on
// it.
struct thread_tokens {
  explicit thread_tokens(global_queue::impl* q) : owner(q), producer(q->q), consumer(q->q) {}
  global_queue::impl* owner;
  moodycamel::ProducerToken producer;
  moodycamel::ConsumerToken consumer;
};

// Plain pointers, so they stay readable after the thread's thread_local
// destructors ran: a static destructor that readies a goroutine at exit
// still pushes, through the token-less path.
// initial-exec: one load off the thread pointer, not a __tls_get_addr
// call per access (as the scheduler's tls_worker).
__attribute__((tls_model("initial-exec"))) thread_local thread_tokens* tls_tokens = nullptr;
__attribute__((tls_model("initial-exec"))) thread_local bool tls_exited = false;
struct tokens_reaper {
  ~tokens_reaper() {
    delete tls_tokens;
    tls_tokens = nullptr;
    tls_exited = true;
  }
};
thread_local tokens_reaper tls_reaper;

// tokens returns this thread's tokens for q, or null once the thread is
// exiting.
thread_tokens* tokens(global_queue::impl* q) noexcept {
  thread_tokens* t = tls_tokens;
  if (__builtin_expect(t != nullptr && t->owner == q, 1)) return t;
  if (tls_exited) return nullptr;
  (void)&tls_reaper;  // constructs it, so its destructor runs at thread exit
  delete t;
  t = tls_tokens = new thread_tokens(q);  // noexcept caller: out of memory ends the process
  if (!t->producer.valid()) CSP_FATAL("global run queue: out of memory");
  return t;
}

}  // namespace

global_queue::global_queue() : impl_(new impl()) {}

// GCC 12 warns (-Wstringop-overflow, "writing 8 bytes into a region of
// size 0") inside ConcurrentQueue's ExplicitProducer::enqueue_bulk, on a
// path it believes reaches a null block: a false positive that GCC 12 to
// 16 give ConcurrentQueue users, silenced for this function only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
void global_queue::push(goroutine* const* gs, std::uint32_t n) noexcept {
  // seq_cst, before the enqueue: size_ never undercounts what is queued
  // (see the header: a worker going idle must not read 0 while a
  // goroutine sits here); pairs with the idle protocol's seq_cst reads.
  size_.fetch_add(static_cast<std::int32_t>(n), std::memory_order_seq_cst);
  thread_tokens* t = tokens(impl_);
  bool ok;
  if (__builtin_expect(t == nullptr, 0)) ok = impl_->q.enqueue_bulk(gs, n);
  else if (n == 1) ok = impl_->q.enqueue(t->producer, gs[0]);  // a plain thread's ready(), a yield
  else ok = impl_->q.enqueue_bulk(t->producer, gs, n);
  if (!ok) CSP_FATAL("global run queue: out of memory");
  pushes_.fetch_add(n, std::memory_order_relaxed);
}
#pragma GCC diagnostic pop

std::uint32_t global_queue::pop_share(goroutine** out, std::uint32_t share,
                                      std::uint32_t limit) noexcept {
  std::uint32_t size = this->size();
  if (size == 0) return 0;
  std::uint32_t take = std::min({size / share + 1, limit, size});
  thread_tokens* t = tokens(impl_);
  std::uint32_t got;
  if (__builtin_expect(t == nullptr, 0)) got = static_cast<std::uint32_t>(impl_->q.try_dequeue_bulk(out, take));
  else if (take == 1) got = impl_->q.try_dequeue(t->consumer, out[0]) ? 1 : 0;
  else got = static_cast<std::uint32_t>(impl_->q.try_dequeue_bulk(t->consumer, out, take));
  // seq_cst: see push.
  if (got != 0) size_.fetch_sub(static_cast<std::int32_t>(got), std::memory_order_seq_cst);
  return got;
}

}  // namespace csp::detail
