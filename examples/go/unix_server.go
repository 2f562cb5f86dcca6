// unix_server: a counter daemon on a Unix-domain socket and its clients,
// written for csp's examples; examples/unix_server.cpp is its C++ port.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// counters is the daemon's state, shared by its connections.
type counters struct {
	mu sync.Mutex
	m  map[string]int
}

// serve answers one client's lines: "incr NAME" -> the new value,
// "get NAME" -> the value, anything else -> an error line.
func (cs *counters) serve(c net.Conn) {
	defer c.Close()
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		cmd, name, _ := strings.Cut(sc.Text(), " ")
		var reply string
		cs.mu.Lock()
		switch cmd {
		case "incr":
			cs.m[name]++
			reply = strconv.Itoa(cs.m[name])
		case "get":
			reply = strconv.Itoa(cs.m[name])
		default:
			reply = fmt.Sprintf("error: unknown command %q", cmd)
		}
		cs.mu.Unlock()
		if _, err := c.Write([]byte(reply + "\n")); err != nil {
			return
		}
	}
}

// session sends each line and collects the replies, one per line.
func session(path string, lines []string) []string {
	c, err := net.Dial("unix", path)
	if err != nil {
		return []string{"dial failed"}
	}
	defer c.Close()
	r := bufio.NewReader(c)
	var replies []string
	for _, l := range lines {
		c.Write([]byte(l + "\n"))
		reply, err := r.ReadString('\n')
		if err != nil {
			return append(replies, "read failed")
		}
		replies = append(replies, strings.TrimSuffix(reply, "\n"))
	}
	return replies
}

func main() {
	dir, err := os.MkdirTemp("", "unix_server")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "counter.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	cs := &counters{m: map[string]int{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			go cs.serve(c)
		}
	}()

	const clients = 3
	out := make([]string, clients+1)
	var wg sync.WaitGroup
	for id := 1; id <= clients; id++ {
		wg.Add(1)
		go func(id int) {
			defer wg.Done()
			own := fmt.Sprintf("c%d", id)
			replies := session(path, []string{"incr " + own, "incr shared", "incr " + own, "incr " + own})
			out[id] = fmt.Sprintf("client %d: %s = %s, %s, %s", id, own, replies[0], replies[2], replies[3])
		}(id)
	}
	wg.Wait()
	for _, o := range out[1:] {
		fmt.Println(o)
	}
	fmt.Println("shared =", session(path, []string{"get shared"})[0], "after", clients, "clients")
	fmt.Println("frob ->", session(path, []string{"frob x"})[0])
	ln.Close()
	_, err = os.Stat(path)
	fmt.Println("socket file removed on close:", os.IsNotExist(err))
}
