// udp_server — a DNS-like lookup service over UDP and its clients.
// examples/go/udp_server.go is the Go original; this is its port, line for
// line where Go allows it.
//
// What it shows: net::listen_packet and a server loop of read_from and
// write_to (the reply goes to whoever asked), clients on connected UDP
// sockets from net::dial("udp", ...), and a read deadline with a retry,
// because a datagram may be lost; a server that never answers ends each
// try with errc::timeout. Results are printed in query order, so the
// output is the same on every run (and the same as
// `go run examples/go/udp_server.go`).
#include <array>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <csp/go.hpp>

using namespace csp;
using namespace std::chrono_literals;

namespace {

const std::map<std::string, std::string> records = {
    {"alpha.example", "10.0.0.1"},
    {"beta.example", "10.0.0.2"},
    {"gamma.example", "10.0.0.3"},
};

// serve answers each datagram "ID NAME" with "ID NAME ADDRESS" (or
// NXDOMAIN), to whoever sent it, until pc is closed.
void serve(net::packet_conn pc) {
  std::array<char, 512> buf;
  for (;;) {
    auto [n, from, err] = pc.read_from(buf);
    if (err) return;  // closed
    std::string q(buf.data(), n);
    auto sp = q.find(' ');
    std::string id = q.substr(0, sp), name = sp == std::string::npos ? "" : q.substr(sp + 1);
    auto it = records.find(name);
    std::string answer = it != records.end() ? it->second : "NXDOMAIN";
    pc.write_to(id + " " + name + " " + answer, from);
  }
}

// query asks server for name, waiting up to `wait` for each of `tries`
// tries (a datagram may be lost), and returns the answer or why none came.
std::string query(const std::string& server, int id, const std::string& name, int tries,
                  std::chrono::milliseconds wait) {
  auto [c, err] = net::dial("udp", server);
  if (err) return "dial failed";
  defer close{[&] { c.close(); }};
  std::string question = std::to_string(id) + " " + name;
  std::array<char, 512> buf;
  for (int t = 0; t < tries; ++t) {
    c.write(question);
    c.set_read_deadline(time::now() + wait);
    auto [n, rerr] = c.read(buf);
    if (net::is_timeout(rerr)) continue;  // ask again
    if (rerr) return "read failed";
    std::string reply(buf.data(), n);
    if (reply.rfind(question + " ", 0) == 0) return reply.substr(question.size() + 1);
  }
  return "no answer after " + std::to_string(tries) + " tries";
}

}  // namespace

int main() {
  auto [pc, err] = net::listen_packet("udp", "127.0.0.1:0");
  if (err) {
    std::fprintf(stderr, "listen: %s\n", err.message().c_str());
    return 1;
  }
  go(serve, pc);

  std::vector<std::string> names = {"alpha.example", "beta.example", "nosuch.example", "gamma.example",
                                    "alpha.example"};
  std::vector<std::string> answers(names.size());
  sync::wait_group wg;
  for (std::size_t i = 0; i < names.size(); ++i) {
    wg.add(1);
    go([&, i] {
      defer done{[&] { wg.done(); }};
      answers[i] = query(pc.local_addr(), static_cast<int>(i) + 1, names[i], 3, 1s);
    });
  }

  // A server that reads and never answers: the client's deadline ends
  // each try.
  auto [silent, serr] = net::listen_packet("udp", "127.0.0.1:0");
  go([silent = silent] {
    std::array<char, 512> buf;
    while (!silent.read_from(buf).err) {
    }
  });
  std::string silent_answer = query(silent.local_addr(), 0, "alpha.example", 2, 100ms);

  wg.wait();
  pc.close();
  silent.close();
  int answered = 0, nx = 0;
  for (std::size_t i = 0; i < names.size(); ++i) {
    std::printf("query %zu: %s -> %s\n", i + 1, names[i].c_str(), answers[i].c_str());
    if (answers[i] == "NXDOMAIN") ++nx;
    else if (answers[i].rfind("no answer", 0) != 0) ++answered;
  }
  std::printf("silent server: %s\n", silent_answer.c_str());
  std::printf("%zu queries, %d answered, %d NXDOMAIN\n", names.size(), answered, nx);
}
