package console

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Guard protects the listener of `pusher dev` from the pages of other sites, which a
// browser on the same machine would otherwise let drive it:
//
//   - a POST, PUT, PATCH or DELETE goes through http.CrossOriginProtection: refused 403
//     when a browser says it comes from another site (Sec-Fetch-Site: cross-site, or
//     an Origin whose host is not the request's Host). A request without those headers
//     is not a browser's (curl, `pusher send`, the AWS SDK) and passes;
//   - a browser's request (it carries Origin or Sec-Fetch-Site), and any request for the
//     console's page, files and events or the poison queue's routes (/, /console/...,
//     /poison...), whose Host is not an IP address, localhost or a name under localhost
//     is refused 403, with a body that says which address to open. A page on
//     evil.example whose name an attacker resolves to 127.0.0.1 (DNS rebinding) is
//     same-origin to the browser, and a same-origin GET to a name that is not
//     localhost carries neither header: the Host it sends is what gives it away. The
//     intake and the Management API still answer clients that are not browsers at any
//     name (a service of a Docker Compose file posting to http://pusher:8080). A
//     WebSocket upgrade is exempt: the endpoint accepts any origin and any name, as
//     API Gateway's does.
func Guard(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, fmt.Sprintf("cross-origin request refused: %s %s comes from a page of another site; "+
			"open %s for the console, or use a client that is not a browser (curl, pusher send)", r.Method, r.URL.Path, consoleURL(r)),
			http.StatusForbidden)
	}))
	protected := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !IsUpgrade(r) && (fromBrowser(r) || operatorRoute(r.URL.Path)) && !localName(r.Host) {
			http.Error(w, fmt.Sprintf("refused: the host name %q is not this machine's; pusher dev answers browsers at an IP "+
				"address or localhost only (a name may be an attacker's that resolves here): open %s", r.Host, consoleURL(r)),
				http.StatusForbidden)
			return
		}
		protected.ServeHTTP(w, r)
	})
}

// fromBrowser reports whether r says it comes from a browser's page: browsers send
// Origin on every POST and cross-origin request, and Sec-Fetch-Site to trustworthy
// origins (localhost, https).
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != ""
}

// operatorRoute reports whether path is one of the routes an operator reads in a
// browser: the console's page, files and events, the poison queue's listings and
// actions.
func operatorRoute(path string) bool {
	return path == "/" || strings.HasPrefix(path, "/console/") || path == "/poison" || strings.HasPrefix(path, "/poison/")
}

// localName reports whether host (a Host header, with or without a port) is an IP
// address, localhost or a name under localhost, which browsers resolve to the loopback
// themselves, never through DNS.
func localName(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if i := strings.IndexByte(host, '%'); i >= 0 { // an IPv6 zone, fe80::1%eth0
		host = host[:i]
	}
	return net.ParseIP(host) != nil || host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// consoleURL is the console's address on the listener r came in on.
func consoleURL(r *http.Request) string {
	ip, port := "127.0.0.1", ""
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok {
		port = strconv.Itoa(addr.Port)
		if !addr.IP.IsUnspecified() && !addr.IP.IsLoopback() {
			ip = addr.IP.String()
		}
	} else if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = p
	}
	if port == "" {
		return "http://" + ip + "/"
	}
	return "http://" + net.JoinHostPort(ip, port) + "/"
}

// headerHasToken reports whether a comma-separated list of the header name holds token,
// in any case, as Upgrade and Connection do.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
