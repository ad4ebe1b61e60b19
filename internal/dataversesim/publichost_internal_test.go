package dataversesim

import (
	"net"
	"strings"
	"testing"
)

func TestPublicBase(t *testing.T) {
	any4 := &net.TCPAddr{IP: net.IPv4zero, Port: 8443}
	tests := []struct {
		name       string
		listen     net.Addr
		publicHost string
		want       string
		certHosts  string
		wantErr    bool
	}{
		{"loopback", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8443}, "", "https://127.0.0.1:8443", "127.0.0.1", false},
		{"every address", any4, "", "https://localhost:8443", "", false},
		{"every IPv6 address", &net.TCPAddr{IP: net.IPv6unspecified, Port: 8443}, "", "https://localhost:8443", "", false},
		{"a specific address", &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 8443}, "", "https://10.0.0.5:8443", "10.0.0.5", false},
		{"public name", any4, "sim.example.com", "https://sim.example.com:8443", "sim.example.com", false},
		{"public name and port", any4, "sim.example.com:443", "https://sim.example.com:443", "sim.example.com", false},
		{"public IPv6", any4, "fd00::5", "https://[fd00::5]:8443", "fd00::5", false},
		{"public IPv6 and port", any4, "[fd00::5]:9443", "https://[fd00::5]:9443", "fd00::5", false},
		{"a URL is not a host", any4, "https://sim.example.com", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, hosts, err := publicBase(tt.listen, tt.publicHost)
			if tt.wantErr {
				if err == nil {
					t.Errorf("publicBase = %s, want an error", base)
				}
				return
			}
			if err != nil || base != tt.want || strings.Join(hosts, ",") != tt.certHosts {
				t.Errorf("publicBase = %s %v %v, want %s [%s]", base, hosts, err, tt.want, tt.certHosts)
			}
		})
	}
}
