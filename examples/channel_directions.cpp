// channel_directions — send-only and receive-only channel parameters.
//
// The Go shape:
//
//   func ping(pings chan<- string, msg string) { pings <- msg }
//
//   func pong(pings <-chan string, pongs chan<- string) {
//       msg := <-pings
//       pongs <- msg + " pong"
//   }
//
//   pings, pongs := make(chan string, 1), make(chan string, 1)
//   ping(pings, "ping")
//   pong(pings, pongs)
//   fmt.Println(<-pongs)                      // ping pong
//
// chan<T> converts implicitly to send_only<T> (Go's chan<- T) and
// recv_only<T> (<-chan T). Using one the wrong way does not compile, as in
// Go; the static_asserts below say so.
#include <csp/go.hpp>

#include <cstdio>
#include <string>

using namespace csp;

void ping(send_only<std::string> pings, const std::string& msg) { pings << msg; }

void pong(recv_only<std::string> pings, send_only<std::string> pongs) {
  std::string msg = *pings.recv();
  pongs << msg + " pong";
}

template <class C>
concept can_recv = requires(C c) { c.recv(); };
template <class C>
concept can_send = requires(C c) { c.send(1); };
template <class C>
concept can_close = requires(C c) { c.close(); };

static_assert(can_recv<chan<int>> && can_send<chan<int>> && can_close<chan<int>>);
static_assert(!can_recv<send_only<int>>, "cannot receive from a send-only channel");
static_assert(!can_send<recv_only<int>>, "cannot send to a receive-only channel");
static_assert(!can_close<recv_only<int>>, "cannot close a receive-only channel");

int main() {
  auto pings = make_chan<std::string>(1);
  auto pongs = make_chan<std::string>(1);
  ping(pings, "ping");
  pong(pings, pongs);
  std::printf("%s\n", pongs.recv()->c_str());
  return 0;
}
