// dump.hpp — Go-style goroutine dumps.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace csp::detail {

struct thread_task;

// dump_sink receives the dump text in pieces.
using dump_sink = void (*)(const char* text, std::size_t len, void* ctx);

// dump_goroutines_to writes one entry per live goroutine (and one for the
// main thread, as goroutine 1). from_signal: only async-signal-safe steps;
// registry shards whose lock is busy are skipped and said so.
// leaked[0, n_leaked): ids of goroutines to mark as leaked (lib/chan/leak.hpp).
void dump_goroutines_to(dump_sink sink, void* ctx, bool from_signal,
                        const std::uint64_t* leaked = nullptr, std::size_t n_leaked = 0);
void dump_goroutines_to_fd(int fd, bool from_signal);

// show_main_thread: whether dumps show the main thread as goroutine 1.
// Not while csp::run's goroutine is goroutine 1 (lib/sched/main_goroutine.cpp),
// nor after a panic report has printed it.
extern std::atomic<bool> show_main_thread;

// main_thread_task is the main thread's task once it has blocked in csp
// (null before), for goroutine 1's line.
thread_task* main_thread_task() noexcept;

}  // namespace csp::detail
