module csp.bench/peers/go_http

go 1.19
