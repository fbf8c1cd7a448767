package app

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
)

// pageHTML is the counter's page: plain HTML, CSS and JavaScript, nothing fetched from
// elsewhere, so that it works offline.
//
//go:embed page/index.html
var pageHTML string

// Page returns the handler of the counter's page, which connects to the WebSocket API at
// wsURL (ws://127.0.0.1:8080/ beside `pusher dev`, wss://{api-id}.execute-api.{region}.amazonaws.com/{stage}
// on AWS). It answers GET and HEAD, on whatever path it is mounted.
func Page(wsURL string) http.Handler {
	// The template is embedded: it parses, or the package's tests fail.
	tmpl := template.Must(template.New("index.html").Parse(pageHTML))
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, struct{ WebSocketURL string }{wsURL}); err != nil {
		panic("render the counter's page: " + err.Error())
	}
	page := buf.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "GET the page", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(page)
	})
}
