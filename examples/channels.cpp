// channels — unbuffered and buffered channels.
//
// The Go shape:
//
//   messages := make(chan string)             // unbuffered: a rendezvous
//   go func() { messages <- "ping" }()
//   msg := <-messages
//
//   queue := make(chan string, 2)             // buffered: holds two values
//   queue <- "first"                          // neither send waits
//   queue <- "second"
//   fmt.Println(len(queue), cap(queue))       // 2 2
//   fmt.Println(<-queue, <-queue)             // first second (FIFO)
//
// An unbuffered send completes only when a receiver takes the value, so it
// needs another goroutine; a buffered one completes at once while there is
// room, so main can fill its own channel.
#include <csp/go.hpp>

#include <cstdio>
#include <string>

using namespace csp;

int main() {
  auto messages = make_chan<std::string>();
  go([messages] { messages << "ping"; });  // the handle is copied: same channel
  std::string msg = messages.recv().value();
  std::printf("unbuffered: got %s\n", msg.c_str());

  auto queue = make_chan<std::string>(2);
  queue << "first";
  queue << "second";
  std::printf("buffered: len %zu cap %zu\n", queue.len(), queue.cap());
  std::string a = *queue.recv();
  std::string b = *queue.recv();
  std::printf("buffered: got %s then %s\n", a.c_str(), b.c_str());
  std::printf("buffered: len %zu cap %zu\n", queue.len(), queue.cap());
  return 0;
}
