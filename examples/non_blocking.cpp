// non_blocking — sends and receives that never wait: select with default.
//
// The Go shape:
//
//   messages := make(chan string)
//   select {
//   case msg := <-messages:
//       fmt.Println("received", msg)
//   default:
//       fmt.Println("no message received")
//   }
//
//   select {
//   case messages <- "hi":
//       fmt.Println("sent message")
//   default:
//       fmt.Println("no message sent")     // unbuffered and nobody receiving
//   }
//
// csp spells the one-case forms as try_recv / try_send and keeps select
// with default_case for several cases. Nothing here waits, so the output is
// fixed.
#include <csp/go.hpp>

#include <cstdio>
#include <optional>
#include <string>

using namespace csp;

int main() {
  auto messages = make_chan<std::string>();
  auto signals = make_chan<bool>();

  // select { case msg := <-messages: ... default: ... }
  if (std::optional<std::string> msg = messages.try_recv())
    std::printf("received %s\n", msg->c_str());
  else
    std::printf("no message received\n");

  // select { case messages <- "hi": ... default: ... } — no receiver is
  // waiting on the unbuffered channel, so the send cannot happen.
  if (messages.try_send(std::string("hi")))
    std::printf("sent message\n");
  else
    std::printf("no message sent\n");

  // A multi-way non-blocking select: default runs when no case is ready.
  std::optional<std::string> msg;
  std::optional<bool> sig;
  switch (select(recv(messages, msg), recv(signals, sig), default_case)) {
    case 0: std::printf("received %s\n", msg->c_str()); break;
    case 1: std::printf("received signal %d\n", *sig); break;
    default: std::printf("no activity\n"); break;
  }

  // With room in a buffer, the same try_send succeeds.
  auto buffered = make_chan<std::string>(1);
  std::printf("buffered try_send: %s\n", buffered.try_send(std::string("hi")) ? "sent" : "not sent");
  std::printf("buffered try_send again: %s\n", buffered.try_send(std::string("hi")) ? "sent" : "not sent");
  std::printf("buffered try_recv: %s\n", buffered.try_recv().value_or("nothing").c_str());
  return 0;
}
