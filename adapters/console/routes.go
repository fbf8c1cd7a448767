package console

import (
	"bytes"
	"io/fs"
	"net/http"
	"time"
)

// Register mounts the page's assets, GET /console/{file}, and its event stream, GET
// /console/events, on mux. The page itself is served by Page, at GET /.
func (c *Console) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /console/events", c.serveEvents)
	mux.HandleFunc("GET /console/{file}", c.serveAsset)
}

// Page returns a handler that serves the console's page for a GET or HEAD of / that is
// not a WebSocket upgrade and has no query string, and hands every other request to
// next: the upgrades of / are the gateway's $connect, and so is a GET of / with a query
// (?user_id=, ?topic=), which the gateway answers as API Gateway's endpoint does, with
// its reason for refusing it or a 426 for a client that did not ask to upgrade.
func (c *Console) Page(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" || r.URL.RawQuery != "" || (r.Method != http.MethodGet && r.Method != http.MethodHead) || IsUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		c.serveFile(w, r, "index.html")
	})
}

// IsUpgrade reports whether r asks for a WebSocket upgrade.
func IsUpgrade(r *http.Request) bool {
	return r.Method == http.MethodGet && headerHasToken(r.Header, "Upgrade", "websocket")
}

// serveAsset is GET /console/{file}: console.js, console.css and the other files of
// static/ but the page.
func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	if name == "index.html" || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	c.serveFile(w, r, name)
}

// serveFile serves the embedded file name, its content type from its extension.
func (c *Console) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(c.static, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	// Revalidated at each load: the files change with the binary, not with a date.
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	// No other site may frame the console, and so trick a click on its buttons: the
	// clicks would be same-origin requests, which CrossOriginProtection lets through.
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	if name == "index.html" {
		h.Set("Content-Type", "text/html; charset=utf-8")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}
