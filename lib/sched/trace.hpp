// trace.hpp — CSP_TRACE: a Chrome trace-event file of what the scheduler did.
//
// `CSP_TRACE=out.json ./program` writes, at exit, a JSON array of trace
// events that Perfetto (ui.perfetto.dev) and chrome://tracing open: one
// track per worker thread with a slice for each goroutine run, one track
// per plain thread that blocked in csp, goroutine creation, park (with the
// wait reason) and ready events, and flow arrows from the readier to the
// run it caused. docs/trace.md describes the file; tools/csp_trace.py
// summarizes it and draws it.
//
// Cost when unset: every hook is `if (trace_on) trace_xxx(...)`, one load of
// a global that never changes after start-up and a predictable branch (the
// figures are in docs/trace.md).
//
// Buffers (invariants): each thread that records events owns one
// trace_buffer (thread-local; goroutines record into their worker's, since a
// hook never blocks and so never changes threads mid-call). Only the owner
// writes events, into ev[len], then publishes them with a release store of
// len; a flusher reads ev[0, len) after an acquire load of len. A full
// buffer is written to the file by its owner under its flush_mu and the file
// lock, then reset; at exit the exit flush takes each flush_mu and the file
// lock, writes what is published, and closes the file, after which owners
// drop what they record. Lock order: a buffer's flush_mu, then the file
// lock; both are leaves below every runtime lock (a hook may run with a
// channel or timer lock held), and both are only ever taken when a buffer
// fills or at exit.
#pragma once

#include <cstdint>

#include "sched/park.hpp"

namespace csp::detail {

struct goroutine;

// trace_on: CSP_TRACE named a file that could be opened. Set once by
// trace_start() in the scheduler's constructor, before any worker starts and
// before any goroutine exists; never changed after (so plain reads).
// Hidden: the hooks' load is then one RIP-relative instruction, not a GOT
// indirection.
extern bool trace_on __attribute__((visibility("hidden")));

// trace_start reads CSP_TRACE and, when set, opens the file. Once.
void trace_start() noexcept;

// How a run slice ended.
enum class trace_run_end : std::uint8_t { park, yield, exit };

// The hooks. Any thread unless said; each records on the calling thread's track.
void trace_go(goroutine* child) noexcept;                  // go(): creation, flow to child's first run
void trace_ready(task* t) noexcept;                        // ready(t), flow to t's next run
void trace_run_begin(goroutine* g) noexcept;               // worker thread: g switched in
void trace_run_finish(goroutine* g, trace_run_end how) noexcept;  // worker thread: g switches out
void trace_thread_park(wait_reason why) noexcept;          // plain thread about to block
void trace_thread_unpark(task* t) noexcept;                // plain thread woke up

// trace_flush_at_exit writes every buffer and ends the file; called when
// main returns (the scheduler's on_exit hook). Later events are dropped.
void trace_flush_at_exit() noexcept;

}  // namespace csp::detail
