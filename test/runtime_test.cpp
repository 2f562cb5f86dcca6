// runtime_test.cpp — goroutine dumps, stack configuration, stack reuse.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <sys/mman.h>
#include <unistd.h>

#include <csp/goroutine.hpp>
#include <csp/runtime.hpp>
#include <csp/sync.hpp>

#include "base/fixed_text.hpp"
#include "base/madvise_ranges.hpp"
#include "fiber/stack_pool.hpp"
#include "park_event.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;

TEST_CASE("runtime: dump_goroutines names each goroutine's state and creation site") {
  csp_test::park_event release;
  std::atomic<bool> parked{false};
  csp::go([&] {
    parked = true;
    release.wait(csp::detail::wait_reason::chan_receive);
  });
  csp_test::park_event release2;
  csp::go([&] { release2.wait(csp::detail::wait_reason::wait_group_wait); });
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string dump;
  while (std::chrono::steady_clock::now() < deadline) {
    std::ostringstream out;
    csp::runtime::dump_goroutines(out);
    dump = out.str();
    if (dump.find("[chan receive") != std::string::npos &&
        dump.find("[sync.WaitGroup.Wait") != std::string::npos)
      break;
    std::this_thread::sleep_for(1ms);
  }
  CHECK(dump.find("[chan receive, ") != std::string::npos);
  CHECK(dump.find("[sync.WaitGroup.Wait, ") != std::string::npos);
  CHECK(dump.find("created at ") != std::string::npos);
  CHECK(dump.find("runtime_test.cpp:") != std::string::npos);
  release.notify();
  release2.notify();
  CHECK(csp_test::wait_goroutines_back(1));
}

TEST_CASE("runtime: the dump says how long a goroutine has been waiting") {
  csp_test::park_event release;
  csp::go([&] { release.wait(csp::detail::wait_reason::chan_receive); });
  REQUIRE(csp_test::wait_state("chan receive", 1));
  std::this_thread::sleep_for(1200ms);
  std::ostringstream out;
  csp::runtime::dump_goroutines(out);
  std::string dump = out.str();
  auto at = dump.find("[chan receive, ");
  REQUIRE(at != std::string::npos);
  // Parked at least 1.2 s ago; the stamp is the monitor's last reading
  // (up to a period early, never late), so check the figure is in seconds
  // and plausible.
  double secs = std::stod(dump.substr(at + std::string("[chan receive, ").size()));
  CHECK(dump.find("s]", at) != std::string::npos);
  CHECK(secs >= 1.1);
  CHECK(secs < 60);
  release.notify();
  CHECK(csp_test::wait_goroutines_back(1));
}

TEST_CASE("runtime: fixed_text formats as snprintf would, and truncates at its size") {
  csp::detail::fixed_text<64> t;
  t.add("goroutine ").add_uint(18446744073709551615ULL).add(" ").add_int(-42).add(" ").add_int(0);
  CHECK(std::string(t.c_str()) == "goroutine 18446744073709551615 -42 0");
  csp::detail::fixed_text<8> small;
  small.add("abcdef").add_uint(12345);
  CHECK(std::string(small.c_str()) == "abcdef1");  // 7 characters and the terminator
  CHECK(small.size() == 7);
  csp::detail::fixed_text<24> min;
  min.add_int(INT64_MIN);
  CHECK(std::string(min.c_str()) == "-9223372036854775808");
}

TEST_CASE("runtime: the dump shows the main thread as goroutine 1 once it has blocked") {
  csp_test::park_event e;
  csp::go([&] { e.notify(); });
  e.wait();  // the main thread parks here (or finds the event already set)
  std::ostringstream out;
  csp::runtime::dump_goroutines(out);
  // main_thread_task is recorded the first time the main thread asks for
  // its task, which wait() does.
  CHECK(out.str().find("goroutine 1 [running]:\n\tmain thread") != std::string::npos);
}

TEST_CASE("stacks: CSP_STACK_SIZE parsing accepts sizes and rejects nonsense") {
  using csp::detail::parse_stack_size;
  CHECK(parse_stack_size("65536") == 65536);
  CHECK(parse_stack_size("64k") == 64 * 1024);
  CHECK(parse_stack_size("64KiB") == 64 * 1024);
  CHECK(parse_stack_size("1M") == 1024 * 1024);
  CHECK(parse_stack_size("2048M") == 0);         // above 1 GiB
  CHECK(parse_stack_size("1024") == 0);          // below 16 KiB
  CHECK(parse_stack_size("banana") == 0);
  CHECK(parse_stack_size("-5") == 0);
  CHECK(parse_stack_size("99999999999999999999999") == 0);
  CHECK(parse_stack_size("") == 0);
}

