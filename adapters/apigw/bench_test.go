package apigw_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
)

// BenchmarkPostToConnection measures one post through the SDK client against a server
// that answers at once, beside the same call made with plain net/http: the difference is
// the client's own cost per frame.
//
//	go test -run '^$' -bench PostToConnection ./adapters/apigw/
func BenchmarkPostToConnection(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(srv.Close)
	frame := []byte(`{"type":"announcement","text":"a broadcast to every connected user"}`)

	b.Run("sdk", func(b *testing.B) {
		p, err := apigw.New(apigw.LocalConfig(""), apigw.Config{Endpoint: srv.URL})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := p.PostToConnection(context.Background(), "L0SM9cOFvHcCIhw=", frame); err != nil {
					b.Error(err)
				}
			}
		})
	})
	b.Run("plain", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				resp, err := client.Post(srv.URL+"/@connections/L0SM9cOFvHcCIhw%3D", "application/json", bytes.NewReader(frame))
				if err != nil {
					b.Error(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	})
}
