// net_packet_test.cpp — net:: beyond TCP: UDP (listen_packet, read_from,
// write_to, connected dial), unix stream, unixgram and unixpacket sockets,
// service names, and the errors of each. Test bodies run on the main
// thread, so calls made directly in them are I/O from a plain thread.
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <string>
#include <vector>

#include <csp/go.hpp>

#include "net_util.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using namespace csp;
using csp_test::echo_server;
using csp_test::must;
using csp_test::read_exactly;
using csp_test::sanitizer_scale;
using csp_test::temp_dir;
using csp_test::with_procs;

namespace {

net::packet_conn must_listen_packet(const std::string& network, const std::string& addr) {
  auto [pc, err] = net::listen_packet(network, addr);
  REQUIRE_MESSAGE(!err, err.message());
  return pc;
}

net::addr must_resolve_udp(const std::string& addr) {
  auto [a, err] = net::resolve_udp_addr("udp", addr);
  REQUIRE_MESSAGE(!err, err.message());
  return a;
}

// udp_echo_server runs `readers` goroutines that echo every datagram on pc
// to its sender until pc is closed, counting what they received.
void udp_echo_server(net::packet_conn pc, int readers, std::atomic<int>& received, sync::wait_group& wg) {
  wg.add(readers);
  for (int i = 0; i < readers; ++i) {
    go([pc, &received, &wg] {
      defer d{[&] { wg.done(); }};
      std::array<char, 2048> buf;
      for (;;) {
        auto [n, from, err] = pc.read_from(buf);
        if (err) return;
        received.fetch_add(1);
        if (pc.write_to(std::string_view(buf.data(), n), from).err) return;
      }
    });
  }
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

TEST_CASE("net: UDP echo across 1,000 goroutines: every datagram counted, none lost") {
  const int clients = sanitizer_scale > 1 ? 100 : 1000;
  const int rounds = 3;
  with_procs({1, 4}, [&](int) {
    auto pc = must_listen_packet("udp", "127.0.0.1:0");
    std::atomic<int> received{0};
    sync::wait_group server;
    udp_echo_server(pc, 4, received, server);
    // At most 64 datagrams in flight: loopback drops only when a receive
    // buffer is full, and 64 small datagrams fit the server's default one
    // many times over, so every datagram must arrive.
    auto tokens = make_chan<unit>(64);
    std::atomic<int> echoed{0}, wrong{0};
    std::string addr = pc.local_addr();
    sync::wait_group wg;
    wg.add(clients);
    for (int i = 0; i < clients; ++i) {
      go([&, i] {
        defer d{[&] { wg.done(); }};
        auto [c, err] = net::dial("udp", addr);
        if (err) {
          wrong.fetch_add(1);
          return;
        }
        // A lost datagram would be a failure, not a hang.
        c.set_read_deadline(time::now() + 60s);
        for (int r = 0; r < rounds; ++r) {
          std::string msg = "client " + std::to_string(i) + " datagram " + std::to_string(r);
          tokens.send(unit{});
          bool ok = !c.write(msg).err;
          std::array<char, 128> buf;
          auto [n, rerr] = c.read(buf);
          (void)tokens.recv();
          if (ok && !rerr && std::string_view(buf.data(), n) == msg) echoed.fetch_add(1);
          else wrong.fetch_add(1);
        }
        c.close();
      });
    }
    wg.wait();
    CHECK(wrong.load() == 0);
    CHECK(echoed.load() == clients * rounds);
    CHECK(received.load() == clients * rounds);
    CHECK(!pc.close());
    server.wait();
  });
}

TEST_CASE("net: a read deadline on a silent UDP socket times out; the socket works after") {
  with_procs({1, 2}, [](int) {
    auto pc = must_listen_packet("udp", "127.0.0.1:0");
    pc.set_read_deadline(time::now() + 50ms);
    std::array<char, 16> buf;
    auto [n, from, err] = pc.read_from(buf);
    CHECK(n == 0);
    CHECK(!from);
    CHECK(net::is_timeout(err));
    CHECK(err.message() == "i/o timeout");
    CHECK(pc.read_from(buf).err == net::errc::timeout);  // still past: at once
    // From a goroutine, on a connected socket, too.
    auto [c, derr] = net::dial("udp", pc.local_addr());
    REQUIRE(!derr);
    auto result = make_chan<std::error_code>(1);
    go([c, result] {
      c.set_read_deadline(time::now() + 30ms);
      std::array<char, 16> b;
      result.send(c.read(b).err);
    });
    CHECK(result.recv().value() == net::errc::timeout);
    // Cleared: the next datagram arrives.
    pc.set_read_deadline(time::time_point{});
    REQUIRE(!c.write("late").err);
    auto [m, sender, rerr] = pc.read_from(buf);
    REQUIRE(!rerr);
    CHECK(std::string_view(buf.data(), m) == "late");
    CHECK(sender.string() == c.local_addr());
    CHECK(sender.network() == "udp");
    c.close();
    pc.close();
  });
}

TEST_CASE("net: UDP datagrams keep their boundaries; a short buffer truncates as Go does; empty datagrams") {
  auto pc = must_listen_packet("udp", "127.0.0.1:0");
  auto to = must_resolve_udp(pc.local_addr());
  CHECK(to.string() == pc.local_addr());
  auto [c, err] = net::dial("udp", pc.local_addr());
  REQUIRE(!err);
  std::string big(100, 'x');
  big[0] = 'a';
  REQUIRE(!c.write(big).err);
  REQUIRE(!c.write("next").err);
  REQUIRE(c.write("").n == 0);  // an empty datagram is still one
  // Go on Linux: the first len(buf) bytes, no error, the rest dropped.
  std::array<char, 10> small;
  auto [n, from, rerr] = pc.read_from(small);
  CHECK(!rerr);
  CHECK(n == small.size());
  CHECK(std::string_view(small.data(), n) == big.substr(0, 10));
  std::array<char, 64> buf;
  auto r2 = pc.read_from(buf);
  CHECK(std::string_view(buf.data(), r2.n) == "next");
  auto r3 = pc.read_from(buf);
  CHECK(r3.n == 0);
  CHECK(!r3.err);  // not eof: datagram sockets have no end of stream
  CHECK(r3.addr == from);
  // The same through a connected conn's read, and the reply path.
  REQUIRE(!pc.write_to(big, from).err);
  REQUIRE(!pc.write_to("", from).err);
  auto [k, cerr] = c.read(small);
  CHECK(!cerr);
  CHECK(k == small.size());
  auto [k2, cerr2] = c.read(small);
  CHECK(k2 == 0);
  CHECK(!cerr2);
  c.close();
  pc.close();
}

TEST_CASE("net: a dual-stack UDP socket answers IPv4 senders; udp6 on [::1]") {
  auto [pc, err] = net::listen_packet("udp", ":0");
  REQUIRE_MESSAGE(!err, err.message());
  std::string port = pc.local_addr().substr(pc.local_addr().rfind(':') + 1);
  auto [c, derr] = net::dial("udp4", "127.0.0.1:" + port);
  REQUIRE(!derr);
  REQUIRE(!c.write("v4").err);
  std::array<char, 16> buf;
  auto [n, from, rerr] = pc.read_from(buf);
  REQUIRE(!rerr);
  CHECK(from.string() == c.local_addr());  // shown as IPv4, not ::ffff:
  REQUIRE(!pc.write_to("back", from).err);
  CHECK(read_exactly(c, 4) == "back");
  // An IPv4 address from resolve_udp_addr is mapped for the v6 socket.
  REQUIRE(!pc.write_to("again", must_resolve_udp(c.local_addr())).err);
  CHECK(read_exactly(c, 5) == "again");
  c.close();
  pc.close();

  auto [pc6, err6] = net::listen_packet("udp6", "[::1]:0");
  if (err6) {
    MESSAGE("no IPv6 loopback here: " << err6.message());
    return;
  }
  auto [c6, derr6] = net::dial("udp6", pc6.local_addr());
  REQUIRE(!derr6);
  REQUIRE(!c6.write("six").err);
  auto [n6, from6, rerr6] = pc6.read_from(buf);
  REQUIRE(!rerr6);
  CHECK(std::string_view(buf.data(), n6) == "six");
  CHECK(from6.string().rfind("[::1]:", 0) == 0);
  c6.close();
  pc6.close();
}

TEST_CASE("net: unix stream echo, with the socket file removed on close; abstract names") {
  temp_dir dir;
  const std::string path = dir / "echo.sock";
  const int clients = sanitizer_scale > 1 ? 20 : 200;
  with_procs({1, 4}, [&](int) {
    auto [ln, err] = net::listen("unix", path);
    REQUIRE_MESSAGE(!err, err.message());
    CHECK(ln.addr() == path);
    CHECK(exists(path));
    sync::wait_group server;
    echo_server(ln, server);
    std::atomic<int> ok{0};
    sync::wait_group wg;
    wg.add(clients);
    for (int i = 0; i < clients; ++i) {
      go([&, i] {
        defer d{[&] { wg.done(); }};
        auto [c, derr] = net::dial("unix", path);
        if (derr) return;
        bool good = c.remote_addr() == path && c.local_addr().empty();  // the client is unnamed
        for (int r = 0; r < 3 && good; ++r) {
          std::string line = "unix client " + std::to_string(i) + " line " + std::to_string(r) + "\n";
          good = !c.write(line).err && read_exactly(c, line.size()) == line;
        }
        if (good) ok.fetch_add(1);
        c.close();
      });
    }
    wg.wait();
    CHECK(ok.load() == clients);
    CHECK(!ln.close());
    server.wait();
    CHECK(!exists(path));  // as Go's UnixListener.Close
  });

  const std::string abstract = "@csp-net-test-" + std::to_string(::getpid());
  auto [ln, err] = net::listen("unix", abstract);
  REQUIRE_MESSAGE(!err, err.message());
  CHECK(ln.addr() == abstract);
  sync::wait_group server;
  echo_server(ln, server);
  auto [c, derr] = net::dial("unix", abstract);
  REQUIRE(!derr);
  CHECK(c.remote_addr() == abstract);
  REQUIRE(!c.write("abstract").err);
  CHECK(read_exactly(c, 8) == "abstract");
  c.close();
  ln.close();
  server.wait();
  // Nobody listens any more.
  CHECK(net::dial("unix", abstract).err == std::errc::connection_refused);
  CHECK(net::dial("unix", dir / "nobody.sock").err == std::errc::no_such_file_or_directory);
}

TEST_CASE("net: unixgram exchange between two bound sockets, and from an unnamed dialer") {
  temp_dir dir;
  with_procs({1, 2}, [&](int p) {
    const std::string a_path = dir / ("a" + std::to_string(p)), b_path = dir / ("b" + std::to_string(p));
    auto a = must_listen_packet("unixgram", a_path);
    auto b = must_listen_packet("unixgram", b_path);
    CHECK(a.local_addr() == a_path);
    auto [b_addr, rerr] = net::resolve_unix_addr("unixgram", b_path);
    REQUIRE(!rerr);
    CHECK(b_addr.string() == b_path);
    CHECK(b_addr.network() == "unixgram");
    // b answers each datagram, upper-cased, from a goroutine.
    go([b] {
      std::array<char, 256> buf;
      for (;;) {
        auto [n, from, err] = b.read_from(buf);
        if (err) return;
        std::string reply(buf.data(), n);
        for (char& ch : reply) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (from) b.write_to(reply, from);
      }
    });
    std::array<char, 256> buf;
    for (int i = 0; i < 20; ++i) {
      std::string msg = "message " + std::to_string(i);
      REQUIRE(!a.write_to(msg, b_addr).err);
      auto [n, from, err] = a.read_from(buf);
      REQUIRE(!err);
      CHECK(from == b_addr);
      CHECK(std::string_view(buf.data(), n) == "MESSAGE " + std::to_string(i));
    }
    // A dialed unixgram conn sends from an unnamed socket: the receiver
    // sees an empty address (Go: a nil Addr).
    auto [c, derr] = net::dial("unixgram", a_path);
    REQUIRE(!derr);
    REQUIRE(!c.write("from nobody").err);
    auto [n, from, err] = a.read_from(buf);
    REQUIRE(!err);
    CHECK(std::string_view(buf.data(), n) == "from nobody");
    CHECK(!from);
    CHECK(from.string().empty());
    c.close();
    a.close();
    b.close();
  });
}

TEST_CASE("net: unixpacket keeps message boundaries and ends with eof") {
  temp_dir dir;
  auto [ln, err] = net::listen("unixpacket", dir / "seq.sock");
  REQUIRE_MESSAGE(!err, err.message());
  auto [c, derr] = net::dial("unixpacket", dir / "seq.sock");
  REQUIRE(!derr);
  auto [peer, aerr] = ln.accept();
  REQUIRE(!aerr);
  REQUIRE(!c.write("ab").err);
  REQUIRE(!c.write("cd").err);
  std::array<char, 16> buf;
  auto [n, rerr] = peer.read(buf);
  CHECK(std::string_view(buf.data(), n) == "ab");
  auto [n2, rerr2] = peer.read(buf);
  CHECK(std::string_view(buf.data(), n2) == "cd");
  c.close();
  CHECK(peer.read(buf).err == net::errc::eof);
  peer.close();
  ln.close();
}

TEST_CASE("net: close wakes a blocked reader of every kind, goroutine or thread") {
  temp_dir dir;
  with_procs({1, 2}, [&](int p) {
    const std::string suffix = std::to_string(p);
    auto udp = must_listen_packet("udp", "127.0.0.1:0");
    auto [udp_conn, e1] = net::dial("udp", udp.local_addr());
    REQUIRE(!e1);
    auto gram = must_listen_packet("unixgram", dir / ("gram" + suffix));
    auto [ln, e2] = net::listen("unix", dir / ("stream" + suffix));
    REQUIRE(!e2);
    auto [unix_conn, e3] = net::dial("unix", dir / ("stream" + suffix));
    REQUIRE(!e3);
    auto [unix_peer, e4] = ln.accept();
    REQUIRE(!e4);
    auto [seq_ln, e5] = net::listen("unixpacket", dir / ("seq" + suffix));
    REQUIRE(!e5);
    auto [seq_conn, e6] = net::dial("unixpacket", dir / ("seq" + suffix));
    REQUIRE(!e6);
    auto [seq_peer, e7] = seq_ln.accept();
    REQUIRE(!e7);
    auto [r, w, e8] = os::pipe();
    REQUIRE(!e8);

    auto results = make_chan<std::pair<std::string, std::error_code>>(16);
    auto reader = [results](std::string what, auto read) {
      go([results, what, read] { results.send({what, read()}); });
    };
    reader("udp read_from", [udp] {
      std::array<char, 8> b;
      return udp.read_from(b).err;
    });
    reader("udp conn read", [udp_conn] {
      std::array<char, 8> b;
      return udp_conn.read(b).err;
    });
    reader("unixgram read_from", [gram] {
      std::array<char, 8> b;
      return gram.read_from(b).err;
    });
    reader("unix read", [unix_conn] {
      std::array<char, 8> b;
      return unix_conn.read(b).err;
    });
    reader("unix accept", [ln = ln] { return ln.accept().err; });
    reader("unixpacket read", [seq_conn = seq_conn] {
      std::array<char, 8> b;
      return seq_conn.read(b).err;
    });
    const int goroutines = 6;
    must(csp_test::wait_state("IO wait", goroutines), "readers parked");
    // A plain thread blocked on a pipe.
    std::error_code thread_err;
    std::thread t([r = r, &thread_err] {
      std::array<char, 8> b;
      thread_err = r.read(b).err;
    });
    std::this_thread::sleep_for(20ms);  // let the thread block (a late close is caught as closed too)
    CHECK(!udp.close());
    CHECK(!udp_conn.close());
    CHECK(!gram.close());
    CHECK(!unix_conn.close());
    CHECK(!ln.close());
    CHECK(!seq_conn.close());
    CHECK(!r.close());
    t.join();
    CHECK(thread_err == net::errc::file_closed);
    for (int i = 0; i < goroutines; ++i) {
      auto [what, err] = results.recv().value();
      CAPTURE(what);
      CHECK(err == net::errc::closed);
    }
    CHECK(udp.close() == net::errc::closed);
    CHECK(r.close() == net::errc::file_closed);
    unix_peer.close();
    seq_peer.close();
    seq_ln.close();
    w.close();
  });
}

TEST_CASE("net: 1,000 idle UDP sockets with a reader each use no CPU") {
  const int sockets = sanitizer_scale > 1 ? 100 : 1000;
  std::vector<net::packet_conn> pcs;
  sync::wait_group wg;
  for (int i = 0; i < sockets; ++i) {
    auto pc = must_listen_packet("udp", "127.0.0.1:0");
    pcs.push_back(pc);
    wg.add(1);
    go([pc, &wg] {
      defer d{[&] { wg.done(); }};
      std::array<char, 64> buf;
      while (!pc.read_from(buf).err) {
      }
    });
  }
  must(csp_test::wait_state("IO wait", sockets), "readers parked");
  long used_us = csp_test::cpu_us_while_idle(2s);
  MESSAGE("CPU used by an idle process with " << sockets << " UDP readers over 2 s: " << used_us << " us");
  CHECK(used_us < 50'000);
  for (auto& pc : pcs) pc.close();
  wg.wait();
}

TEST_CASE("net: bad inputs: too long a unix path, unknown service names, wrong networks") {
  temp_dir dir;
  // sun_path holds 108 bytes: a path may use 107 (plus its NUL), an
  // abstract name all 108 ('@' standing for the leading NUL).
  std::string base = dir / "";
  std::string fits = base + std::string(107 - base.size(), 'p');
  std::string too_long = fits + "q";
  REQUIRE(fits.size() == 107);
  {
    auto [ln, err] = net::listen("unix", fits);
    CHECK_MESSAGE(!err, err.message());
    ln.close();
  }
  CHECK(net::listen("unix", too_long).err == std::errc::invalid_argument);
  CHECK(net::dial("unix", too_long).err == std::errc::invalid_argument);
  CHECK(net::listen_packet("unixgram", too_long).err == std::errc::invalid_argument);
  CHECK(net::resolve_unix_addr("unix", too_long).err == std::errc::invalid_argument);
  CHECK(net::resolve_unix_addr("unix", "@" + std::string(107, 'a')).err == std::error_code{});
  CHECK(net::resolve_unix_addr("unix", "@" + std::string(108, 'a')).err == std::errc::invalid_argument);
  CHECK(net::listen("unix", "").err == net::errc::invalid_address);

  // Service names: /etc/services or Go's table, any case; resolved on a
  // runtime::blocking helper when called from a goroutine.
  auto results = make_chan<std::string>(4);
  go([results] {
    auto [a, err] = net::resolve_udp_addr("udp", "127.0.0.1:domain");
    results.send(err ? err.message() : a.string());
    auto [a2, err2] = net::resolve_udp_addr("udp4", "localhost:DOMAIN");
    results.send(err2 ? err2.message() : a2.string());
    results.send(net::dial("tcp", "127.0.0.1:no-such-service").err.message());
  });
  CHECK(results.recv().value() == "127.0.0.1:53");
  CHECK(results.recv().value() == "127.0.0.1:53");
  CHECK(results.recv().value() == "unknown port");
  CHECK(net::resolve_udp_addr("udp", "127.0.0.1:no-such-service").err == net::errc::unknown_port);
  CHECK(net::listen("tcp", "127.0.0.1:no-such-service").err == net::errc::unknown_port);
  CHECK(net::listen_packet("udp", "127.0.0.1:99999").err == net::errc::invalid_address);
  CHECK(net::resolve_udp_addr("tcp", "127.0.0.1:53").err == net::errc::unknown_network);
  CHECK(net::resolve_unix_addr("udp", "/x").err == net::errc::unknown_network);
  CHECK(net::listen_packet("unix", dir / "s").err == net::errc::unknown_network);

  // write_to with no address; an empty handle.
  auto pc = must_listen_packet("udp", "127.0.0.1:0");
  CHECK(pc.write_to("x", net::addr{}).err == net::errc::invalid_address);
  pc.close();
  net::packet_conn none;
  std::array<char, 4> buf;
  CHECK(none.read_from(buf).err == net::errc::closed);
  CHECK(none.write_to("x", must_resolve_udp("127.0.0.1:9")).err == net::errc::closed);
  CHECK(none.local_addr().empty());
  // A datagram larger than UDP allows.
  auto [c, err] = net::dial("udp", "127.0.0.1:9");
  REQUIRE(!err);
  std::vector<std::byte> huge(70000);
  CHECK(c.write(huge).err == std::errc::message_size);
  c.close();
}
