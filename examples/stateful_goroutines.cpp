// stateful_goroutines — state owned by one goroutine, reached by messages.
//
// The Go shape:
//
//   type readOp struct {
//       key  int
//       resp chan int
//   }
//   type writeOp struct {
//       key, val int
//       resp     chan bool
//   }
//
//   go func() {                               // the only goroutine that touches state
//       state := map[int]int{}
//       for {
//           select {
//           case r := <-reads:
//               r.resp <- state[r.key]
//           case w := <-writes:
//               state[w.key] = w.val
//               w.resp <- true
//           case <-quit:
//               return
//           }
//       }
//   }()
//
//   write := writeOp{key: 1, val: 42, resp: make(chan bool)}
//   writes <- write
//   <-write.resp
//
// "Share memory by communicating": instead of a mutex around the map, one
// goroutine owns it and the others send it requests, each with a channel
// for the answer. Here 4 writers each write their own key 100 times, 8
// readers read 50 times each; the counts and final values are fixed
// whatever the interleaving.
#include <csp/go.hpp>

#include <atomic>
#include <cstdio>
#include <map>
#include <optional>

using namespace csp;

struct read_op {
  int key = 0;
  chan<int> resp;
};

struct write_op {
  int key = 0;
  int val = 0;
  chan<bool> resp;
};

// own_state serves reads and writes of its private map until quit closes.
void own_state(recv_only<read_op> reads, recv_only<write_op> writes, recv_only<> quit) {
  std::map<int, int> state;
  for (;;) {
    std::optional<read_op> r;
    std::optional<write_op> w;
    switch (select(recv(reads, r), recv(writes, w), recv(quit))) {
      case 0:
        r->resp << state[r->key];
        break;
      case 1:
        state[w->key] = w->val;
        w->resp << true;
        break;
      case 2:
        return;
    }
  }
}

int main() {
  constexpr int writers = 4, writes_each = 100;
  constexpr int readers = 8, reads_each = 50;

  auto reads = make_chan<read_op>();
  auto writes = make_chan<write_op>();
  auto quit = make_chan<>();
  sync::wait_group owner;
  owner.go(own_state, reads, writes, quit);

  std::atomic<int> read_ops{0}, write_ops{0};
  sync::wait_group wg;
  for (int w = 0; w < writers; ++w) {
    wg.go([&, w] {
      for (int i = 1; i <= writes_each; ++i) {
        write_op op{w, i, make_chan<bool>()};
        writes << op;
        op.resp.recv();
        write_ops++;
      }
    });
  }
  for (int r = 0; r < readers; ++r) {
    wg.go([&, r] {
      for (int i = 0; i < reads_each; ++i) {
        read_op op{(r + i) % writers, make_chan<int>()};
        reads << op;
        op.resp.recv();
        read_ops++;
      }
    });
  }
  wg.wait();

  std::printf("reads: %d\n", read_ops.load());
  std::printf("writes: %d\n", write_ops.load());
  for (int key = 0; key < writers; ++key) {
    read_op op{key, make_chan<int>()};
    reads << op;
    std::printf("key %d = %d\n", key, *op.resp.recv());
  }
  quit.close();  // the owner returns; wait for it
  owner.wait();
  std::printf("state owner stopped\n");
  return 0;
}
