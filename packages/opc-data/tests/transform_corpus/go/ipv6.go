package peers

import "net"

// Default peers of the gossip ring.
var peers = []string{
	"2001:db8:85a3::8a2e:370:7334",
	"203.0.113.200",
	"::1",
	"127.0.0.1",
}

const macPrefix = "00:1a:2b"
const buildDate = "2024-01-15"

func parse() []net.IP {
	out := make([]net.IP, 0, len(peers))
	for _, p := range peers {
		if ip := net.ParseIP(p); ip != nil {
			out = append(out, ip)
		}
	}
	return out
}

func halves(xs []int) ([]int, []int) {
	return xs[:len(xs)/2], xs[len(xs)/2:]
}
