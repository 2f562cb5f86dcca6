// echo — a TCP echo server and its clients in one program.
//
// The Go program it ports:
//
//   func serve(c net.Conn) {
//       defer c.Close()
//       buf := make([]byte, 4096)
//       for {
//           n, err := c.Read(buf)
//           if err != nil { return }              // io.EOF: the client is done
//           if _, err := c.Write(buf[:n]); err != nil { return }
//       }
//   }
//
//   func client(id int, addr string, out []string, wg *sync.WaitGroup) {
//       defer wg.Done()
//       c, err := net.Dial("tcp", addr)
//       if err != nil { out[id] = "dial: " + err.Error(); return }
//       defer c.Close()
//       r := bufio.NewReader(c)
//       for line := 1; line <= 3; line++ {
//           msg := fmt.Sprintf("hello from client %d, line %d\n", id, line)
//           c.Write([]byte(msg))
//           echo, _ := r.ReadString('\n')
//           out[id] += ...
//       }
//   }
//
//   func main() {
//       ln, _ := net.Listen("tcp", "127.0.0.1:0")
//       go func() { for { c, err := ln.Accept(); if err != nil { return }; go serve(c) } }()
//       ... start the clients, wg.Wait(), print their results in order
//   }
//
// The clients run at once; each keeps its lines, and main prints them in
// client order, so the output is the same on every run.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <csp/go.hpp>

using namespace csp;

namespace {

void serve(net::conn c) {
  defer close{[&] { c.close(); }};
  std::array<char, 4096> buf;
  for (;;) {
    auto [n, err] = c.read(buf);
    if (err) return;  // net::errc::eof: the client is done
    if (c.write(std::string_view(buf.data(), n)).err) return;
  }
}

// read_line reads up to and including '\n' (a bufio.Reader's ReadString).
std::string read_line(const net::conn& c, std::string& pending) {
  for (;;) {
    if (auto nl = pending.find('\n'); nl != std::string::npos) {
      std::string line = pending.substr(0, nl + 1);
      pending.erase(0, nl + 1);
      return line;
    }
    std::array<char, 256> buf;
    auto [n, err] = c.read(buf);
    if (err) return "<" + err.message() + ">";
    pending.append(buf.data(), n);
  }
}

void client(int id, std::string addr, std::string& out, sync::wait_group& wg) {
  defer done{[&] { wg.done(); }};
  auto [c, err] = net::dial("tcp", addr);
  if (err) {
    out = "client " + std::to_string(id) + ": dial: " + err.message() + "\n";
    return;
  }
  defer close{[&] { c.close(); }};
  std::string pending;
  for (int line = 1; line <= 3; ++line) {
    std::string msg = "hello from client " + std::to_string(id) + ", line " + std::to_string(line) + "\n";
    c.write(msg);
    std::string echo = read_line(c, pending);
    out += "client " + std::to_string(id) + ": " + (echo == msg ? "echoed: " + msg : "WRONG: " + echo + "\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  int clients = argc > 1 ? std::atoi(argv[1]) : 3;
  auto [ln, err] = net::listen("tcp", "127.0.0.1:0");
  if (err) {
    std::fprintf(stderr, "listen: %s\n", err.message().c_str());
    return 1;
  }
  go([ln] {
    for (;;) {
      auto [c, err] = ln.accept();
      if (err) return;  // closed
      go(serve, c);
    }
  });

  std::vector<std::string> out(static_cast<std::size_t>(clients) + 1);
  sync::wait_group wg;
  for (int id = 1; id <= clients; ++id) {
    wg.add(1);
    go([&, id] { client(id, ln.addr(), out[static_cast<std::size_t>(id)], wg); });
  }
  wg.wait();
  ln.close();
  for (const auto& o : out) std::fputs(o.c_str(), stdout);
  std::printf("%d clients, %d lines echoed\n", clients, clients * 3);
}
