// Command go_http is the Go side of bench/http.py: the TechEmpower
// plaintext handler on net/http, standard library only, the same program as
// examples/http_server.cpp (GET /plaintext -> "Hello, World!").
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	flag.Parse()
	hello := []byte("Hello, World!")
	http.HandleFunc("/plaintext", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Write(hello)
	})
	log.Printf("listening on http://%s/plaintext", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
