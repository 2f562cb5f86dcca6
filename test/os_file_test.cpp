// os_file_test.cpp — os::pipe and os::new_file: pipes and other
// descriptors on the netpoller (a child's stdout read without holding a
// worker), end of stream and broken pipes, deadlines, and descriptors the
// poller cannot watch (done on runtime::blocking helpers).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include <csp/go.hpp>

#include "net_util.hpp"
#include "test_util.hpp"

extern char** environ;

using namespace std::chrono_literals;
using namespace csp;
using csp_test::must;
using csp_test::temp_dir;
using csp_test::with_procs;

namespace {

// read_all reads f to its end; an error other than eof is appended as
// "<message>".
std::string read_all(const os::file& f) {
  std::string got;
  std::array<char, 64> buf;
  for (;;) {
    auto [n, err] = f.read(buf);
    if (err == net::errc::eof) return got;
    if (err) return got + "<" + err.message() + ">";
    got.append(buf.data(), n);
  }
}

// spawn_shell runs `sh -c script` with stdin and stdout on the given
// descriptors; returns its pid.
pid_t spawn_shell(const char* script, int in_fd, int out_fd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in_fd, 0);   // dup2 clears close-on-exec
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  char sh[] = "/bin/sh", c[] = "-c";
  std::string s = script;
  char* argv[] = {sh, c, s.data(), nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/bin/sh", &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}

int exit_status(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("os: a goroutine reads a child's stdout pipe while other goroutines run, at GOMAXPROCS=1") {
  with_procs({1}, [](int) {
    auto [out_r, out_w, e1] = os::pipe();
    auto [in_r, in_w, e2] = os::pipe();
    REQUIRE(!e1);
    REQUIRE(!e2);
    CHECK(out_r.name() == "|0");
    CHECK(out_w.name() == "|1");
    // The child prints a line, then waits for one from us before it
    // prints the second and exits.
    // fd() switches the child's ends to blocking mode, as Go's Fd: the
    // shell's `read` would take EAGAIN for end of input otherwise.
    pid_t pid = spawn_shell("echo one; read x; echo two $x", in_r.fd(), out_w.fd());
    CHECK((::fcntl(in_r.fd(), F_GETFL) & O_NONBLOCK) == 0);
    CHECK((::fcntl(out_w.fd(), F_GETFL) & O_NONBLOCK) == 0);
    CHECK(in_r.set_read_deadline(time::now()) == net::errc::no_deadline);
    out_w.close();  // the child holds its own copies
    in_r.close();

    std::atomic<int> ticks{0};
    auto output = make_chan<std::string>(1);
    go([out_r = out_r, output] { output.send(read_all(out_r)); });
    // With one worker, this goroutine runs only if the reader parked in
    // "IO wait" instead of blocking the thread in read(2); the child's
    // second line needs what it writes, so a blocked worker would hang.
    auto done = make_chan<bool>(1);
    go([&ticks, in_w = in_w, done] {
      bool parked = csp_test::wait_state("IO wait", 1);
      for (int i = 0; i < 1000; ++i) {
        ticks.fetch_add(1);
        runtime::gosched();
      }
      bool wrote = !in_w.write("go\n").err;
      in_w.close();
      done.send(parked && wrote);
    });
    std::optional<bool> ok;
    int sel = select(recv(done, ok), recv(time::after(120s)));
    REQUIRE_MESSAGE(sel == 0, "the reader blocked the only worker");
    CHECK(ok == std::optional<bool>(true));  // saw the reader parked; wrote the line
    CHECK(ticks.load() == 1000);
    CHECK(output.recv().value() == "one\ntwo go\n");
    CHECK(exit_status(pid) == 0);
    out_r.close();
  });
}

TEST_CASE("os: pipe ends: eof after the writer closes; broken_pipe, not SIGPIPE, after the reader closes") {
  auto [r, w, err] = os::pipe();
  REQUIRE(!err);
  REQUIRE(!w.write("hello").err);
  w.close();
  CHECK(read_all(r) == "hello");
  std::array<char, 4> buf;
  CHECK(r.read(buf).err == net::errc::eof);
  r.close();

  auto [r2, w2, err2] = os::pipe();
  REQUIRE(!err2);
  r2.close();
  // The process would die of SIGPIPE here if the write raised it.
  CHECK(w2.write("x").err == std::errc::broken_pipe);
  auto result = make_chan<std::error_code>(1);
  go([w2 = w2, result] { result.send(w2.write("y").err); });  // from a worker thread too
  CHECK(result.recv().value() == std::errc::broken_pipe);
  sigset_t pending;
  sigpending(&pending);
  CHECK(!sigismember(&pending, SIGPIPE));  // none left behind on this thread
  w2.close();
  CHECK(w2.write("z").err == net::errc::file_closed);
  CHECK(w2.fd() == -1);
}

TEST_CASE("os: a write to a full pipe waits for the reader; close wakes a blocked writer; deadlines") {
  with_procs({1, 2}, [](int) {
    auto [r, w, err] = os::pipe();
    REQUIRE(!err);
    // 1 MiB through a 64 KiB pipe: the writer parks until the reader drains.
    std::string big(1 << 20, 'z');
    auto wrote = make_chan<net::io_result>(1);
    go([w = w, &big, wrote] { wrote.send(w.write(big)); });
    std::string got;
    std::array<char, 4096> buf;
    while (got.size() < big.size()) {
      auto [n, rerr] = r.read(buf);
      REQUIRE(!rerr);
      got.append(buf.data(), n);
    }
    auto res = wrote.recv().value();
    CHECK(res.n == big.size());
    CHECK(!res.err);
    CHECK(got == big);

    // Nobody reads: the writer fills the pipe and parks; close wakes it.
    go([w = w, &big, wrote] { wrote.send(w.write(big)); });
    must(csp_test::wait_state("IO wait", 1), "writer parked");
    CHECK(!w.close());
    res = wrote.recv().value();
    CHECK(res.err == net::errc::file_closed);
    CHECK(res.n < big.size());

    // A read deadline on a silent pipe.
    auto [r2, w2, err2] = os::pipe();
    REQUIRE(!err2);
    r2.set_read_deadline(time::now() + 30ms);
    CHECK(net::is_timeout(r2.read(buf).err));
    r2.set_read_deadline(time::time_point{});
    REQUIRE(!w2.write("ok").err);
    auto [n, rerr] = r2.read(buf);
    CHECK(std::string_view(buf.data(), n) == "ok");
    r.close();
    r2.close();
    w2.close();
  });
}

TEST_CASE("os: new_file wraps a non-blocking fd on the poller, and a blocking one through runtime::blocking") {
  // A non-blocking socketpair end: polled, with deadlines.
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
  os::file f = os::new_file(sv[0], "socketpair");
  CHECK(f.name() == "socketpair");
  std::array<char, 16> buf;
  f.set_read_deadline(time::now() + 20ms);
  CHECK(f.read(buf).err == net::errc::timeout);
  f.set_read_deadline(time::time_point{});
  REQUIRE(::write(sv[1], "ping", 4) == 4);
  auto [n, err] = f.read(buf);
  CHECK(std::string_view(buf.data(), n) == "ping");
  REQUIRE(!f.write("pong").err);
  char back[4];
  REQUIRE(::read(sv[1], back, 4) == 4);
  CHECK(std::string_view(back, 4) == "pong");
  // fd() hands the descriptor out in blocking mode (Go's Fd): no more
  // deadlines, reads on a helper thread.
  CHECK(f.fd() == sv[0]);
  CHECK((::fcntl(sv[0], F_GETFL) & O_NONBLOCK) == 0);
  CHECK(f.set_read_deadline(time::now()) == net::errc::no_deadline);
  REQUIRE(::write(sv[1], "blocking", 8) == 8);
  auto via_helper = make_chan<std::string>(1);
  go([f, via_helper] {
    std::array<char, 16> b;
    auto [k, e] = f.read(b);
    via_helper.send(e ? e.message() : std::string(b.data(), k));
  });
  CHECK(via_helper.recv().value() == "blocking");
  f.close();
  ::close(sv[1]);

  // A regular file: epoll cannot watch it, so it is unpolled even when
  // opened non-blocking.
  temp_dir dir;
  std::string path = dir / "data.txt";
  os::file out = os::new_file(::open(path.c_str(), O_CREAT | O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0600), path);
  REQUIRE(out);
  REQUIRE(!out.write("line one\nline two\n").err);
  out.close();
  auto content = make_chan<std::string>(1);
  go([path, content] {
    os::file in = os::new_file(::open(path.c_str(), O_RDONLY | O_CLOEXEC), path);
    content.send(read_all(in));
    in.close();
  });
  CHECK(content.recv().value() == "line one\nline two\n");
  CHECK(!os::new_file(-1, "none"));
  os::file none;
  CHECK(none.read(buf).err == net::errc::file_closed);
  CHECK(none.fd() == -1);
}

TEST_CASE("os: blocking pipe ends at GOMAXPROCS=1: a read and the write it waits for each get a helper") {
  // Both calls are queued for runtime::blocking helpers back to back, the
  // second before an idle helper woke for the first: the second must get
  // a helper of its own, or the read waits forever for a write that never
  // runs. Many rounds, so that the back-to-back case happens.
  with_procs({1}, [](int) {
    for (int round = 0; round < 50; ++round) {
      int p[2];
      REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
      os::file r = os::new_file(p[0], "blocking-r"), w = os::new_file(p[1], "blocking-w");
      if (round == 0) CHECK(r.set_read_deadline(time::now()) == net::errc::no_deadline);
      auto got = make_chan<std::string>(1);
      go([r, got] {
        std::array<char, 16> b;
        auto [k, e] = r.read(b);
        got.send(e ? e.message() : std::string(b.data(), k));
      });
      go([w] { w.write("unblocked"); });
      std::optional<std::string> v;
      int sel = select(recv(got, v), recv(time::after(120s)));
      REQUIRE_MESSAGE(sel == 0, "round " << round << ": the write never got a helper");
      CHECK(v == std::optional<std::string>("unblocked"));
      r.close();
      w.close();
    }
  });
}
