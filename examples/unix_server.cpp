// unix_server — a counter daemon on a Unix-domain socket and its clients.
// examples/go/unix_server.go is the Go original; this is its port, line
// for line where Go allows it.
//
// What it shows: net::listen("unix", path) and net::dial("unix", path),
// the TCP shapes on a local socket (a goroutine per connection, a line
// protocol, state shared under a mutex), and the socket file removed when
// the listener closes, as Go's is. Output is per client in client order,
// so it is the same on every run (and the same as
// `go run examples/go/unix_server.go`).
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <csp/go.hpp>

using namespace csp;

namespace {

// counters is the daemon's state, shared by its connections.
struct counters {
  sync::mutex mu;
  std::map<std::string, int> m;  // guarded by mu

  // serve answers one client's lines: "incr NAME" -> the new value,
  // "get NAME" -> the value, anything else -> an error line.
  void serve(net::conn c) {
    defer close{[&] { c.close(); }};
    std::string pending;
    std::array<char, 512> buf;
    for (;;) {
      auto nl = pending.find('\n');
      if (nl == std::string::npos) {
        auto [n, err] = c.read(buf);
        if (err) return;  // net::errc::eof: the client is done
        pending.append(buf.data(), n);
        continue;
      }
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      auto sp = line.find(' ');
      std::string cmd = line.substr(0, sp), name = sp == std::string::npos ? "" : line.substr(sp + 1);
      std::string reply;
      {
        std::lock_guard<sync::mutex> lock(mu);
        if (cmd == "incr") reply = std::to_string(++m[name]);
        else if (cmd == "get") reply = std::to_string(m[name]);
        else reply = "error: unknown command \"" + cmd + "\"";
      }
      if (c.write(reply + "\n").err) return;
    }
  }
};

// session sends each line and collects the replies, one per line.
std::vector<std::string> session(const std::string& path, const std::vector<std::string>& lines) {
  auto [c, err] = net::dial("unix", path);
  if (err) return {"dial failed"};
  defer close{[&] { c.close(); }};
  std::vector<std::string> replies;
  std::string pending;
  std::array<char, 512> buf;
  for (const auto& l : lines) {
    c.write(l + "\n");
    while (pending.find('\n') == std::string::npos) {
      auto [n, rerr] = c.read(buf);
      if (rerr) {
        replies.push_back("read failed");
        return replies;
      }
      pending.append(buf.data(), n);
    }
    auto nl = pending.find('\n');
    replies.push_back(pending.substr(0, nl));
    pending.erase(0, nl + 1);
  }
  return replies;
}

}  // namespace

int main() {
  char tmpl[] = "/tmp/unix_serverXXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  std::string dir = tmpl;
  defer remove_dir{[&] { ::rmdir(dir.c_str()); }};
  std::string path = dir + "/counter.sock";
  auto [ln, err] = net::listen("unix", path);
  if (err) {
    std::fprintf(stderr, "listen: %s\n", err.message().c_str());
    return 1;
  }
  counters cs;
  go([ln = ln, &cs] {
    for (;;) {
      auto [c, aerr] = ln.accept();
      if (aerr) return;  // closed
      go([&cs, c = c] { cs.serve(c); });
    }
  });

  const int clients = 3;
  std::vector<std::string> out(clients + 1);
  sync::wait_group wg;
  for (int id = 1; id <= clients; ++id) {
    wg.add(1);
    go([&, id] {
      defer done{[&] { wg.done(); }};
      std::string own = "c" + std::to_string(id);
      auto replies = session(path, {"incr " + own, "incr shared", "incr " + own, "incr " + own});
      replies.resize(4);
      out[id] = "client " + std::to_string(id) + ": " + own + " = " + replies[0] + ", " + replies[2] + ", " +
                replies[3];
    });
  }
  wg.wait();
  for (int id = 1; id <= clients; ++id) std::printf("%s\n", out[id].c_str());
  std::printf("shared = %s after %d clients\n", session(path, {"get shared"})[0].c_str(), clients);
  std::printf("frob -> %s\n", session(path, {"frob x"})[0].c_str());
  ln.close();
  struct stat st {};
  std::printf("socket file removed on close: %s\n", ::stat(path.c_str(), &st) != 0 ? "true" : "false");
}
