// csp/go.hpp — the umbrella header: everything a ported Go program needs.
//
//   #include <csp/go.hpp>
//   using namespace csp;
//
// Each part also has its own header; include those instead to keep compile
// times down in code that uses only one part.
#pragma once

#include "csp/detail/cxx20.hpp"  // first: a clear error without C++20

#include "csp/panic.hpp"      // panic, defer
#include "csp/goroutine.hpp"  // go
#include "csp/runtime.hpp"    // runtime::gosched, num_goroutine, gomaxprocs, dump_goroutines
#include "csp/chan.hpp"       // chan, send_only, recv_only, make_chan, unit
#include "csp/select.hpp"     // select, recv, send, default_case, on_recv, on_send, on_default
#include "csp/sync.hpp"       // sync::wait_group, mutex, rw_mutex, once, cond
#include "csp/time.hpp"      // time::sleep, after, tick, timer, ticker, after_func
#include "csp/context.hpp"   // context::background, with_cancel, with_timeout, with_deadline, with_value
#include "csp/errgroup.hpp"  // errgroup::group, with_context
#include "csp/net.hpp"       // net::listen, dial, dial_timeout, conn, listener, listen_packet, packet_conn
#include "csp/os.hpp"        // os::pipe, new_file, file
