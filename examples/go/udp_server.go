// udp_server: a DNS-like lookup service over UDP and its clients, written
// for csp's examples; examples/udp_server.cpp is its C++ port.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

var records = map[string]string{
	"alpha.example": "10.0.0.1",
	"beta.example":  "10.0.0.2",
	"gamma.example": "10.0.0.3",
}

// serve answers each datagram "ID NAME" with "ID NAME ADDRESS" (or
// NXDOMAIN), to whoever sent it, until pc is closed.
func serve(pc net.PacketConn) {
	buf := make([]byte, 512)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		id, name, _ := strings.Cut(string(buf[:n]), " ")
		answer, ok := records[name]
		if !ok {
			answer = "NXDOMAIN"
		}
		pc.WriteTo([]byte(id+" "+name+" "+answer), from)
	}
}

// query asks server for name, waiting up to `wait` for each of `tries`
// tries (a datagram may be lost), and returns the answer or why none came.
func query(server string, id int, name string, tries int, wait time.Duration) string {
	c, err := net.Dial("udp", server)
	if err != nil {
		return "dial failed"
	}
	defer c.Close()
	question := fmt.Sprintf("%d %s", id, name)
	buf := make([]byte, 512)
	for try := 0; try < tries; try++ {
		c.Write([]byte(question))
		c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // ask again
		}
		if err != nil {
			return "read failed"
		}
		if reply := string(buf[:n]); strings.HasPrefix(reply, question+" ") {
			return strings.TrimPrefix(reply, question+" ")
		}
	}
	return fmt.Sprintf("no answer after %d tries", tries)
}

func main() {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		os.Exit(1)
	}
	go serve(pc)

	names := []string{"alpha.example", "beta.example", "nosuch.example", "gamma.example", "alpha.example"}
	answers := make([]string, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func(i int, name string) {
			defer wg.Done()
			answers[i] = query(pc.LocalAddr().String(), i+1, name, 3, time.Second)
		}(i, name)
	}

	// A server that reads and never answers: the client's deadline ends
	// each try.
	silent, _ := net.ListenPacket("udp", "127.0.0.1:0")
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := silent.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	silentAnswer := query(silent.LocalAddr().String(), 0, "alpha.example", 2, 100*time.Millisecond)

	wg.Wait()
	pc.Close()
	silent.Close()
	answered, nx := 0, 0
	for i, a := range answers {
		fmt.Printf("query %d: %s -> %s\n", i+1, names[i], a)
		if a == "NXDOMAIN" {
			nx++
		} else if !strings.HasPrefix(a, "no answer") {
			answered++
		}
	}
	fmt.Println("silent server:", silentAnswer)
	fmt.Printf("%d queries, %d answered, %d NXDOMAIN\n", len(names), answered, nx)
}