TEST_CASE("stacks: madvise_ranges advises exactly the ranges asked for, and reports where it failed") {
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  const std::size_t n = 200, stride = 3 * page;  // more ranges than one system call takes
  char* base = static_cast<char*>(::mmap(nullptr, n * stride, PROT_READ | PROT_WRITE,
                                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  REQUIRE(base != MAP_FAILED);
  // MADV_POPULATE_WRITE (Linux 5.14) commits the second page of every stride.
  const std::size_t done = csp::detail::madvise_ranges(base + page, stride, page, n, 23);
  if (done == 0 && errno == EINVAL) {
    MESSAGE("MADV_POPULATE_WRITE not supported by this kernel");
  } else {
    CHECK(done == n);
    std::vector<unsigned char> resident(n * 3);
    REQUIRE(::mincore(base, n * stride, resident.data()) == 0);
    int wrong = 0;
    for (std::size_t i = 0; i < n * 3; ++i)
      if (((resident[i] & 1) != 0) != (i % 3 == 1)) ++wrong;
    CHECK(wrong == 0);
  }
  // A range that is not mapped stops it there, with errno set.
  REQUIRE(::munmap(base + 150 * stride, stride) == 0);
  errno = 0;
  CHECK(csp::detail::madvise_ranges(base, stride, page, n, MADV_DONTNEED) == 150);
  CHECK(errno == ENOMEM);
  ::munmap(base, n * stride);
}

TEST_CASE("stacks: finished goroutines' stacks are reused, not leaked") {
  auto& pool = csp::detail::stack_pool::instance();
  REQUIRE(csp_test::wait_goroutines_back(1));
  std::atomic<int> done{0};
  const int per_round = static_cast<int>(std::max<long>(1000 / csp_test::sanitizer_scale, 20));
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < per_round; ++i) csp::go([&] { done++; });
  }
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (done.load() < 20 * per_round && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  REQUIRE(done.load() == 20 * per_round);
  REQUIRE(csp_test::wait_goroutines_back(1));
  // Finished goroutines keep at most a small per-worker cache each.
  CHECK(pool.live_stacks() <= 16u * 8u + 64u);  // 16 cached per worker that ever ran
}

TEST_CASE("runtime: the stall report never overstates how long a goroutine has run") {
  // The time is the monitor's: from its first sample of the worker's
  // current schedule count, a lower bound. Each figure the dump gives must
  // be at most the time since the goroutine really started.
  csp_test::with_procs({2}, [](int) {
    using clock = std::chrono::steady_clock;
    std::atomic<clock::rep> started_at{0};
    std::atomic<bool> release{false};
    csp::sync::wait_group wg;
    wg.add(1);
    csp::go([&] {
      started_at = clock::now().time_since_epoch().count();
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      wg.done();
    });
    csp_test::must(csp_test::wait_for([&] { return started_at.load() != 0; }), "the staller to start");
    const clock::time_point t0{clock::duration{started_at.load()}};
    int reports = 0;
    std::string bad;
    csp_test::wait_for([&] {
      std::ostringstream os;
      csp::runtime::dump_goroutines(os);
      const double ran_ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
      const std::string dump = os.str();
      const auto at = dump.find("[running, ");
      if (at == std::string::npos) return false;
      std::size_t used = 0;
      const double figure = std::stod(dump.substr(at + 10), &used);
      const bool secs = dump.compare(at + 10 + used, 1, "s") == 0;
      const double shown_ms = secs ? figure * 1000 - 50 : figure;  // seconds are rounded to tenths
      if (shown_ms > ran_ms) bad = dump + " (ran " + std::to_string(ran_ms) + " ms)";
      return ++reports >= 3 && ran_ms > 60;
    });
    release = true;
    wg.wait();  // the goroutine uses this frame until then
    CHECK_MESSAGE(bad.empty(), bad);
    CHECK(reports >= 1);
  });
}

TEST_CASE("runtime: the dump names a goroutine that blocks its worker without yielding") {
  // A goroutine that blocks its thread (std::mutex, ::sleep, a busy loop)
  // keeps its worker from every other goroutine; the dump says so once it
  // has held the worker for over 10 ms.
  csp_test::with_procs({2}, [](int) {
    std::atomic<bool> started{false}, release{false};
    csp::sync::wait_group wg;
    wg.add(1);
    csp::go([&] {
      started = true;
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      wg.done();
    });
    csp_test::must(csp_test::wait_for([&] { return started.load(); }), "the staller to start");
    std::string dump;
    bool seen = csp_test::wait_for([&] {
      std::ostringstream os;
      csp::runtime::dump_goroutines(os);
      dump = os.str();
      // (or, if work queued meanwhile, the monitor moved the slot away)
      return dump.find("without yielding: stalls worker ") != std::string::npos ||
             dump.find("'s slot was retaken]") != std::string::npos;
    });
    release = true;
    wg.wait();  // the goroutine uses this frame until then
    CHECK_MESSAGE(seen, dump);
    CHECK(dump.find("[running, ") != std::string::npos);
  });
}
